package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

func init() {
	Register(sdpa)
	Register(sdpaGrad)
}

type sdpaDims struct{ B, Hq, Hkv, L, S, D, Dv int }

func sdpaShape(q, k, v *node) sdpaDims {
	return sdpaDims{q.Shape[0], q.Shape[1], k.Shape[1], q.Shape[2], k.Shape[2], q.Shape[3], v.Shape[3]}
}

func sdpa(s backend.ScaledDotProductAttention, in []*node, out *node) {
	d := sdpaShape(in[0], in[1], in[2])
	q, k, v := floats(in[0]), floats(in[1]), floats(in[2])
	o, commit := outFloats(out)
	rep := d.Hq / d.Hkv
	p := make([]float32, d.L*d.S)
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.Hq; h++ {
			g := b*d.Hkv + h/rep
			qh := q[(b*d.Hq+h)*d.L*d.D:]
			probs(s, p, qh, k[g*d.S*d.D:], d)
			blas.Sgemm(false, false, d.L, d.Dv, d.S, 1, p, d.S, v[g*d.S*d.Dv:], d.Dv, 0, o[(b*d.Hq+h)*d.L*d.Dv:], d.Dv)
		}
	}
	commit()
}

func sdpaGrad(p backend.ScaledDotProductAttentionGrad, in []*node, out *node) {
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
			probs(backend.ScaledDotProductAttention(p), P, q[qo:], k[ko:], d)
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
					dr[j] = pr[j] * (dr[j] - dot) * p.Scale
				}
			}
			// dQ_h = dS·K_g ; dK_g += dSᵀ·Q_h
			blas.Sgemm(false, false, d.L, d.D, d.S, 1, dP, d.S, k[ko:], d.D, 0, dq[qo:], d.D)
			blas.Sgemm(true, false, d.S, d.D, d.L, 1, dP, d.S, q[qo:], d.D, 1, dk[ko:], d.D)
		}
	}
	commit()
}

// probs writes softmax(scale·q·kᵀ + mask) for one head into p (L×S).
func probs(s backend.ScaledDotProductAttention, p, q, k []float32, d sdpaDims) {
	blas.Sgemm(false, true, d.L, d.S, d.D, s.Scale, q, d.D, k, d.D, 0, p, d.S)
	for i := 0; i < d.L; i++ {
		row := p[i*d.S : (i+1)*d.S]
		if s.Causal {
			for j := i + d.S - d.L + 1; j < d.S; j++ {
				if j >= 0 {
					row[j] = float32(math.Inf(-1))
				}
			}
		}
		softmaxRow(row, row)
	}
}
