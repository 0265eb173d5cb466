package optim

import (
	"math"
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

// TestAdamStepVectorsMatchLoop runs AdamStep with and without its AVX2 loop on values
// that include zeros, infinities, NaNs, subnormals and huge gradients, at a length that
// leaves a remainder of 8, and requires the same bits.
func TestAdamStepVectorsMatchLoop(t *testing.T) {
	if !haveAdamAVX2 {
		t.Skip("no AVX2: the loop runs alone")
	}
	defer func() { useAdamAVX2 = true }()
	r := rand.New(rand.NewSource(11))
	const n = 1003
	special := []float32{0, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, -1e-45, 3e38, -2.5}
	vals := func(nonneg bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			if i%7 == 0 {
				x[i] = special[r.Intn(len(special))]
			}
			if nonneg && x[i] < 0 {
				x[i] = -x[i]
			}
		}
		return x
	}
	g, p, m, v := mx.FromSlice(vals(false), n), mx.FromSlice(vals(false), n), mx.FromSlice(vals(false), n), mx.FromSlice(vals(true), n)
	for _, op := range []AdamStepOp{
		{Beta1: 0.9, OneMinusBeta1: 0.1, Beta2: 0.999, OneMinusBeta2: 0.001, Eps: 1e-8, Decay: 1, SqrtC2: 1, Rate: 1e-3},
		{Beta1: 0.8, OneMinusBeta1: 0.2, Beta2: 0.99, OneMinusBeta2: 0.01, Eps: 1e-6, Decay: 0.999, SqrtC2: 0.3, Rate: 0.05},
	} {
		run := func(vec bool) []float32 {
			useAdamAVX2 = vec
			np, nm, nv, ok := fusedAdam(op, g, p, m, v)
			if !ok {
				t.Fatal("float32 arrays of one shape did not take the fused op")
			}
			mx.Eval(np, nm, nv)
			return append(append(np.Float32s(), nm.Float32s()...), nv.Float32s()...)
		}
		vec, loop := run(true), run(false)
		for i := range vec {
			if math.Float32bits(vec[i]) != math.Float32bits(loop[i]) {
				t.Fatalf("%+v: element %d of (p, m, v): vectors %v, loop %v", op, i, vec[i], loop[i])
			}
		}
	}
}
