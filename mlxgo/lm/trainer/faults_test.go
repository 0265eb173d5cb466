package trainer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
)

// TestCheckpointWriteFault: a disk that fills up while the step-8 checkpoint is
// written stops training with an error naming the file; the step-4 checkpoint is
// untouched, stays the newest complete one, and a resumed run from it reaches step 8.
func TestCheckpointWriteFault(t *testing.T) {
	dir := t.TempDir()
	run(t, baseOptions(dir, 4), false)
	if n := trainer.LatestCheckpoint(dir); n != 4 {
		t.Fatalf("newest checkpoint %d, want 4", n)
	}
	before := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		before[e.Name()] = string(b)
	}
	m, tr, va, ac := setup(t)
	o := baseOptions(dir, 8)
	o.Resume = true
	restore := atomicfile.InjectFault(50, syscall.ENOSPC)
	err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, va, nil)
	restore()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %v, want ENOSPC naming a file in %s", err, dir)
	}
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if want, ok := before[e.Name()]; !ok || string(b) != want {
			t.Fatalf("%s is new or changed after the failed checkpoint", e.Name())
		}
	}
	if n := trainer.LatestCheckpoint(dir); n != 4 {
		t.Fatalf("newest checkpoint %d after the failure, want 4", n)
	}
	losses, _ := run(t, baseOptions(dir, 8), true)
	if _, ok := losses[8]; !ok {
		t.Fatalf("resumed run did not reach step 8: %v", losses)
	}
}
