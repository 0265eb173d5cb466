package kernel_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/kernel"
)

// FuzzStateFiles loads arbitrary bytes stored as a JSON or gob state file
// into the kinds of values notebooks keep: never a panic, and errors name
// the file.
func FuzzStateFiles(f *testing.F) {
	f.Add([]byte(`{"a": [1, 2.5, "x", null], "b": {"c": true}}`), false)
	f.Add([]byte(`[1e308, -0, 3]`), false)
	f.Add([]byte("\x0c\xff\x81\x02\x01\x02\xff\x82\x00\x01\x08\x00\x00\x0d\xff\x82\x00\x02\xfe\xf8\x7f\xfe\xf0\x3f"), true)
	f.Add([]byte("\x07\xff\x82\x00\xfd\xff\xff\xff\xff"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, gob bool) {
		t.Setenv(kernel.StateDirEnv, dir)
		ext := "json"
		if gob {
			ext = "gob"
		}
		os.Remove(filepath.Join(dir, "x.json"))
		os.Remove(filepath.Join(dir, "x.gob"))
		if err := os.WriteFile(filepath.Join(dir, "x."+ext), data, 0o644); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		var fs []float64
		var st struct {
			Name  string
			Steps []int
			Loss  map[string]float64
		}
		for _, v := range []any{&m, &fs, &st} {
			if _, err := kernel.Load("x", v); err != nil && !strings.Contains(err.Error(), filepath.Join(dir, "x."+ext)) {
				t.Fatalf("error %q does not name the file", err)
			}
		}
	})
}
