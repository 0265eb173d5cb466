package lora_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
)

// snapshot reads every file of dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// checkFailedWrite checks that a failed save returned err naming a file of dir,
// and left dir exactly as before (no partial or temporary file).
func checkFailedWrite(t *testing.T, what string, err error, dir string, before map[string]string, cause error) {
	t.Helper()
	if err == nil || !errors.Is(err, cause) || !strings.Contains(err.Error(), dir+string(filepath.Separator)) {
		t.Fatalf("%s: error %v, want %v naming a file in %s", what, err, cause, dir)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("%s: folder holds %v after the failed write, want %v", what, slices.Sorted(mapsKeys(after)), slices.Sorted(mapsKeys(before)))
	}
	for name, b := range before {
		if after[name] != b {
			t.Fatalf("%s: %s changed although the write failed", what, name)
		}
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestWriteFaultsKeepPreviousFiles fails the writes of adapters (mlx-lm and PEFT)
// and of a fused model — on a full disk after 0, 100 bytes and half the file, and in a
// read-only folder — and checks that the previous files are intact and load.
func TestWriteFaultsKeepPreviousFiles(t *testing.T) {
	first := withAdapter(t, "lora/adapter_final")
	second := withAdapter(t, "lora/adapter_init")
	cfg := lora.FromConfig(lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}})
	mlxDir, peftDir, fusedDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := lora.SaveAdapters(mlxDir, first, cfg); err != nil {
		t.Fatal(err)
	}
	if err := lora.ExportPEFT(first, peftDir, "base"); err != nil {
		t.Fatal(err)
	}
	fused := withAdapter(t, "lora/adapter_final")
	if err := lora.Fuse(fused); err != nil {
		t.Fatal(err)
	}
	if err := lm.Save(fused, fusedDir); err != nil {
		t.Fatal(err)
	}
	other := loadModel(t) // the base model: different weights from the fused one
	saves := []struct {
		name string
		dir  string
		save func() error
	}{
		{"mlx-lm adapters", mlxDir, func() error { return lora.SaveAdapters(mlxDir, second, cfg) }},
		{"PEFT adapters", peftDir, func() error { return lora.ExportPEFT(second, peftDir, "base") }},
		{"fused model", fusedDir, func() error { return lm.Save(other, fusedDir) }},
	}
	type fault struct {
		name  string
		cause error
		start func(dir string) (func(), error)
	}
	for _, s := range saves {
		before := snapshot(t, s.dir)
		largest := 0
		for _, b := range before {
			largest = max(largest, len(b))
		}
		faults := []fault{}
		for _, after := range []int64{0, 100, int64(largest / 2)} {
			faults = append(faults, fault{"disk full after " + itoa(int(after)) + " bytes", syscall.ENOSPC,
				func(string) (func(), error) { return atomicfile.InjectFault(after, syscall.ENOSPC), nil }})
		}
		faults = append(faults, fault{"read-only folder", os.ErrPermission, atomicfile.MakeReadOnly})
		for _, f := range faults {
			undo, err := f.start(s.dir)
			if err != nil {
				t.Logf("%s: %s not tested: %v", s.name, f.name, err)
				continue
			}
			err = s.save()
			undo()
			checkFailedWrite(t, s.name+", "+f.name, err, s.dir, before, f.cause)
		}
	}
	// The previous files still load and hold the first model.
	for _, dir := range []string{mlxDir, peftDir} {
		back := loadModel(t)
		if err := lora.LoadAdapters(back, dir); err != nil {
			t.Fatalf("%s after the failed writes: %v", dir, err)
		}
		want := lora.AdapterWeights(first)
		for k, w := range lora.AdapterWeights(back) {
			if string(w.Bytes()) != string(want[k].Bytes()) {
				t.Fatalf("%s: %s is not the first save's", dir, k)
			}
		}
	}
	re, err := lm.Load(fusedDir)
	if err != nil {
		t.Fatalf("fused model after the failed writes: %v", err)
	}
	ids := loadST(t, "lora/fused_logits.safetensors")["input_ids"]
	if d := maxAbsDiff(re.Forward(ids, nil), fused.Forward(ids, nil)); d != 0 {
		t.Fatalf("fused model's logits changed by %g", d)
	}
}
