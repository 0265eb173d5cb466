package lm_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
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

// TestLoadedModelCostsItsWeightsOnce: mx.LoadSafetensors maps the weights instead of
// copying them (the Go heap and array buffers grow by a small fraction of the file);
// lm.Load on the CPU backend reads them into its buffers (mx.ReadSafetensors) and gives the
// file's pages back as it goes, so the resident size after a forward pass that touches
// every weight grows by about the file size, not twice.
func TestLoadedModelCostsItsWeightsOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	if mx.CurrentBackend().Name() != "cpu" {
		t.Skip("lm.Load reads weights into memory on the CPU backend only")
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
	settle := func() {
		for i := 0; i < 3; i++ { // let dropped buffers' cleanups run, then drop the cache
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
			mx.ClearCache()
		}
		runtime.GC()
	}
	settle()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, active0 := int64(ms.HeapAlloc), mx.ActiveMemory()
	mapped, _, err := mx.LoadSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if g := int64(ms.HeapAlloc) - heap0 + mx.ActiveMemory() - active0; g > size/10 {
		t.Fatalf("LoadSafetensors copied weights: heap and buffers grew by %d bytes for a %d-byte file", g, size)
	}
	runtime.KeepAlive(mapped)
	mapped = nil
	settle()
	active0, rss0 := mx.ActiveMemory(), rssBytes(t)
	loaded, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	read := mx.ActiveMemory() - active0
	ids := mx.FromSlice([]int32{1, 2, 3, 4}, 1, 4)
	mx.Eval(loaded.Forward(ids, nil))
	rssGrowth := rssBytes(t) - rss0
	t.Logf("weights file %.1f MB; buffers after Load +%.1f MB; resident after a forward pass +%.1f MB (%.2fx the file)",
		float64(size)/1e6, float64(read)/1e6, float64(rssGrowth)/1e6, float64(rssGrowth)/float64(size))
	if read < size*9/10 || read > size*11/10 {
		t.Fatalf("Load on the CPU backend holds %d bytes of buffers for a %d-byte file, want about the file", read, size)
	}
	if rssGrowth > size*3/2 {
		t.Fatalf("resident size grew by %d bytes, more than 1.5x the %d-byte file: the file's pages were kept", rssGrowth, size)
	}
	runtime.KeepAlive(loaded)
}

// TestGradCheckpointLowersPeakMemory: the same gradients with less peak memory.
func TestGradCheckpointLowersPeakMemory(t *testing.T) {
	cfg, err := lm.ParseConfig([]byte(`{"model_type":"llama","vocab_size":256,"hidden_size":128,"num_hidden_layers":12,
		"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":384,"rms_norm_eps":1e-5}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	mx.Seed(3)
	m := lm.New(cfg)
	mx.Eval(m.Parameters())
	// The LoRA setting: a frozen base with trainable factors on q and v.
	m.Freeze()
	for _, l := range m.Model.Layers {
		for _, p := range []*nn.Layer{&l.SelfAttn.QProj, &l.SelfAttn.VProj} {
			*p = &loraLike{Base_: (*p).(*nn.Linear), A: mx.Normal([]int{128, 8}, 0, 0.1, mx.Float32, mx.Key(2)), B: mx.Normal([]int{8, (*p).(*nn.Linear).Weight.Dim(0)}, 0, 0.1, mx.Float32, mx.Key(3))}
		}
	}
	ids := mx.RandInt(0, 256, []int{8, 129}, mx.Key(1))
	loss := func(m *lm.Model, ids *mx.Array) *mx.Array {
		logits := m.Forward(mx.SliceAxis(ids, 1, 0, 128), nil)
		return nn.CrossEntropy(logits, mx.SliceAxis(ids, 1, 1, 129), nil, nn.ReduceMean)
	}
	var peaks [2]int64
	var grads [2]map[string]*mx.Array
	for i, ckpt := range []bool{false, true} {
		m.GradCheckpoint = ckpt
		for j := 0; j < 3; j++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		mx.ResetPeakMemory()
		base := mx.ActiveMemory()
		l, g := nn.ValueAndGrad(m, loss)(m, ids)
		mx.Eval(l, g)
		peaks[i] = mx.PeakMemory() - base
		grads[i] = tree.FlattenMap(g)
	}
	for k, g := range grads[0] {
		if d := mx.Max(mx.Abs(mx.Subtract(g, grads[1][k])), nil, false).Item(); d > 1e-5 {
			t.Fatalf("%s: checkpointed gradient differs by %g", k, d)
		}
	}
	t.Logf("peak memory of one step: %.1f MB without checkpointing, %.1f MB with (%.0f%%)",
		float64(peaks[0])/1e6, float64(peaks[1])/1e6, 100*float64(peaks[1])/float64(peaks[0]))
	if peaks[1] >= peaks[0]/2 {
		t.Fatalf("checkpointing did not halve the peak: %d vs %d bytes", peaks[1], peaks[0])
	}
}

// loraLike is a minimal low-rank adapter (the lora package imports lm, so it cannot be
// used from lm's tests).
type loraLike struct {
	nn.Base
	Base_ *nn.Linear `mx:"linear"`
	A     *mx.Array  `mx:"lora_a"`
	B     *mx.Array  `mx:"lora_b"`
}

func (l *loraLike) Forward(x *mx.Array) *mx.Array {
	return mx.Add(l.Base_.Forward(x), mx.Matmul(mx.Matmul(x, l.A), l.B))
}
