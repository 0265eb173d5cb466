package mx_test

import (
	"path/filepath"
	"slices"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestReadSafetensors: reading a file into memory gives the tensors, dtypes and
// metadata that mapping it gives (bf16, float32, uint32 here), a saved file reads
// back, and a missing one is an error.
func TestReadSafetensors(t *testing.T) {
	for _, name := range []string{"affine_bf16.safetensors", "affine_g64_b4.safetensors"} {
		path := filepath.Join("testdata", name)
		mapped, mmeta, err := mx.LoadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		read, rmeta, err := mx.ReadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(read) != len(mapped) || len(rmeta) != len(mmeta) {
			t.Fatalf("%s: %d tensors and %d metadata keys read, %d and %d mapped", name, len(read), len(rmeta), len(mapped), len(mmeta))
		}
		for k, m := range mapped {
			r := read[k]
			if r == nil || r.Dtype() != m.Dtype() || !slices.Equal(r.Shape(), m.Shape()) || !slices.Equal(r.Bytes(), m.Bytes()) {
				t.Fatalf("%s: tensor %q differs when read", name, k)
			}
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	x := mx.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if err := mx.SaveSafetensors(path, map[string]*mx.Array{"x": x}, map[string]string{"format": "mlx"}); err != nil {
		t.Fatal(err)
	}
	read, meta, err := mx.ReadSafetensors(path)
	if err != nil || meta["format"] != "mlx" {
		t.Fatalf("read: %v, metadata %v", err, meta)
	}
	if got := read["x"].Float32s(); !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("x read as %v", got)
	}
	if _, _, err := mx.ReadSafetensors(filepath.Join(dir, "missing.safetensors")); err == nil {
		t.Fatal("a missing file read without error")
	}
}
