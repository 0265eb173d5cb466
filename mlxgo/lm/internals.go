package lm

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// ForwardWithAttention runs a forward pass over ids (B, L) as Forward does without a cache, and
// also returns every layer's attention weights, softmax(q·kᵀ/√d + mask), each of shape
// (B, heads, L, L): row i of a head says how much position i attends to each position (rows
// sum to 1, future positions get 0). It is for looking inside a model — plots, probes — with
// no change to the model's code: each layer's attention hands its weights to a probe for the
// duration of the call. The weights are computed beside the fused attention, so the logits are
// exactly Forward's. Not safe for concurrent calls on the same model.
func (m *Model) ForwardWithAttention(ids *mx.Array) (logits *mx.Array, weights []*mx.Array) {
	weights = make([]*mx.Array, len(m.Model.Layers))
	for i, l := range m.Model.Layers {
		i := i
		l.SelfAttn.probe = func(w *mx.Array) { weights[i] = w }
	}
	defer func() {
		for _, l := range m.Model.Layers {
			l.SelfAttn.probe = nil
		}
	}()
	logits = m.Forward(ids, nil)
	return logits, weights
}

// attentionWeights computes softmax(q·kᵀ·scale + mask) for q (B, heads, L, D) and k
// (B, kvHeads, S, D), repeating each key head for its group of query heads as grouped-query
// attention does; mask is nil, "causal" or a boolean (L, S) array, as the fused attention takes.
func attentionWeights(q, k *mx.Array, scale float64, mask any) *mx.Array {
	B, H, L, D := q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3)
	KV, S := k.Dim(1), k.Dim(2)
	if rep := H / KV; rep > 1 {
		k = mx.Reshape(mx.BroadcastTo(mx.ExpandDims(k, 2), B, KV, rep, S, D), B, H, S, D)
	}
	scores := mx.Multiply(mx.Matmul(q, mx.SwapAxes(k, 2, 3)), scale)
	var keep *mx.Array
	switch m := mask.(type) {
	case nil:
	case string:
		if m != "causal" {
			panic(fmt.Sprintf("lm: attention mask %q", m))
		}
		keep = mx.Tri(L, S, S-L)
	case *mx.Array:
		keep = mx.AsType(m, mx.Float32)
	default:
		panic(fmt.Sprintf("lm: attention mask of type %T", mask))
	}
	if keep != nil {
		// Masked scores get -1e9: their exponential underflows to exactly 0.
		scores = mx.Add(scores, mx.AsType(mx.Multiply(mx.Subtract(keep, 1), 1e9), scores.Dtype()))
	}
	return mx.Softmax(scores, -1)
}
