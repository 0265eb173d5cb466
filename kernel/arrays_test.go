package kernel_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/kernel"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

func TestSaveLoadArraysAndModelRestoreCost(t *testing.T) {
	t.Setenv(kernel.StateDirEnv, t.TempDir())
	a := mx.FromSlice([]float32{1, 2, 3}, 3)
	if err := kernel.SaveArrays("one", a.Mul(2)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := kernel.LoadArrays("one")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if v := got.(*mx.Array).Float32s(); v[2] != 6 {
		t.Fatalf("restored %v", v)
	}
	if _, ok, _ := kernel.LoadArrays("absent"); ok {
		t.Fatal("absent name reported as present")
	}
	// A model's parameters survive a "cell boundary" bit for bit; report the restore cost.
	m := lm.MustLoad(filepath.Join("..", "mlxgo", "lm", "testdata", "hf-tiny-llama", "model"))
	if err := kernel.SaveArrays("params", m.Parameters()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	restored, ok, err := kernel.LoadArrays("params")
	if err != nil || !ok {
		t.Fatal(err)
	}
	fresh := lm.New(m.Config)
	if err := nn.LoadWeights(fresh, tree.FlattenMap(restored), true); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	want := tree.FlattenMap(m.Parameters())
	for k, v := range tree.FlattenMap(fresh.Parameters()) {
		if string(v.Bytes()) != string(want[k].Bytes()) {
			t.Fatalf("%s changed through the store", k)
		}
	}
	t.Logf("restoring %d parameters (%d arrays) into a model took %v", nn.CountParams(m.Parameters()), len(want), took)
}
