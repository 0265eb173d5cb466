package nn

import (
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// SwiGLU, the gated activation of Llama-family feed-forward blocks, as one op with a
// one-pass gradient, defined as the fused cross-entropy is (crossentropy.go). Composed
// of Silu and Multiply, its backward pass makes three passes over memory (silu(gate)·g,
// g·up, SiluGrad) and computes σ(gate) twice; this one reads gate, up and the cotangent
// once and writes both gradients, side by side in one (2, …) array whose halves are
// views.

// SwiGLUOp computes silu(gate)·up for inputs (gate, up) of one shape.
type SwiGLUOp struct{}

// Name returns "SwiGLU".
func (SwiGLUOp) Name() string { return "SwiGLU" }

// SwiGLUGradOp computes, for inputs (gate, up, g) of one shape, the gradients of
// silu(gate)·up for the cotangent g, stacked: output (2, shape…) holds
// g·up·σ(gate)·(1 + gate·(1 − σ(gate))) at [0] and g·silu(gate) at [1].
type SwiGLUGradOp struct{}

// Name returns "SwiGLUGrad".
func (SwiGLUGradOp) Name() string { return "SwiGLUGrad" }

func init() {
	cpu.Register(swigluKernel)
	cpu.Register(swigluGradKernel)
}

// swigluBlock is the elements a kernel takes at a time: its scratch stays in the first-level cache.
const swigluBlock = 1024

func swigluKernel(_ SwiGLUOp, in []*backend.Node, out *backend.Node) {
	gate, up := cpu.Floats(in[0]), cpu.Floats(in[1])
	o, commit := cpu.OutFloats(out)
	cpu.ParallelFor(len(o), 1<<15, func(lo, hi int) {
		for b := lo; b < hi; b += swigluBlock {
			e := min(b+swigluBlock, hi)
			cpu.SiluFloats(o[b:e], gate[b:e])
			cpu.MulFloats(o[b:e], o[b:e], up[b:e])
		}
	})
	commit()
}

func swigluGradKernel(_ SwiGLUGradOp, in []*backend.Node, out *backend.Node) {
	gate, up, g := cpu.Floats(in[0]), cpu.Floats(in[1]), cpu.Floats(in[2])
	o, commit := cpu.OutFloats(out)
	n := len(gate)
	dgate, dup := o[:n], o[n:]
	cpu.ParallelFor(n, 1<<15, func(lo, hi int) {
		// One pass, each sigmoid once: the same bits as SiluGrad of the
		// cotangent g·up and g·silu(gate), which computed it twice.
		cpu.SwiGLUGradFloats(dgate[lo:hi], dup[lo:hi], gate[lo:hi], up[lo:hi], g[lo:hi])
	})
	commit()
}

type swigluPrim struct{}

func (swigluPrim) Op() backend.Op { return SwiGLUOp{} }

func (swigluPrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	d := swigluGrad(in[0], in[1], g)
	return []*mx.Array{d[0], d[1]}
}

// swigluGrad returns the two gradients of SwiGLU, views of one SwiGLUGrad array.
func swigluGrad(gate, up, g *mx.Array) []*mx.Array {
	shape := gate.Shape()
	both := mx.NewArray(append([]int{2}, shape...), gate.Dtype(), swigluGradPrim{}, gate, up, g)
	halves := mx.SplitN(both, 2, 0)
	return []*mx.Array{mx.Squeeze(halves[0], 0), mx.Squeeze(halves[1], 0)}
}

type swigluGradPrim struct{}

func (swigluGradPrim) Op() backend.Op { return SwiGLUGradOp{} }

func (swigluGradPrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	// Differentiating the gradient again goes through the composite form.
	f := func(p []*mx.Array) []*mx.Array {
		gate, up, gc := p[0], p[1], p[2]
		s := mx.Sigmoid(gate)
		dsilu := mx.Multiply(s, mx.Add(mx.Multiply(gate, mx.Subtract(mx.OnesLike(s), s)), 1))
		return []*mx.Array{mx.Stack([]*mx.Array{mx.Multiply(mx.Multiply(gc, up), dsilu), mx.Multiply(gc, mx.Multiply(gate, s))}, 0)}
	}
	_, v := mx.VJP(f, in, []*mx.Array{g})
	return v
}

// SwiGLU returns silu(gate)·up (silu(x) = x·σ(x)), the gated activation of Llama-family
// feed-forward blocks (mlx-lm's swiglu), as one op: on the CPU backend one pass over
// gate and up forward and one over gate, up and the cotangent backward. gate and up of
// one shape and float dtype; other inputs (of two dtypes, or broadcasting) get the
// composite mx.Multiply(mx.Silu(gate), up).
func SwiGLU(gate, up *mx.Array) *mx.Array {
	if !slices.Equal(gate.Shape(), up.Shape()) || gate.Dtype() != up.Dtype() || !gate.Dtype().IsFloat() {
		return mx.Multiply(mx.Silu(gate), up)
	}
	return mx.NewArray(append([]int(nil), gate.Shape()...), gate.Dtype(), swigluPrim{}, gate, up)
}
