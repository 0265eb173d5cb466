package optim

import (
	"math"
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Adam's step on one float32 parameter as one op, defined outside mx as nn's fused ops
// are: composed of array ops it is about a dozen kernels per parameter (each moment
// scaled and summed, a square, a square root, a division, scalars made as arrays), each
// a pass over memory and a trip through the scheduler, and LoRA trains 100 or more
// small parameters. The op reads the gradient, the parameter and both moments once and
// writes the three new arrays side by side in one (3, …) array whose thirds are views.

// AdamStepOp computes one Adam or AdamW step for inputs (g, p, m, v), float32 arrays of
// one shape, into (3, shape…): the new parameter, first and second moments. In float32,
// operation by operation as the composite rule (adam.apply):
//
//	m' = m·β₁ + g·(1 − β₁),  v' = v·β₂ + g²·(1 − β₂)
//	p' = p·Decay − m' / (√v' / SqrtC2 + Eps) · Rate
type AdamStepOp struct {
	Beta1, OneMinusBeta1 float32
	Beta2, OneMinusBeta2 float32
	Eps                  float32
	Decay                float32 // 1 − lr·weight decay for AdamW; 1 skips the product
	SqrtC2               float32 // √(1 − β₂ᵗ) with bias correction; 1 skips the division
	Rate                 float32 // lr, or lr/(1 − β₁ᵗ) with bias correction
}

// Name returns "AdamStep".
func (AdamStepOp) Name() string { return "AdamStep" }

func init() { cpu.Register(adamStepKernel) }

func adamStepKernel(op AdamStepOp, in []*backend.Node, out *backend.Node) {
	g, p, m, v := cpu.Floats(in[0]), cpu.Floats(in[1]), cpu.Floats(in[2]), cpu.Floats(in[3])
	o, commit := cpu.OutFloats(out)
	n := len(g)
	np, nm, nv := o[:n], o[n:2*n], o[2*n:]
	c := [8]float32{op.Beta1, op.OneMinusBeta1, op.Beta2, op.OneMinusBeta2, op.Eps, op.Decay, op.SqrtC2, op.Rate}
	cpu.ParallelFor(n, 1<<14, func(lo, hi int) {
		// Eight at a time on AVX2 (its square roots and divisions 8 wide: the loop
		// took about 22 µs for a 576×8 factor), the same bits; the rest below.
		if k := (hi - lo) / 8 * 8; haveAdamAVX2 && useAdamAVX2 && k > 0 {
			adamAVX2(&g[lo], &p[lo], &m[lo], &v[lo], &np[lo], &nm[lo], &nv[lo], k, &c)
			lo += k
		}
		for i := lo; i < hi; i++ {
			gi := g[i]
			mi := float32(m[i]*op.Beta1) + float32(gi*op.OneMinusBeta1)
			vi := float32(v[i]*op.Beta2) + float32(float32(gi*gi)*op.OneMinusBeta2)
			r := float32(math.Sqrt(float64(vi)))
			if op.SqrtC2 != 1 {
				r /= op.SqrtC2
			}
			pi := p[i]
			if op.Decay != 1 {
				pi *= op.Decay
			}
			np[i] = pi - float32(mi/(r+op.Eps))*op.Rate
			nm[i], nv[i] = mi, vi
		}
	})
	commit()
}

// fuseAdam is false in the tests that run the composite rule to compare.
var fuseAdam = true

// useAdamAVX2 is false in the test that runs the kernel's loop alone.
var useAdamAVX2 = true

type adamStepPrim struct{ op AdamStepOp }

func (p adamStepPrim) Op() backend.Op { return p.op }

// VJP: an optimizer step is not differentiated; no gradient reaches its inputs.
func (adamStepPrim) VJP(in []*mx.Array, _, _ *mx.Array) []*mx.Array {
	return make([]*mx.Array, len(in))
}

// fusedAdam returns the new parameter, first and second moments as views of one
// AdamStep array, or ok false when the arrays are not all float32 of one shape (the
// composite rule then runs).
func fusedAdam(op AdamStepOp, g, p, m, v *mx.Array) (np, nm, nv *mx.Array, ok bool) {
	for _, a := range []*mx.Array{g, p, m, v} {
		if a.Dtype() != mx.Float32 || !slices.Equal(a.Shape(), p.Shape()) {
			return nil, nil, nil, false
		}
	}
	all := mx.NewArray(append([]int{3}, p.Shape()...), mx.Float32, adamStepPrim{op}, g, p, m, v)
	parts := mx.SplitN(all, 3, 0)
	return mx.Squeeze(parts[0], 0), mx.Squeeze(parts[1], 0), mx.Squeeze(parts[2], 0), true
}
