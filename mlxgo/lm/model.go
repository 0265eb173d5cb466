// Package lm is mlxgo's equivalent of mlx-lm: Llama, Mistral, Qwen2, Qwen3, Gemma 2,
// Gemma 3, Phi-3 and SmolLM3 models loaded from Hugging Face folders or the Hub, with a KV
// cache for generation. What the newer architectures add is in arch*.go.
package lm

import (
	"math"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Attention is grouped-query self-attention with rotary embeddings.
type Attention struct {
	nn.Base
	QProj nn.Layer `mx:"q_proj"`
	KProj nn.Layer `mx:"k_proj"`
	VProj nn.Layer `mx:"v_proj"`
	OProj nn.Layer `mx:"o_proj"`
	// RoPE rotates queries and keys; nil: no positional rotation (SmolLM3's NoPE layers).
	RoPE Rotary `mx:"-"`
	// Phi-3 stores q, k and v as one projection; Qwen3 and Gemma 3 normalise q and k.
	QKVProj nn.Layer `mx:"qkv_proj"`
	QNorm   Norm     `mx:"q_norm"`
	KNorm   Norm     `mx:"k_norm"`
	// Scale multiplies q·k (0: 1/sqrt(HeadDim)); Softcap caps scores (Gemma 2; 0: off).
	Scale, Softcap float64 `mx:"-"`

	Heads, KVHeads, HeadDim int `mx:"-"`
	// Window limits attention to the last Window positions (Mistral); 0: no limit.
	Window int `mx:"-"`

	// probe, when set, receives the layer's attention weights: see Model.ForwardWithAttention.
	probe func(weights *mx.Array)
}

// Forward attends over x (B, L, hidden), extending cache when it is not nil.
func (a *Attention) Forward(x *mx.Array, cache *LayerCache) *mx.Array {
	B, L := x.Dim(0), x.Dim(1)
	q, k, v := a.project(x)
	offset := 0
	if cache != nil {
		offset = cache.Offset()
	}
	if a.RoPE != nil {
		q, k = a.RoPE.Apply(q, offset), a.RoPE.Apply(k, offset)
	}
	if cache != nil {
		k, v = cache.Update(k, v)
	}
	var mask any
	S := k.Dim(2)
	switch {
	case a.Window > 0 && S > a.Window:
		mask = windowMask(L, S, a.Window)
	case L > 1:
		mask = "causal"
	}
	o := a.attend(q, k, v, mask)
	return a.OProj.Forward(mx.Reshape(mx.Transpose(o, 0, 2, 1, 3), B, L, a.Heads*a.HeadDim))
}

// windowMask lets query i (the last L of S positions) attend to keys j with
// i+S-L-window < j <= i+S-L.
func windowMask(L, S, window int) *mx.Array {
	// Built as bytes and cast: mx.FromSlice of a []bool writes only the true entries
	// into a pooled buffer, so false ones could read stale bytes.
	m := make([]uint8, L*S)
	for i := 0; i < L; i++ {
		pos := i + S - L
		for j := max(0, pos-window+1); j <= pos; j++ {
			m[i*S+j] = 1
		}
	}
	return mx.AsType(mx.FromSlice(m, L, S), mx.Bool)
}

// MLP is the gated feed-forward block: down(act(gate(x)) * up(x)), act silu unless Act
// is set.
type MLP struct {
	nn.Base
	GateProj nn.Layer `mx:"gate_proj"`
	UpProj   nn.Layer `mx:"up_proj"`
	DownProj nn.Layer `mx:"down_proj"`
	// GateUpProj holds gate and up as one projection (Phi-3); Act replaces silu (Gemma's
	// tanh GELU).
	GateUpProj nn.Layer                  `mx:"gate_up_proj"`
	Act        func(*mx.Array) *mx.Array `mx:"-"`
}

// Forward applies the block.
func (m *MLP) Forward(x *mx.Array) *mx.Array {
	return m.DownProj.Forward(m.gated(x))
}

// Block is one transformer decoder layer.
type Block struct {
	nn.Base
	SelfAttn               *Attention `mx:"self_attn"`
	MLP                    *MLP       `mx:"mlp"`
	InputLayernorm         Norm       `mx:"input_layernorm"`
	PostAttentionLayernorm Norm       `mx:"post_attention_layernorm"`
	// Gemma's feed-forward norms; with them the block is Gemma's (see sandwich).
	PreFeedforwardLayernorm  Norm `mx:"pre_feedforward_layernorm"`
	PostFeedforwardLayernorm Norm `mx:"post_feedforward_layernorm"`
}

// Forward applies the layer with pre-normalisation and residuals.
func (b *Block) Forward(x *mx.Array, cache *LayerCache) *mx.Array {
	if b.PreFeedforwardLayernorm != nil {
		return b.sandwich(x, cache)
	}
	h := mx.Add(x, b.SelfAttn.Forward(b.InputLayernorm.Forward(x), cache))
	return mx.Add(h, b.MLP.Forward(b.PostAttentionLayernorm.Forward(h)))
}

// EmbeddingLayer is a token embedding that can also serve as a tied output head
// (*nn.Embedding, or a LoRA-adapted one).
type EmbeddingLayer interface {
	Forward(ids *mx.Array) *mx.Array
	AsLinear(x *mx.Array) *mx.Array
}

// Decoder is the stack of layers between the embeddings and the head.
type Decoder struct {
	nn.Base
	EmbedTokens EmbeddingLayer `mx:"embed_tokens"`
	Layers      []*Block       `mx:"layers"`
	Norm        Norm           `mx:"norm"`
}

// Model is a causal language model of one of SupportedModelTypes.
type Model struct {
	nn.Base
	Model  *Decoder       `mx:"model"`
	LMHead nn.LinearLayer `mx:"lm_head"` // *nn.Linear, *nn.QuantizedLinear or an adapter; nil when tied
	Config *Config        `mx:"-"`
	Dir    string         `mx:"-"`
	// GradCheckpoint recomputes each layer's activations in the backward pass instead of
	// keeping them (less memory, about one more forward pass of compute).
	GradCheckpoint bool `mx:"-"`
}

// New builds a randomly initialised model for cfg (weights uniform in ±1/sqrt(fan_in),
// norms at one).
func New(cfg *Config) *Model {
	h, hd := cfg.HiddenSize, cfg.HeadDim
	d := &Decoder{EmbedTokens: nn.NewEmbedding(cfg.VocabSize, h), Norm: nn.NewRMSNorm(h, cfg.RMSNormEps)}
	rope := newRoPE(cfg)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		d.Layers = append(d.Layers, &Block{
			SelfAttn: &Attention{
				QProj:   nn.NewLinear(h, cfg.NumAttentionHeads*hd, cfg.AttentionBias),
				KProj:   nn.NewLinear(h, cfg.NumKeyValueHeads*hd, cfg.AttentionBias),
				VProj:   nn.NewLinear(h, cfg.NumKeyValueHeads*hd, cfg.AttentionBias),
				OProj:   nn.NewLinear(cfg.NumAttentionHeads*hd, h, cfg.ModelType == "llama" && cfg.AttentionBias),
				RoPE:    rope,
				Heads:   cfg.NumAttentionHeads,
				KVHeads: cfg.NumKeyValueHeads,
				HeadDim: hd,
				Window:  cfg.SlidingWindow,
			},
			MLP: &MLP{
				GateProj: nn.NewLinear(h, cfg.IntermediateSize, cfg.MLPBias),
				UpProj:   nn.NewLinear(h, cfg.IntermediateSize, cfg.MLPBias),
				DownProj: nn.NewLinear(cfg.IntermediateSize, h, cfg.MLPBias),
			},
			InputLayernorm:         nn.NewRMSNorm(h, cfg.RMSNormEps),
			PostAttentionLayernorm: nn.NewRMSNorm(h, cfg.RMSNormEps),
		})
	}
	m := &Model{Model: d, Config: cfg}
	if !cfg.TieWordEmbeddings {
		m.LMHead = nn.NewLinear(h, cfg.VocabSize, false)
	}
	specialise(m)
	return m
}

