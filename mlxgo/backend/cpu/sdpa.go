package cpu

import (
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(sdpa)
	Register(sdpaGrad)
}

func sdpaShape(q, k, v *node) sdpaDims {
	return sdpaDims{q.Shape[0], q.Shape[1], k.Shape[1], q.Shape[2], k.Shape[2], q.Shape[3], v.Shape[3]}
}

// headsOf reads a (B, H, L, D) input in place when its rows are unit-stride float32
// host memory (such as the transpose of a (B, L, H, D) projection), and otherwise from a
// row-major copy.
func headsOf(a *node) heads {
	if x, _, ok := rowsOf(a); ok {
		st := a.StridesOrDefault()
		ld := st[2]
		if a.Shape[2] == 1 {
			ld = max(ld, a.Shape[3])
		}
		if st[0] >= 0 && st[1] >= 0 && ld >= a.Shape[3] {
			return heads{data: x, off: a.Offset, s0: st[0], s1: st[1], ld: ld}
		}
	}
	return packedHeads(floats(a), a.Shape[1], a.Shape[2], a.Shape[3])
}

// sdpa is scaled dot-product attention for no mask or a causal mask, tiled
// (attention.go). A float32 output is laid out as (B, L, H, Dv) in memory, the
// transpose the model takes next, so that transpose and the reshape after it copy
// nothing; each row's log-sum-exp follows the output in the same buffer, for the
// backward pass (sdpaStats).
func sdpa(s backend.ScaledDotProductAttention, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v := headsOf(in[0]), headsOf(in[1]), headsOf(in[2])
	if out.Dtype == backend.Float32 {
		nOut := out.Size()
		out.SetView(Alloc(4*(nOut+d.B*d.Hq*d.L)), sdpaStrides(d), 0)
		all := viewAs[float32](storageBytes(out))
		o := heads{data: all, s0: d.L * d.Hq * d.Dv, s1: d.Dv, ld: d.Hq * d.Dv}
		attnForwardHeads(o, all[nOut:], q, k, v, d, s.Scale, s.Causal)
		return
	}
	o, commit := outFloats(out)
	attnForwardHeads(packedHeads(o, d.Hq, d.L, d.Dv), nil, q, k, v, d, s.Scale, s.Causal)
	commit()
}

// sdpaStrides are the strides of a float32 attention output: (B, H, L, Dv) read
// from (B, L, H, Dv) memory.
func sdpaStrides(d sdpaDims) []int { return []int{d.L * d.Hq * d.Dv, d.Dv, d.Hq * d.Dv, 1} }

// sdpaStats returns the forward pass's output and log-sum-exps when o is the
// untouched output of the float32 sdpa kernel for these dimensions (its own
// buffer, its own layout, the log-sum-exps after it), and ok false otherwise (an
// output of another backend, or a copy), when the backward pass recomputes them.
func sdpaStats(o *node, d sdpaDims) (heads, []float32, bool) {
	if o.Dtype != backend.Float32 || o.Offset != 0 ||
		!slices.Equal(o.Shape, []int{d.B, d.Hq, d.L, d.Dv}) || !slices.Equal(o.Strides, sdpaStrides(d)) {
		return heads{}, nil, false
	}
	b, ok := o.Storage.(*Buffer)
	if !ok || len(b.bytes) != 4*(o.Size()+d.B*d.Hq*d.L) {
		return heads{}, nil, false
	}
	all := viewAs[float32](b.bytes)
	return heads{data: all, s0: d.L * d.Hq * d.Dv, s1: d.Dv, ld: d.Hq * d.Dv}, all[o.Size():], true
}

// sdpaGrad writes the gradients of q, k and v packed end to end, tiled
// (attention.go). Its inputs are q, k, v, the output's cotangent and, when mx
// passes it, the forward output, whose log-sum-exps save the backward pass two
// of its seven matrix products per block.
func sdpaGrad(p backend.ScaledDotProductAttentionGrad, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v, dO := headsOf(in[0]), headsOf(in[1]), headsOf(in[2]), headsOf(in[3])
	var oh *heads
	var lse []float32
	if len(in) > 4 {
		if h, l, ok := sdpaStats(in[4], d); ok {
			oh, lse = &h, l
		}
	}
	o, commit := outFloats(out)
	nq, nk, nv := in[0].Size(), in[1].Size(), in[2].Size()
	attnBackwardHeads(o[:nq], o[nq:nq+nk], o[nq+nk:nq+nk+nv], q, k, v, dO, oh, lse, d, p.Scale, p.Causal)
	commit()
}
