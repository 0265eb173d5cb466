package trainer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// TestCompiledStepMatchesUncompiled: training with the compiled step gives the same
// losses, step for step, as the uncompiled one.
func TestCompiledStepMatchesUncompiled(t *testing.T) {
	losses := map[bool]map[int]float64{}
	for _, compile := range []bool{false, true} {
		o := baseOptions(t.TempDir(), 6)
		o.SaveEvery, o.StepsPerEval, o.Compile = 0, 0, compile
		losses[compile], _ = run(t, o, false)
	}
	for s := 1; s <= 6; s++ {
		if losses[true][s] != losses[false][s] {
			t.Fatalf("step %d: compiled loss %v, uncompiled %v", s, losses[true][s], losses[false][s])
		}
	}
}

// TestCompiledValueAndGrad: the compiled step's graph has fused kernels, and its loss
// and gradients have the bits of nn.ValueAndGrad's, also after the parameters change.
func TestCompiledValueAndGrad(t *testing.T) {
	m, tr, _, _ := setup(t)
	b := data.Make(tr, []int{0, 1, 2, 3}, 0)
	plain := nn.ValueAndGrad(m, trainer.Loss)
	compiled := trainer.CompiledValueAndGrad(m, trainer.Loss)
	for step := range 2 {
		wl, wg := plain(m, b)
		gl, gg := compiled(m, b)
		n := fusedOps(append(tree.Leaves(gg), gl))
		t.Logf("step %d: %d fused kernels", step, n)
		if step == 0 && n == 0 {
			t.Error("the compiled step's graph has no fused kernel")
		}
		mx.Eval(wl, wg, gl, gg)
		if gl.Item() != wl.Item() {
			t.Fatalf("step %d: compiled loss %v, uncompiled %v", step, gl.Item(), wl.Item())
		}
		want := tree.FlattenMap(wg)
		for k, g := range tree.FlattenMap(gg) {
			if !bytes.Equal(g.Bytes(), want[k].Bytes()) {
				t.Fatalf("step %d: gradient %s differs", step, k)
			}
		}
		// An SGD step changes the parameters the next call must see.
		upd := tree.Map(m.TrainableParameters(), func(p *mx.Array) *mx.Array { return mx.Add(p, 0.01) })
		if err := nn.Update(m, upd.(map[string]any)); err != nil {
			t.Fatal(err)
		}
		mx.Eval(m.Parameters())
	}
}

// fusedOps counts the fused kernels in the graph behind outs.
func fusedOps(outs []*mx.Array) int {
	seen := map[*mx.Array]bool{}
	n := 0
	var walk func(*mx.Array)
	walk = func(a *mx.Array) {
		if seen[a] || a.Primitive() == nil {
			return
		}
		seen[a] = true
		if strings.HasPrefix(a.Primitive().Op().Name(), "Compiled") {
			n++
		}
		for _, in := range a.Inputs() {
			walk(in)
		}
	}
	for _, o := range outs {
		walk(o)
	}
	return n
}