func newRoPE(cfg *Config) *nn.RoPE {
	r := &nn.RoPE{Dims: cfg.HeadDim, Traditional: cfg.RopeTraditional, BaseFreq: cfg.RopeTheta, Scale: 1}
	switch cfg.RopeScaling.Kind() {
	case "linear":
		r.Scale = 1 / cfg.RopeScaling.Factor
	case "llama3":
		r.Freqs = llama3Freqs(cfg)
	}
	return r
}

// llama3Freqs returns the per-pair periods of Llama 3's rope scaling.
func llama3Freqs(cfg *Config) []float32 {
	s := cfg.RopeScaling
	dims := cfg.HeadDim
	lowWave := s.OriginalMaxPositionEmbeddings / s.LowFreqFactor
	highWave := s.OriginalMaxPositionEmbeddings / s.HighFreqFactor
	out := make([]float32, dims/2)
	for i := range out {
		f := math.Pow(cfg.RopeTheta, float64(2*i)/float64(dims))
		wave := 2 * math.Pi * f
		switch {
		case wave > lowWave:
			f *= s.Factor
		case wave > highWave:
			smooth := (s.OriginalMaxPositionEmbeddings/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
			f = f / ((1-smooth)/s.Factor + smooth)
		}
		out[i] = float32(f)
	}
	return out
}

// Forward returns the logits (B, L, vocab) for token ids (B, L). With a cache, the ids
// continue the cached sequence and the cache is extended.
func (m *Model) Forward(ids *mx.Array, cache *Cache) *mx.Array {
	h := m.Hidden(ids, cache)
	if m.LMHead != nil {
		return m.capLogits(m.LMHead.Forward(h))
	}
	return m.capLogits(m.Model.EmbedTokens.AsLinear(h))
}

// Hidden returns the final normalised hidden states (B, L, hidden).
func (m *Model) Hidden(ids *mx.Array, cache *Cache) *mx.Array {
	h := m.scaleEmbeddings(m.Model.EmbedTokens.Forward(ids))
	for i, l := range m.Model.Layers {
		var lc *LayerCache
		if cache != nil {
			lc = cache.Layers[i]
		}
		if m.GradCheckpoint && lc == nil {
			h = checkpointed(l, h)
		} else {
			h = l.Forward(h, lc)
		}
	}
	return m.Model.Norm.Forward(h)
}

// checkpointed runs a layer under mx.Checkpoint with its trainable parameters as inputs:
// the function installs the arrays it is given in the layer for the call, so the
// recomputation differentiates with respect to exactly those inputs.
func checkpointed(l *Block, x *mx.Array) *mx.Array {
	params := tree.Flatten(nn.TrainableParameters(l))
	inputs := []*mx.Array{x}
	for _, p := range params {
		inputs = append(inputs, p.Value)
	}
	f := mx.Checkpoint(func(in []*mx.Array) *mx.Array {
		swap := func(vals []*mx.Array) {
			pairs := make([]tree.Pair, len(params))
			for i, p := range params {
				pairs[i] = tree.Pair{Key: p.Key, Value: vals[i]}
			}
			if err := nn.Update(l, tree.Unflatten(pairs).(map[string]any)); err != nil {
				panic(err)
			}
		}
		swap(in[1:])
		defer swap(inputs[1:])
		return l.Forward(in[0], nil)
	})
	return f(inputs)
}

// Freeze freezes every parameter of the model.
func (m *Model) Freeze() { _ = nn.Freeze(m, true, false) }

// Unfreeze makes every parameter trainable.
func (m *Model) Unfreeze() { _ = nn.Unfreeze(m, true, false) }

// Train puts the model in training mode (dropout active), as MLX's model.train().
func (m *Model) Train() { nn.SetTraining(m, true) }

// Eval puts the model in evaluation mode (dropout off), as MLX's model.eval(). It
// computes nothing: evaluating arrays is mx.Eval.
func (m *Model) Eval() { nn.SetTraining(m, false) }

// Parameters returns the model's parameter tree.
func (m *Model) Parameters() map[string]any { return nn.Parameters(m) }

// TrainableParameters returns the parameters that are not frozen.
func (m *Model) TrainableParameters() map[string]any { return nn.TrainableParameters(m) }

// LayerCache holds one layer's keys and values (B, KVHeads, S, HeadDim).
type LayerCache struct {
	Keys, Values *mx.Array
}

// Offset is the number of cached positions.
func (c *LayerCache) Offset() int {
	if c.Keys == nil {
		return 0
	}
	return c.Keys.Dim(2)
}

// Update appends new keys and values and returns the full ones.
func (c *LayerCache) Update(k, v *mx.Array) (*mx.Array, *mx.Array) {
	if c.Keys != nil {
		k = mx.Concatenate([]*mx.Array{c.Keys, k}, 2)
		v = mx.Concatenate([]*mx.Array{c.Values, v}, 2)
	}
	c.Keys, c.Values = k, v
	return k, v
}

// Cache is a KV cache for every layer.
type Cache struct{ Layers []*LayerCache }

// NewCache returns an empty cache for the model.
func (m *Model) NewCache() *Cache {
	c := &Cache{}
	for range m.Model.Layers {
		c.Layers = append(c.Layers, &LayerCache{})
	}
	return c
}

// Arrays returns the cached arrays (to evaluate them between decoding steps).
func (c *Cache) Arrays() []*mx.Array {
	var out []*mx.Array
	for _, l := range c.Layers {
		if l.Keys != nil {
			out = append(out, l.Keys, l.Values)
		}
	}
	return out
}
