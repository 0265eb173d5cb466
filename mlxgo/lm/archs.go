package lm

import (
	"math"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Rotary rotates queries or keys (B, H, L, D) whose first position is offset: *nn.RoPE,
// or *LongRoPE for Phi-3.
type Rotary interface {
	Apply(x *mx.Array, offset int) *mx.Array
}

// Norm is a normalisation layer: *nn.RMSNorm, or *GemmaRMSNorm.
type Norm interface {
	Forward(x *mx.Array) *mx.Array
}

// GemmaRMSNorm is Gemma's RMSNorm: x / rms(x) · (1 + Weight), computed in float32 and
// returned in x's dtype. The checkpoint stores Weight (zero means identity).
type GemmaRMSNorm struct {
	nn.Base
	Weight *mx.Array `mx:"weight"`
	Eps    float64   `mx:"-"`
}

// Forward normalises the last axis.
func (n *GemmaRMSNorm) Forward(x *mx.Array) *mx.Array {
	w := mx.Add(mx.AsType(n.Weight, mx.Float32), 1.0)
	return mx.AsType(mx.RMSNorm(mx.AsType(x, mx.Float32), w, n.Eps), x.Dtype())
}

// LongRoPE is Phi-3's longrope: per-frequency divisors (Short up to OriginalMax
// positions, Long beyond, as transformers switches them) and rotated features scaled by
// Factor.
type LongRoPE struct {
	Short, Long   *nn.RoPE
	HeadDim       int
	Factor        float64
	OriginalMax   int
	scaleFeatures *mx.Array
}

// Apply rotates x, whose first position is offset.
func (r *LongRoPE) Apply(x *mx.Array, offset int) *mx.Array {
	rope := r.Short
	if offset+x.Dim(x.Ndim()-2) > r.OriginalMax {
		rope = r.Long
	}
	y := rope.Apply(x, offset)
	if r.Factor == 1 {
		return y
	}
	if r.scaleFeatures == nil {
		s := make([]float32, r.HeadDim)
		for i := range s {
			s[i] = 1
			if i < rope.Dims {
				s[i] = float32(r.Factor)
			}
		}
		r.scaleFeatures = mx.FromSlice(s, r.HeadDim)
	}
	return mx.Multiply(y, mx.AsType(r.scaleFeatures, y.Dtype()))
}

func newLongRoPE(cfg *Config, dims int) *LongRoPE {
	s := cfg.RopeScaling
	orig := cfg.Arch.OriginalMaxPositions
	factor := s.Factor
	if orig > 0 && cfg.MaxPositionEmbeddings > 0 {
		factor = float64(cfg.MaxPositionEmbeddings) / float64(orig)
	}
	att := s.AttentionFactor
	if att == 0 {
		att = 1
		if factor > 1 {
			att = math.Sqrt(1 + math.Log(factor)/math.Log(float64(orig)))
		}
	}
	periods := func(ext []float64) []float32 {
		out := make([]float32, dims/2)
		for i := range out {
			out[i] = float32(ext[i] * math.Pow(cfg.RopeTheta, float64(2*i)/float64(dims)))
		}
		return out
	}
	mk := func(ext []float64) *nn.RoPE {
		return &nn.RoPE{Dims: dims, BaseFreq: cfg.RopeTheta, Scale: 1, Freqs: periods(ext)}
	}
	return &LongRoPE{Short: mk(s.ShortFactor), Long: mk(s.LongFactor), HeadDim: cfg.HeadDim, Factor: att, OriginalMax: orig}
}

// layerRoPE returns layer i's rotary embedding, or nil for a layer without one.
func layerRoPE(cfg *Config, i int) Rotary {
	a := cfg.Arch
	if a.NoRope != nil && a.NoRope[i] {
		return nil
	}
	dims := cfg.HeadDim
	if a.RotaryDims > 0 {
		dims = a.RotaryDims
	}
	if a.LocalRopeTheta > 0 && a.LayerWindows != nil && a.LayerWindows[i] > 0 {
		return &nn.RoPE{Dims: dims, Traditional: cfg.RopeTraditional, BaseFreq: a.LocalRopeTheta, Scale: 1}
	}
	if cfg.RopeScaling.Kind() == "longrope" {
		return newLongRoPE(cfg, dims)
	}
	r := newRoPE(cfg)
	r.Dims = dims
	return r
}

func newNorm(cfg *Config, dims int) Norm {
	if cfg.Arch.Gemma {
		return &GemmaRMSNorm{Weight: mx.Zeros([]int{dims}, mx.Float32), Eps: cfg.RMSNormEps}
	}
	return nn.NewRMSNorm(dims, cfg.RMSNormEps)
}

// specialise turns the Llama layers New builds into the configured architecture's.
func specialise(m *Model) {
	cfg := m.Config
	a := cfg.Arch
	h, hd := cfg.HiddenSize, cfg.HeadDim
	perLayerRoPE := a.NoRope != nil || a.RotaryDims > 0 || a.LocalRopeTheta > 0 || cfg.RopeScaling.Kind() == "longrope"
	for i, b := range m.Model.Layers {
		at := b.SelfAttn
		if a.LayerWindows != nil {
			at.Window = a.LayerWindows[i]
		}
		if perLayerRoPE {
			at.RoPE = layerRoPE(cfg, i)
		}
		at.Scale, at.Softcap = a.AttnScale, a.AttnSoftcap
		if a.QKNorm {
			at.QNorm, at.KNorm = newNorm(cfg, hd), newNorm(cfg, hd)
		}
		if a.Fused {
			at.QKVProj = nn.NewLinear(h, (at.Heads+2*at.KVHeads)*hd, cfg.AttentionBias)
			at.QProj, at.KProj, at.VProj = nil, nil, nil
			b.MLP.GateUpProj = nn.NewLinear(h, 2*cfg.IntermediateSize, cfg.MLPBias)
			b.MLP.GateProj, b.MLP.UpProj = nil, nil
		}
		if a.Activation == "gelu_pytorch_tanh" {
			b.MLP.Act = mx.GeluApprox
		}
		if a.Gemma {
			b.InputLayernorm, b.PostAttentionLayernorm = newNorm(cfg, h), newNorm(cfg, h)
			b.PreFeedforwardLayernorm, b.PostFeedforwardLayernorm = newNorm(cfg, h), newNorm(cfg, h)
		}
	}
	if a.Gemma {
		m.Model.Norm = newNorm(cfg, h)
	}
}

// project returns q (B, Heads, L, D), k and v (B, KVHeads, L, D), normalised per head
// when the model has q/k norms.
func (a *Attention) project(x *mx.Array) (q, k, v *mx.Array) {
	B, L := x.Dim(0), x.Dim(1)
	if a.QKVProj != nil {
		qkv := mx.Split(a.QKVProj.Forward(x), []int{a.Heads * a.HeadDim, (a.Heads + a.KVHeads) * a.HeadDim}, -1)
		q, k, v = qkv[0], qkv[1], qkv[2]
	} else {
		q, k, v = a.QProj.Forward(x), a.KProj.Forward(x), a.VProj.Forward(x)
	}
	q = mx.Reshape(q, B, L, a.Heads, a.HeadDim)
	k = mx.Reshape(k, B, L, a.KVHeads, a.HeadDim)
	v = mx.Reshape(v, B, L, a.KVHeads, a.HeadDim)
	if a.QNorm != nil {
		q, k = a.QNorm.Forward(q), a.KNorm.Forward(k)
	}
	return mx.Transpose(q, 0, 2, 1, 3), mx.Transpose(k, 0, 2, 1, 3), mx.Transpose(v, 0, 2, 1, 3)
}

// attend computes softmax(q·kᵀ·scale [soft-capped] + mask)·v. Without soft-capping it is
// mx.ScaledDotProductAttention; with it (Gemma 2) it is composed from public ops, the
// softmax in float32 as transformers' eager attention does.
func (a *Attention) attend(q, k, v *mx.Array, mask any) *mx.Array {
	scale := a.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(a.HeadDim))
	}
	if a.Softcap == 0 {
		if a.probe != nil {
			a.probe(attentionWeights(q, k, scale, mask))
		}
		return mx.ScaledDotProductAttention(q, k, v, scale, mask)
	}
	if rep := a.Heads / a.KVHeads; rep > 1 {
		k, v = repeatHeads(k, rep), repeatHeads(v, rep)
	}
	s := mx.Multiply(mx.Matmul(q, mx.Transpose(k, 0, 1, 3, 2)), scale)
	s = mx.Multiply(mx.Tanh(mx.Multiply(s, 1/a.Softcap)), a.Softcap)
	L, S := q.Dim(2), k.Dim(2)
	switch mk := mask.(type) {
	case string: // "causal"
		s = mx.Where(windowMask(L, S, S), s, math.Inf(-1))
	case *mx.Array:
		s = mx.Where(mk, s, math.Inf(-1))
	}
	p := mx.AsType(mx.Softmax(mx.AsType(s, mx.Float32), -1), v.Dtype())
	if a.probe != nil {
		a.probe(p)
	}
	return mx.Matmul(p, v)
}

