package mx

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// sdpaPrim is scaled dot-product attention in one kernel for no mask or a causal mask:
// per (batch, head) it forms the score matrix with one matrix product, masks and
// normalises it in place and multiplies by the values, so the (L, S) scores of all heads
// never exist at once and never enter the graph.
type sdpaPrim struct {
	scale  float32
	causal bool
}

func (sdpaPrim) Name() string { return "ScaledDotProductAttention" }

type sdpaDims struct{ B, Hq, Hkv, L, S, D, Dv int }

func sdpaShape(q, k, v *Array) sdpaDims {
	return sdpaDims{q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3]}
}

// probs writes softmax(scale·q·kᵀ + mask) for one head into p (L×S).
func (s sdpaPrim) probs(p, q, k []float32, d sdpaDims) {
	blas.Sgemm(false, true, d.L, d.S, d.D, s.scale, q, d.D, k, d.D, 0, p, d.S)
	for i := 0; i < d.L; i++ {
		row := p[i*d.S : (i+1)*d.S]
		if s.causal {
			for j := i + d.S - d.L + 1; j < d.S; j++ {
				if j >= 0 {
					row[j] = float32(math.Inf(-1))
				}
			}
		}
		softmaxRow(row, row)
	}
}

func (s sdpaPrim) Eval(in []*Array, out *Array) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v := floats(in[0]), floats(in[1]), floats(in[2])
	o, commit := outFloats(out)
	rep := d.Hq / d.Hkv
	p := make([]float32, d.L*d.S)
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.Hq; h++ {
			g := b*d.Hkv + h/rep
			qh := q[(b*d.Hq+h)*d.L*d.D:]
			s.probs(p, qh, k[g*d.S*d.D:], d)
			blas.Sgemm(false, false, d.L, d.Dv, d.S, 1, p, d.S, v[g*d.S*d.Dv:], d.Dv, 0, o[(b*d.Hq+h)*d.L*d.Dv:], d.Dv)
		}
	}
	commit()
}

func (s sdpaPrim) VJP(in []*Array, _, g *Array) []*Array {
	q, k, v := in[0], in[1], in[2]
	nq, nk, nv := q.Size(), k.Size(), v.Size()
	packed := newArray([]int{nq + nk + nv}, q.dtype, sdpaGradPrim{s}, q, k, v, g)
	return []*Array{
		Reshape(SliceAxis(packed, 0, 0, nq), q.shape...),
		Reshape(SliceAxis(packed, 0, nq, nq+nk), k.shape...),
		Reshape(SliceAxis(packed, 0, nq+nk, nq+nk+nv), v.shape...),
	}
}

// sdpaGradPrim computes the gradients of q, k and v in one kernel, recomputing each
// head's probabilities, and returns them packed end to end in one flat array.
type sdpaGradPrim struct{ s sdpaPrim }

func (sdpaGradPrim) Name() string { return "ScaledDotProductAttentionGrad" }

func (p sdpaGradPrim) Eval(in []*Array, out *Array) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v, dO := floats(in[0]), floats(in[1]), floats(in[2]), floats(in[3])
	o, commit := outFloats(out)
	for i := range o {
		o[i] = 0
	}
	nq, nk := len(q), len(k)
	dq, dk, dv := o[:nq], o[nq:nq+nk], o[nq+nk:]
	rep := d.Hq / d.Hkv
	P := make([]float32, d.L*d.S)
	dP := make([]float32, d.L*d.S)
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.Hq; h++ {
			g := b*d.Hkv + h/rep
			qo := (b*d.Hq + h) * d.L * d.D
			oo := (b*d.Hq + h) * d.L * d.Dv
			ko, vo := g*d.S*d.D, g*d.S*d.Dv
			p.s.probs(P, q[qo:], k[ko:], d)
			// dV_g += Pᵀ·dO ; dP = dO·V_gᵀ
			blas.Sgemm(true, false, d.S, d.Dv, d.L, 1, P, d.S, dO[oo:], d.Dv, 1, dv[vo:], d.Dv)
			blas.Sgemm(false, true, d.L, d.S, d.Dv, 1, dO[oo:], d.Dv, v[vo:], d.Dv, 0, dP, d.S)
			// dS = P ∘ (dP − rowsum(dP ∘ P)), scaled for the q·kᵀ product.
			for i := 0; i < d.L; i++ {
				pr, dr := P[i*d.S:(i+1)*d.S], dP[i*d.S:(i+1)*d.S]
				var dot float32
				for j := range pr {
					dot += pr[j] * dr[j]
				}
				for j := range pr {
					dr[j] = pr[j] * (dr[j] - dot) * p.s.scale
				}
			}
			// dQ_h = dS·K_g ; dK_g += dSᵀ·Q_h
			blas.Sgemm(false, false, d.L, d.D, d.S, 1, dP, d.S, k[ko:], d.D, 0, dq[qo:], d.D)
			blas.Sgemm(true, false, d.S, d.D, d.L, 1, dP, d.S, q[qo:], d.D, 1, dk[ko:], d.D)
		}
	}
	commit()
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
	_, v := VJP(f, in, []*Array{g})
	return v
}
