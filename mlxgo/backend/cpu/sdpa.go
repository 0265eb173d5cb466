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

// sdpa is scaled dot-product attention for no mask or a causal mask, tiled
// (attention.go).
func sdpa(s backend.ScaledDotProductAttention, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v := floats(in[0]), floats(in[1]), floats(in[2])
	o, commit := outFloats(out)
	attnForward(o, q, k, v, d, s.Scale, s.Causal)
	commit()
}

// sdpaGrad writes the gradients of q, k and v packed end to end, tiled
// (attention.go).
func sdpaGrad(p backend.ScaledDotProductAttentionGrad, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v, dO := floats(in[0]), floats(in[1]), floats(in[2]), floats(in[3])
	o, commit := outFloats(out)
	nq, nk := len(q), len(k)
	attnBackward(o[:nq], o[nq:nq+nk], o[nq+nk:nq+nk+len(v)], q, k, v, dO, d, p.Scale, p.Causal)
	commit()
}