// repeatHeads repeats each of x's heads (B, H, S, D) rep times: (B, H·rep, S, D).
func repeatHeads(x *mx.Array, rep int) *mx.Array {
	B, H, S, D := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	return mx.Reshape(mx.BroadcastTo(mx.ExpandDims(x, 2), B, H, rep, S, D), B, H*rep, S, D)
}

// gated returns act(gate(x)) · up(x), from separate or fused projections.
func (m *MLP) gated(x *mx.Array) *mx.Array {
	var g, u *mx.Array
	if m.GateUpProj != nil {
		gu := mx.SplitN(m.GateUpProj.Forward(x), 2, -1)
		g, u = gu[0], gu[1]
	} else {
		g, u = m.GateProj.Forward(x), m.UpProj.Forward(x)
	}
	if m.Act == nil {
		return nn.SwiGLU(g, u) // silu(g)·u as one op, one pass backward
	}
	return mx.Multiply(m.Act(g), u)
}

// sandwich is Gemma's layer: the attention and feed-forward outputs are normalised
// before they join the residual stream.
func (b *Block) sandwich(x *mx.Array, cache *LayerCache) *mx.Array {
	h := mx.Add(x, b.PostAttentionLayernorm.Forward(b.SelfAttn.Forward(b.InputLayernorm.Forward(x), cache)))
	return mx.Add(h, b.PostFeedforwardLayernorm.Forward(b.MLP.Forward(b.PreFeedforwardLayernorm.Forward(h))))
}

// scaleEmbeddings multiplies Gemma's embeddings by sqrt(hidden_size), rounded to their
// dtype as transformers does.
func (m *Model) scaleEmbeddings(h *mx.Array) *mx.Array {
	if m.Config == nil || !m.Config.Arch.Gemma {
		return h
	}
	return mx.Multiply(h, mx.ScalarOf(math.Sqrt(float64(m.Config.HiddenSize)), h.Dtype()))
}

// capLogits applies final_logit_softcapping: c·tanh(logits/c).
func (m *Model) capLogits(l *mx.Array) *mx.Array {
	if m.Config == nil || m.Config.Arch.FinalSoftcap == 0 {
		return l
	}
	c := m.Config.Arch.FinalSoftcap
	return mx.Multiply(mx.Tanh(mx.Multiply(l, 1/c)), c)
}
