package mx

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// sdpaPrim is scaled dot-product attention in one kernel for no mask or a causal mask:
// per (batch, head) it forms the score matrix with one matrix product, masks and
// normalises it in place and multiplies by the values, so the (L, S) scores of all heads
// never exist at once and never enter the graph.
type sdpaPrim struct {
	scale  float32
	causal bool
}

func (p sdpaPrim) Op() backend.Op {
	return backend.ScaledDotProductAttention{Scale: p.scale, Causal: p.causal}
}

func (s sdpaPrim) VJP(in []*Array, out, g *Array) []*Array {
	q, k, v := in[0], in[1], in[2]
	nq, nk, nv := q.Size(), k.Size(), v.Size()
	// The output goes in too: the CPU kernel reads the row statistics its forward
	// kernel kept beside it (backend/cpu/sdpa.go) instead of recomputing them.
	packed := newArray([]int{nq + nk + nv}, q.dtype, sdpaGradPrim{s}, q, k, v, g, out)
	return []*Array{
		Reshape(SliceAxis(packed, 0, 0, nq), q.shape...),
		Reshape(SliceAxis(packed, 0, nq, nq+nk), k.shape...),
		Reshape(SliceAxis(packed, 0, nq+nk, nq+nk+nv), v.shape...),
	}
}

// sdpaGradPrim computes the gradients of q, k and v in one kernel, recomputing each
// head's probabilities, and returns them packed end to end in one flat array. Its
// inputs are q, k, v, the output's cotangent and the forward output (a cache of the
// forward pass: nothing depends on it mathematically, so it gets no gradient).
type sdpaGradPrim struct{ s sdpaPrim }

func (p sdpaGradPrim) Op() backend.Op {
	return backend.ScaledDotProductAttentionGrad{Scale: p.s.scale, Causal: p.s.causal}
}

func (p sdpaGradPrim) VJP(in []*Array, _, g *Array) []*Array {
	// Second derivatives differentiate the composite form of the same gradient.
	var mask any
	if p.s.causal {
		mask = "causal"
	}
	f := func(a []*Array) []*Array {
		att := func(b []*Array) []*Array {
			return []*Array{sdpaComposite(b[0], b[1], b[2], float64(p.s.scale), mask)}
		}
		_, vj := VJP(att, a[:3], []*Array{a[3]})
		return []*Array{Concatenate([]*Array{Reshape(vj[0], -1), Reshape(vj[1], -1), Reshape(vj[2], -1)}, 0)}
	}
	_, v := VJP(f, in[:4], []*Array{g})
	return append(v, make([]*Array, len(in)-4)...)
}
