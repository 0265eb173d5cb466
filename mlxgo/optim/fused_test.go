package optim

import (
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

// TestAdamStepMatchesComposite runs three steps of Adam, AdamW and AdamW with bias
// correction through the fused AdamStep op and through the composite rule, on a
// parameter large enough to be cut between threads, and requires the same parameters
// and moments bit for bit; it also checks the fused path is the one taken.
func TestAdamStepMatchesComposite(t *testing.T) {
	defer func() { fuseAdam = true }()
	r := rand.New(rand.NewSource(9))
	p0 := mxtest.RandArray(r, -1, 1, 300, 70)
	var gs []*mx.Array
	for range 3 {
		gs = append(gs, mxtest.RandArray(r, -2, 2, 300, 70))
	}
	for _, c := range []struct {
		name  string
		rule  adam
		sched Schedule
	}{
		{"Adam", adam{fill(AdamConfig{}), false}, Constant(1e-3)},
		{"AdamW", adam{fill(AdamConfig{WeightDecay: 0.01}), true}, Constant(2e-3)},
		{"AdamW with bias correction", adam{fill(AdamConfig{WeightDecay: 0.1, BiasCorrection: true, Betas: [2]float64{0.8, 0.99}}), true},
			func(step int) float64 { return 1e-2 / float64(step+1) }},
	} {
		run := func(fused bool) (p *mx.Array, s map[string]*mx.Array) {
			fuseAdam = fused
			p, s = p0, c.rule.init(p0)
			for i, g := range gs {
				p = c.rule.apply(g, p, s, c.sched(i), i+1)
				if fused && !reachesAdamStep(p) {
					t.Fatalf("%s: the fused rule did not build an AdamStep", c.name)
				}
				mx.Eval(p, s)
			}
			return p, s
		}
		pf, sf := run(true)
		pc, sc := run(false)
		mxtest.AssertClose(t, c.name+": parameter", pf, pc, 0)
		mxtest.AssertClose(t, c.name+": first moment", sf["m"], sc["m"], 0)
		mxtest.AssertClose(t, c.name+": second moment", sf["v"], sc["v"], 0)
	}
}

// reachesAdamStep reports whether a's graph, followed through first inputs, reaches an
// AdamStep op.
func reachesAdamStep(a *mx.Array) bool {
	for ; a.Primitive() != nil; a = a.Inputs()[0] {
		if _, ok := a.Primitive().Op().(AdamStepOp); ok {
			return true
		}
	}
	return false
}

// TestAdamStepFallsBack checks a float16 parameter takes the composite rule.
func TestAdamStepFallsBack(t *testing.T) {
	p := mx.AsType(mx.FromSlice([]float32{1, 2, 3}, 3), mx.Float16)
	r := adam{fill(AdamConfig{}), false}
	np := r.apply(mx.FromSlice([]float32{0.5, 0.5, 0.5}, 3), p, r.init(p), 0.1, 1)
	if reachesAdamStep(np) {
		t.Fatal("a float16 parameter went through AdamStep")
	}
}
