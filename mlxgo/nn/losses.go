package nn

import (
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Reduction says how a per-element loss is reduced.
type Reduction int

// Reductions.
const (
	ReduceNone Reduction = iota
	ReduceMean
	ReduceSum
)

// CrossEntropy returns the per-position cross-entropy of logits (…, V) against integer
// targets (…): logsumexp(logits) - logits[target]. With a mask (…, 1 keeps, 0 drops),
// ReduceMean averages over the kept positions only, as a language-model loss does.
func CrossEntropy(logits, targets, mask *mx.Array, r Reduction) *mx.Array {
	ce := crossEntropy(logits, targets)
	if mask != nil {
		ce = mx.Multiply(ce, mx.AsType(mask, ce.Dtype()))
	}
	switch r {
	case ReduceSum:
		return mx.Sum(ce, nil, false)
	case ReduceMean:
		if mask != nil {
			return mx.Divide(mx.Sum(ce, nil, false), mx.Sum(mx.AsType(mask, ce.Dtype()), nil, false))
		}
		return mx.Mean(ce, nil, false)
	}
	return ce
}

// MSE returns the mean (or summed, or per-element) squared error.
func MSE(pred, target *mx.Array, r Reduction) *mx.Array {
	d := mx.Square(mx.Subtract(pred, target))
	switch r {
	case ReduceSum:
		return mx.Sum(d, nil, false)
	case ReduceMean:
		return mx.Mean(d, nil, false)
	}
	return d
}
