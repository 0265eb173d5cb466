package nn

import (
	"math"
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// The fused cross-entropy is an op defined outside mx, the way any package adds one:
// a descriptor (pure data, exported so other backends can lower it), a CPU kernel
// registered with package cpu, and an mx.Primitive giving its VJP, entered into the graph
// with mx.NewArray.

// CrossEntropyOp computes, per row of logits (N, V) = input 0 and integer targets (N) =
// input 1, logsumexp(row) − row[target] (NaN for a target outside [0, V)).
type CrossEntropyOp struct{}

// Name returns "CrossEntropy".
func (CrossEntropyOp) Name() string { return "CrossEntropy" }

// CrossEntropyGradOp computes g[:, None] · (softmax(logits) − onehot(targets)) for inputs
// (logits (N, V), targets (N), g (N)) in one pass over the logits.
type CrossEntropyGradOp struct{}

// Name returns "CrossEntropyGrad".
func (CrossEntropyGradOp) Name() string { return "CrossEntropyGrad" }

func init() {
	cpu.Register(crossEntropyKernel)
	cpu.Register(crossEntropyGradKernel)
}

func crossEntropyKernel(_ CrossEntropyOp, in []*backend.Node, out *backend.Node) {
	x, t := cpu.Floats(in[0]), cpu.Ints(in[1])
	V := in[0].Shape[1]
	o, commit := cpu.OutFloats(out)
	cpu.ParallelFor(len(o), max(1, 4096/max(V, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*V : (i+1)*V]
			tg := t[i]
			if tg < 0 || tg >= int64(V) {
				o[i] = float32(math.NaN())
				continue
			}
			o[i] = cpu.LogSumExpRow(row) - row[tg]
		}
	})
	commit()
}

func crossEntropyGradKernel(_ CrossEntropyGradOp, in []*backend.Node, out *backend.Node) {
	x, t, g := cpu.Floats(in[0]), cpu.Ints(in[1]), cpu.Floats(in[2])
	V := in[0].Shape[1]
	o, commit := cpu.OutFloatsFrom(out, in[0]) // the logits' memory when they are not needed after
	cpu.ParallelFor(len(g), max(1, 4096/max(V, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			or := o[i*V : (i+1)*V]
			cpu.SoftmaxRow(or, x[i*V:(i+1)*V])
			gi := g[i]
			for j := range or {
				or[j] *= gi
			}
			if tg := t[i]; tg >= 0 && tg < int64(V) {
				or[tg] -= gi
			}
		}
	})
	commit()
}

type crossEntropyPrim struct{}

func (crossEntropyPrim) Op() backend.Op { return CrossEntropyOp{} }

func (crossEntropyPrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	logits := in[0]
	return []*mx.Array{mx.NewArray(append([]int(nil), logits.Shape()...), logits.Dtype(), crossEntropyGradPrim{}, logits, in[1], g), nil}
}

type crossEntropyGradPrim struct{}

func (crossEntropyGradPrim) Op() backend.Op { return CrossEntropyGradOp{} }

func (crossEntropyGradPrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	// Differentiating the gradient again goes through the composite form.
	logits, t, gin := in[0], in[1], in[2]
	f := func(p []*mx.Array) []*mx.Array {
		sm := mx.Softmax(p[0], -1)
		return []*mx.Array{mx.Multiply(mx.ExpandDims(p[1], -1), mx.Subtract(sm, oneHot(t, logits.Dim(1), sm.Dtype())))}
	}
	_, v := mx.VJP(f, []*mx.Array{logits, gin}, []*mx.Array{g})
	return []*mx.Array{v[0], nil, v[1]}
}

func oneHot(t *mx.Array, V int, dt mx.Dtype) *mx.Array {
	return mx.AsType(mx.Equal(mx.ExpandDims(t, -1), mx.Arange(0, float64(V), 1)), dt)
}

// crossEntropy returns logsumexp(logits) − logits[target] along the last axis for each
// position, in one fused kernel whose backward pass is softmax − one-hot. logits has
// shape (…, V) and targets (…) of integers.
func crossEntropy(logits, targets *mx.Array) *mx.Array {
	lead := logits.Shape()[:logits.Ndim()-1]
	if !slices.Equal(lead, targets.Shape()) {
		mx.Panicf("CrossEntropy", "logits of shape %v do not match targets of shape %v", logits.Shape(), targets.Shape())
	}
	if targets.Dtype().IsFloat() {
		mx.Panicf("CrossEntropy", "targets must be integers, got %s of shape %v", targets.Dtype(), targets.Shape())
	}
	V := logits.Dim(-1)
	if !logits.Dtype().IsFloat() {
		logits = mx.AsType(logits, mx.Float32)
	}
	flat := mx.Reshape(logits, -1, V)
	ce := mx.NewArray([]int{flat.Dim(0)}, logits.Dtype(), crossEntropyPrim{}, flat, mx.Reshape(targets, -1))
	return mx.Reshape(ce, targets.Shape()...)
}
