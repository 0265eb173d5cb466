package lm

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// allocated runs f and returns the bytes it allocated and how long it took.
func allocated(f func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, d
}

// TestSmallFilesDeclaringHugeSizes: a model folder whose small config.json declares
// 10^12 vocabulary entries or 10^12-wide layers, a tokenizer.json with a token id of
// 10^12, or a safetensors header declaring a 10^12-element tensor, fails within a
// second having allocated little (under 64 MiB), with an error naming the file.
func TestSmallFilesDeclaringHugeSizes(t *testing.T) {
	fixture := filepath.Join("testdata", "hf-tiny-llama", "model")
	cfg, err := os.ReadFile(filepath.Join(fixture, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	folder := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
			data, err := os.ReadFile(filepath.Join(fixture, f))
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := files[f]; ok {
				data = []byte(s)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	huge := func(key string) string {
		s := string(cfg)
		i := strings.Index(s, `"`+key+`"`)
		if i < 0 {
			t.Fatalf("fixture config has no %s", key)
		}
		j := i + strings.IndexAny(s[i:], ",}")
		return s[:i] + `"` + key + `": 1000000000000` + s[j:]
	}
	cases := []struct {
		name, file string
		files      map[string]string
		load       func(dir string) error
	}{
		{"vocab_size", "config.json", map[string]string{"config.json": huge("vocab_size")}, func(d string) error { _, err := Load(d); return err }},
		{"intermediate_size", "config.json", map[string]string{"config.json": huge("intermediate_size")}, func(d string) error { _, err := Load(d); return err }},
		{"num_hidden_layers", "config.json", map[string]string{"config.json": huge("num_hidden_layers")}, func(d string) error { _, err := Load(d); return err }},
		{"token id", "tokenizer.json", map[string]string{"tokenizer.json": `{"model": {"type": "BPE", "vocab": {"a": 1000000000000}, "merges": []}}`},
			func(d string) error { _, err := tokenizer.Load(d); return err }},
		{"tensor", "model.safetensors", map[string]string{"model.safetensors": safetensorsHeader(`{"model.embed_tokens.weight": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 4000000000000]}}`)},
			func(d string) error { _, err := Load(d); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := folder(t, c.files)
			var err error
			bytes, d := allocated(func() { err = c.load(dir) })
			t.Logf("%v, %d KiB: %v", d.Round(time.Millisecond), bytes>>10, err)
			if err == nil || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("error %v, want one naming %s", err, c.file)
			}
			if d > time.Second || bytes > 64<<20 {
				t.Fatalf("took %v and allocated %d MiB", d, bytes>>20)
			}
		})
	}
}

// safetensorsHeader is a safetensors file holding only the given header.
func safetensorsHeader(h string) string {
	for len(h)%8 != 0 {
		h += " "
	}
	n := len(h)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), 0, 0, 0, 0}) + h
}
