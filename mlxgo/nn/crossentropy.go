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
// (logits (N, V), targets (N), g (N)) and optionally the forward's float32 losses (N):
// with them each row's log-sum-exp is the loss plus the target's logit, and the CPU
// kernel makes two passes over the logits instead of four.
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
	var ce []float32
	if len(in) > 3 && in[3].Dtype == backend.Float32 {
		ce = cpu.Floats(in[3])
	}
	cpu.ParallelFor(len(g), max(1, 4096/max(V, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			or := o[i*V : (i+1)*V]
			if ce != nil && fromLoss(or, x[i*V:(i+1)*V], t[i], ce[i], g[i]) {
				continue
			}
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

// fromLoss writes row i of the gradient, g·(softmax(x) − onehot(tg)), as
// g·exp(x − lse) in two passes, lse = ce + x[tg] being the row's
// log-sum-exp, and reports whether it did: not for a target out of range or a
// loss or log-sum-exp that is not finite (the caller then computes the softmax
// in full). x may be o: x[tg] is read first. (One pass, exp(x − (lse − log g)),
// rounded the shift differently for each g: two processes that each weigh
// their tokens by another g trained adapters 1.5e-6 apart instead of 2e-7.)
func fromLoss(o, x []float32, tg int64, ce, g float32) bool {
	if tg < 0 || tg >= int64(len(x)) {
		return false
	}
	lse := ce + x[tg]
	if math.IsNaN(float64(lse)) || math.IsInf(float64(lse), 0) {
		return false
	}
	cpu.ExpSubSum(o, x, lse)
	cpu.ScaleFloats(o, g)
	o[tg] -= g
	return true
}

type crossEntropyPrim struct{}

func (crossEntropyPrim) Op() backend.Op { return CrossEntropyOp{} }

func (crossEntropyPrim) VJP(in []*mx.Array, out, g *mx.Array) []*mx.Array {
	logits := in[0]
	args := []*mx.Array{logits, in[1], g}
	if out.Dtype() == mx.Float32 { // a bf16 loss would give the log-sum-exp to 3 digits
		args = append(args, out)
	}
	return []*mx.Array{mx.NewArray(append([]int(nil), logits.Shape()...), logits.Dtype(), crossEntropyGradPrim{}, args...), nil}
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
	grads := []*mx.Array{v[0], nil, v[1]}
	if len(in) > 3 { // the forward's losses: a shortcut of the kernel, not an input of the result
		grads = append(grads, nil)
	}
	return grads
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
