package gguf

import (
	"fmt"
	"math"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// Arch says how one Hugging Face model_type becomes a llama.cpp architecture. Adding an
// architecture that lm loads is one entry in Archs.
type Arch struct {
	// Name is general.architecture, the llama.cpp architecture (also the prefix of the
	// hyper-parameter keys).
	Name string
	// PermuteQK reorders the rows of q_proj and k_proj within each head from Hugging
	// Face's half-split rotary layout to the interleaved one, for architectures that
	// llama.cpp runs with its "normal" (GPT-J style) RoPE, as convert_hf_to_gguf does
	// for Llama and Mistral. Architectures run with NeoX RoPE (Qwen2) keep the rows.
	PermuteQK bool
	// Tensors maps Hugging Face tensor names (with "N" for the layer number) to GGUF
	// names; nil means LlamaTensors.
	Tensors map[string]string
	// Check refuses configurations llama.cpp cannot run with this architecture.
	Check func(c *lm.Config) error
}

// Archs lists the architectures Export writes, by config.json model_type.
var Archs = map[string]Arch{
	"llama":   {Name: "llama", PermuteQK: true, Check: checkLlama},
	"mistral": {Name: "llama", PermuteQK: true, Check: checkLlama},
	"qwen2":   {Name: "qwen2", Check: checkQwen2},
}

// LlamaTensors is the tensor naming of llama.cpp's Llama-family architectures.
var LlamaTensors = map[string]string{
	"model.embed_tokens.weight":                      "token_embd.weight",
	"model.norm.weight":                              "output_norm.weight",
	"lm_head.weight":                                 "output.weight",
	"model.layers.N.input_layernorm.weight":          "blk.N.attn_norm.weight",
	"model.layers.N.self_attn.q_proj.weight":         "blk.N.attn_q.weight",
	"model.layers.N.self_attn.q_proj.bias":           "blk.N.attn_q.bias",
	"model.layers.N.self_attn.k_proj.weight":         "blk.N.attn_k.weight",
	"model.layers.N.self_attn.k_proj.bias":           "blk.N.attn_k.bias",
	"model.layers.N.self_attn.v_proj.weight":         "blk.N.attn_v.weight",
	"model.layers.N.self_attn.v_proj.bias":           "blk.N.attn_v.bias",
	"model.layers.N.self_attn.o_proj.weight":         "blk.N.attn_output.weight",
	"model.layers.N.self_attn.o_proj.bias":           "blk.N.attn_output.bias",
	"model.layers.N.post_attention_layernorm.weight": "blk.N.ffn_norm.weight",
	"model.layers.N.mlp.gate_proj.weight":            "blk.N.ffn_gate.weight",
	"model.layers.N.mlp.up_proj.weight":              "blk.N.ffn_up.weight",
	"model.layers.N.mlp.down_proj.weight":            "blk.N.ffn_down.weight",
}

// tensorName maps a Hugging Face tensor name to its GGUF name.
func (a Arch) tensorName(hf string) (string, bool) {
	table := a.Tensors
	if table == nil {
		table = LlamaTensors
	}
	key, layer := hf, ""
	if rest, ok := strings.CutPrefix(hf, "model.layers."); ok {
		if i := strings.IndexByte(rest, '.'); i > 0 {
			layer = rest[:i]
			key = "model.layers.N" + rest[i:]
		}
	}
	name, ok := table[key]
	if !ok {
		return "", false
	}
	return strings.Replace(name, "blk.N.", "blk."+layer+".", 1), true
}

func checkLlama(c *lm.Config) error {
	if c.MLPBias {
		return fmt.Errorf("mlp_bias: llama.cpp's llama architecture has no feed-forward biases")
	}
	return nil
}

func checkQwen2(c *lm.Config) error {
	if c.RopeTraditional {
		return fmt.Errorf("rope_traditional: llama.cpp runs qwen2 with NeoX (half-split) RoPE only")
	}
	if k := c.RopeScaling.Kind(); k == "llama3" {
		return fmt.Errorf("rope_scaling %q: llama.cpp's qwen2 architecture does not read per-frequency RoPE factors", k)
	}
	if c.MLPBias {
		return fmt.Errorf("mlp_bias: llama.cpp's qwen2 architecture has no feed-forward biases")
	}
	return nil
}

// hyperParams returns the architecture's metadata: sizes, attention and RoPE settings.
func hyperParams(a Arch, c *lm.Config) []kv {
	p := a.Name + "."
	ctx := c.MaxPositionEmbeddings
	if ctx <= 0 {
		ctx = 4096
	}
	// llama.cpp's llama architecture has no sliding window; capping the context at the
	// window makes the window never apply, which is then exactly mlxgo's attention.
	if c.SlidingWindow > 0 && ctx > c.SlidingWindow {
		ctx = c.SlidingWindow
	}
	meta := []kv{
		{p + "context_length", uint32(ctx)},
		{p + "embedding_length", uint32(c.HiddenSize)},
		{p + "block_count", uint32(c.NumHiddenLayers)},
		{p + "feed_forward_length", uint32(c.IntermediateSize)},
		{p + "attention.head_count", uint32(c.NumAttentionHeads)},
		{p + "attention.head_count_kv", uint32(c.NumKeyValueHeads)},
		{p + "attention.key_length", uint32(c.HeadDim)},
		{p + "attention.value_length", uint32(c.HeadDim)},
		{p + "attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{p + "rope.dimension_count", uint32(c.HeadDim)},
		{p + "rope.freq_base", float32(c.RopeTheta)},
		{p + "vocab_size", uint32(c.VocabSize)},
	}
	if c.RopeScaling.Kind() == "linear" {
		meta = append(meta, kv{p + "rope.scaling.type", "linear"}, kv{p + "rope.scaling.factor", float32(c.RopeScaling.Factor)})
	}
	return meta
}

// ropeFactors returns Llama 3's per-frequency RoPE divisors (the rope_freqs.weight tensor
// llama.cpp reads), or nil when the model does not use llama3 scaling.
func ropeFactors(c *lm.Config) []float32 {
	rs := c.RopeScaling
	if rs.Kind() != "llama3" {
		return nil
	}
	lowWave := rs.OriginalMaxPositionEmbeddings / rs.LowFreqFactor
	highWave := rs.OriginalMaxPositionEmbeddings / rs.HighFreqFactor
	var out []float32
	for i := 0; i < c.HeadDim; i += 2 {
		freq := 1 / math.Pow(c.RopeTheta, float64(i)/float64(c.HeadDim))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out = append(out, 1)
		case wave > lowWave:
			out = append(out, float32(rs.Factor))
		default:
			smooth := (rs.OriginalMaxPositionEmbeddings/wave - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
			out = append(out, float32(1/((1-smooth)/rs.Factor+smooth)))
		}
	}
	return out
}

// permuteRows reorders the rows of a (heads·headDim, cols) projection, head by head, from
// the half-split rotary layout (all first halves, then all second halves) to the
// interleaved one: new row 2j+s of a head is old row s·headDim/2+j. It also applies to a
// bias (cols = 1).
func permuteRows(v []float32, heads, cols int) []float32 {
	rows := len(v) / cols
	hd := rows / heads
	out := make([]float32, len(v))
	for h := 0; h < heads; h++ {
		for j := 0; j < hd/2; j++ {
			for s := 0; s < 2; s++ {
				src := h*hd + s*hd/2 + j
				dst := h*hd + 2*j + s
				copy(out[dst*cols:(dst+1)*cols], v[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}
