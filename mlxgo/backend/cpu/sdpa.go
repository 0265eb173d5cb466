package cpu

import (
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
// nothing.
func sdpa(s backend.ScaledDotProductAttention, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v := headsOf(in[0]), headsOf(in[1]), headsOf(in[2])
	if out.Dtype == backend.Float32 {
		out.SetView(Alloc(out.NBytes()), []int{d.L * d.Hq * d.Dv, d.Dv, d.Hq * d.Dv, 1}, 0)
		o := heads{data: viewAs[float32](storageBytes(out)), s0: d.L * d.Hq * d.Dv, s1: d.Dv, ld: d.Hq * d.Dv}
		attnForwardHeads(o, q, k, v, d, s.Scale, s.Causal)
		return
	}
	o, commit := outFloats(out)
	attnForwardHeads(packedHeads(o, d.Hq, d.L, d.Dv), q, k, v, d, s.Scale, s.Causal)
	commit()
}

// sdpaGrad writes the gradients of q, k and v packed end to end, tiled
// (attention.go).
func sdpaGrad(p backend.ScaledDotProductAttentionGrad, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v, dO := headsOf(in[0]), headsOf(in[1]), headsOf(in[2]), headsOf(in[3])
	o, commit := outFloats(out)
	nq, nk, nv := in[0].Size(), in[1].Size(), in[2].Size()
	attnBackwardHeads(o[:nq], o[nq:nq+nk], o[nq+nk:nq+nk+nv], q, k, v, dO, d, p.Scale, p.Causal)
	commit()
}
