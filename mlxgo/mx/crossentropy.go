package mx

import "math"

// crossEntropyPrim computes, per row of logits (N, V), logsumexp(row) − row[target].
type crossEntropyPrim struct{}

func (crossEntropyPrim) Name() string { return "CrossEntropy" }

func (crossEntropyPrim) Eval(in []*Array, out *Array) {
	x, t := floats(in[0]), ints(in[1])
	V := in[0].shape[1]
	o, commit := outFloats(out)
	parallelFor(len(o), max(1, 4096/max(V, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*V : (i+1)*V]
			tg := t[i]
			if tg < 0 || tg >= int64(V) {
				o[i] = float32(math.NaN())
				continue
			}
			o[i] = reduceRow(redLogSumExp, row) - row[tg]
		}
	})
	commit()
}

func (crossEntropyPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{newArray(cloneInts(in[0].shape), in[0].dtype, crossEntropyGradPrim{}, in[0], in[1], g), nil}
}

// crossEntropyGradPrim computes g[:, None] · (softmax(logits) − onehot(target)) in one
// pass over the logits.
type crossEntropyGradPrim struct{}

func (crossEntropyGradPrim) Name() string { return "CrossEntropyGrad" }

func (crossEntropyGradPrim) Eval(in []*Array, out *Array) {
	x, t, g := floats(in[0]), ints(in[1]), floats(in[2])
	V := in[0].shape[1]
	o, commit := outFloats(out)
	rows := len(g)
	parallelFor(rows, max(1, 4096/max(V, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			or := o[i*V : (i+1)*V]
			softmaxRow(or, x[i*V:(i+1)*V])
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

func (crossEntropyGradPrim) VJP(in []*Array, _, g *Array) []*Array {
	// Differentiating the gradient again goes through the composite form.
	logits, t, gin := in[0], in[1], in[2]
	f := func(p []*Array) []*Array {
		sm := Softmax(p[0], -1)
		return []*Array{Multiply(ExpandDims(p[1], -1), Subtract(sm, oneHot(t, logits.shape[1], sm.dtype)))}
	}
	_, v := VJP(f, []*Array{logits, gin}, []*Array{g})
	return []*Array{v[0], nil, v[1]}
}

func oneHot(t *Array, V int, dt Dtype) *Array {
	return AsType(Equal(ExpandDims(t, -1), Arange(0, float64(V), 1)), dt)
}

// CrossEntropy returns logsumexp(logits) − logits[target] along the last axis for each
// position, in one fused kernel whose backward pass is softmax − one-hot. logits has
// shape (…, V) and targets (…) of integers.
func CrossEntropy(logits, targets *Array) *Array {
	if !sameShape(logits.shape[:logits.Ndim()-1], targets.shape) {
		panicf("CrossEntropy", "logits of shape %v do not match targets of shape %v", logits.shape, targets.shape)
	}
	if targets.dtype.IsFloat() {
		panicf("CrossEntropy", "targets must be integers, got %s of shape %v", targets.dtype, targets.shape)
	}
	V := logits.shape[logits.Ndim()-1]
	if !logits.dtype.IsFloat() {
		logits = AsType(logits, Float32)
	}
	flat := Reshape(logits, -1, V)
	ce := newArray([]int{flat.shape[0]}, logits.dtype, crossEntropyPrim{}, flat, Reshape(targets, -1))
	return Reshape(ce, targets.shape...)
}
