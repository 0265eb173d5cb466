package lm_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	mx "github.com/mlxgo/mlxgo/mlxgo"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

func rssBytes(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestLoadedModelCostsItsWeightsOnce: loading maps the weights instead of copying them, so
// the Go heap and array buffers grow by a small fraction of the file, and the resident size
// after a forward pass that touches every weight grows by about the file size, not twice.
func TestLoadedModelCostsItsWeightsOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	cfg, err := lm.ParseConfig([]byte(`{"model_type":"llama","vocab_size":8192,"hidden_size":512,"num_hidden_layers":6,
		"num_attention_heads":8,"num_key_value_heads":4,"intermediate_size":1376,"rms_norm_eps":1e-5}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := lm.New(cfg)
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	m = nil
	st, _ := os.Stat(filepath.Join(dir, "model.safetensors"))
	size := st.Size()
	for i := 0; i < 3; i++ { // let the dropped model's buffer cleanups run, then drop the cache
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		mx.ClearCache()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, active0, rss0 := int64(ms.HeapAlloc), mx.ActiveMemory(), rssBytes(t)
	loaded, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapGrowth := int64(ms.HeapAlloc) - heap0 + mx.ActiveMemory() - active0
	ids := mx.FromSlice([]int32{1, 2, 3, 4}, 1, 4)
	mx.Eval(loaded.Forward(ids, nil))
	rssGrowth := rssBytes(t) - rss0
	t.Logf("weights file %.1f MB; heap+buffers after Load +%.2f MB; resident after a forward pass +%.1f MB (%.2fx the file)",
		float64(size)/1e6, float64(heapGrowth)/1e6, float64(rssGrowth)/1e6, float64(rssGrowth)/float64(size))
	if heapGrowth > size/10 {
		t.Fatalf("Load copied weights: heap and buffers grew by %d bytes for a %d-byte file", heapGrowth, size)
	}
	if rssGrowth > size*3/2 {
		t.Fatalf("resident size grew by %d bytes, more than 1.5x the %d-byte file", rssGrowth, size)
	}
	runtime.KeepAlive(loaded)
}
