package gguf

import (
	"fmt"
	"io"
	"maps"
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
	// for Llama, Mistral and SmolLM3. Architectures run with NeoX RoPE (Qwen, Gemma,
	// Phi-3) keep the rows.
	PermuteQK bool
	// Tensors maps Hugging Face tensor names (with "N" for the layer number) to GGUF
	// names; nil means LlamaTensors.
	Tensors map[string]string
	// Check refuses configurations llama.cpp cannot run with this architecture.
	Check func(c *lm.Config) error
	// Params returns the architecture's own metadata (without the name prefix) beyond
	// the sizes, attention and RoPE settings every architecture has.
	Params func(m *lm.Model) []kv
	// Adjust rewrites a tensor's values (by Hugging Face name) as llama.cpp expects
	// them, e.g. Gemma's norm weights w stored as 1 + w; nil leaves them.
	Adjust func(c *lm.Config, name string, v []float32) []float32
}

// Archs lists the architectures Export writes, by config.json model_type.
var Archs = map[string]Arch{
	"llama":       {Name: "llama", PermuteQK: true, Check: checkLlama},
	"mistral":     {Name: "llama", PermuteQK: true, Check: checkLlama},
	"qwen2":       {Name: "qwen2", Check: checkQwen2},
	"qwen3":       {Name: "qwen3", Tensors: qkNormTensors, Check: checkQwen3},
	"smollm3":     {Name: "smollm3", PermuteQK: true, Check: checkSmolLM3},
	"phi3":        {Name: "phi3", Tensors: phi3Tensors, Check: checkPhi3, Params: phi3Params},
	"gemma2":      {Name: "gemma2", Tensors: gemmaTensors, Check: checkGemma, Params: gemmaParams, Adjust: gemmaAdjust},
	"gemma3_text": {Name: "gemma3", Tensors: gemmaTensors, Check: checkGemma, Params: gemmaParams, Adjust: gemmaAdjust},
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

// qkNormTensors adds Qwen3's and Gemma 3's per-head query and key norms.
var qkNormTensors = withTensors(LlamaTensors, map[string]string{
	"model.layers.N.self_attn.q_norm.weight": "blk.N.attn_q_norm.weight",
	"model.layers.N.self_attn.k_norm.weight": "blk.N.attn_k_norm.weight",
})

// gemmaTensors are Gemma 2's and 3's sandwich norms: post_attention_layernorm
// normalises the attention output (llama.cpp's post_attention_norm), and the feed-forward
// block has its own pre and post norms.
var gemmaTensors = withTensors(qkNormTensors, map[string]string{
	"model.layers.N.post_attention_layernorm.weight":   "blk.N.post_attention_norm.weight",
	"model.layers.N.pre_feedforward_layernorm.weight":  "blk.N.ffn_norm.weight",
	"model.layers.N.post_feedforward_layernorm.weight": "blk.N.post_ffw_norm.weight",
})

// phi3Tensors are Phi-3's fused projections: qkv_proj is llama.cpp's attn_qkv, and
// gate_up_proj (gate rows, then up rows) its ffn_up, which llama.cpp splits the same way.
var phi3Tensors = withTensors(LlamaTensors, map[string]string{
	"model.layers.N.self_attn.qkv_proj.weight": "blk.N.attn_qkv.weight",
	"model.layers.N.mlp.gate_up_proj.weight":   "blk.N.ffn_up.weight",
})

// withTensors returns base with extra's entries added or replaced.
func withTensors(base, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
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

// checkSiLU refuses a gated MLP other than SiLU's, which llama.cpp's Llama-family
// architectures hard-code.
func checkSiLU(c *lm.Config) error {
	if act := c.Arch.Activation; act != "" && act != "silu" {
		return fmt.Errorf("hidden_act %q: llama.cpp's %s architecture runs SiLU only", act, c.ModelType)
	}
	return nil
}

func checkLlama(c *lm.Config) error {
	if c.MLPBias {
		return fmt.Errorf("mlp_bias: llama.cpp's llama architecture has no feed-forward biases")
	}
	return checkSiLU(c)
}

func checkQwen2(c *lm.Config) error {
	if err := checkNeoX(c); err != nil {
		return err
	}
	if c.MLPBias {
		return fmt.Errorf("mlp_bias: llama.cpp's qwen2 architecture has no feed-forward biases")
	}
	return checkSiLU(c)
}

// checkNeoX refuses RoPE settings llama.cpp's NeoX-RoPE architectures cannot express.
func checkNeoX(c *lm.Config) error {
	if c.RopeTraditional {
		return fmt.Errorf("rope_traditional: llama.cpp runs %s with NeoX (half-split) RoPE only", c.ModelType)
	}
	if k := c.RopeScaling.Kind(); k == "llama3" {
		return fmt.Errorf("rope_scaling %q: llama.cpp's %s architecture does not read per-frequency RoPE factors", k, c.ModelType)
	}
	return nil
}

// checkBiasFree refuses biases on the projections of architectures llama.cpp builds
// without them.
func checkBiasFree(c *lm.Config) error {
	if c.AttentionBias {
		return fmt.Errorf("attention_bias: llama.cpp's %s architecture has no attention biases", c.ModelType)
	}
	if c.MLPBias {
		return fmt.Errorf("mlp_bias: llama.cpp's %s architecture has no feed-forward biases", c.ModelType)
	}
	return nil
}

func checkQwen3(c *lm.Config) error {
	if err := checkNeoX(c); err != nil {
		return err
	}
	if err := checkBiasFree(c); err != nil {
		return err
	}
	return checkSiLU(c)
}

// smolNoRopeStep is llama.cpp's fixed SmolLM3 layout: every fourth layer has no RoPE.
const smolNoRopeStep = 4

func checkSmolLM3(c *lm.Config) error {
	for i, no := range c.Arch.NoRope {
		if want := (i+1)%smolNoRopeStep == 0; no != want {
			return fmt.Errorf("no_rope_layers: llama.cpp's smollm3 skips RoPE in every %dth layer exactly; layer %d differs", smolNoRopeStep, i)
		}
	}
	if err := checkBiasFree(c); err != nil {
		return err
	}
	return checkSiLU(c)
}

func checkPhi3(c *lm.Config) error {
	if err := checkNeoX(c); err != nil {
		return err
	}
	if k := c.RopeScaling.Kind(); k != "default" && k != "longrope" {
		return fmt.Errorf("rope_scaling %q: llama.cpp's phi3 architecture reads longrope factors only", k)
	}
	if err := checkBiasFree(c); err != nil {
		return err
	}
	return checkSiLU(c)
}

// hyperParams returns the architecture's metadata: sizes, attention and RoPE settings,
// then its own (Arch.Params).
func hyperParams(a Arch, m *lm.Model) []kv {
	c := m.Config
	p := a.Name + "."
	ctx := c.MaxPositionEmbeddings
	if ctx <= 0 {
		ctx = 4096
	}
	// Only Gemma's llama.cpp architectures have sliding windows; for the others, capping
	// the context at the smallest window makes the windows never apply, which is then
	// exactly mlxgo's attention.
	if !isGemma(c) {
		for _, w := range append([]int{c.SlidingWindow}, c.Arch.LayerWindows...) {
			if w > 0 && ctx > w {
				ctx = w
			}
		}
	}
	rotary := c.HeadDim
	if c.Arch.RotaryDims > 0 {
		rotary = c.Arch.RotaryDims
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
		{p + "rope.dimension_count", uint32(rotary)},
		{p + "rope.freq_base", float32(c.RopeTheta)},
		{p + "vocab_size", uint32(c.VocabSize)},
	}
	if c.RopeScaling.Kind() == "linear" {
		meta = append(meta, kv{p + "rope.scaling.type", "linear"}, kv{p + "rope.scaling.factor", float32(c.RopeScaling.Factor)})
	}
	if a.Params != nil {
		for _, e := range a.Params(m) {
			meta = append(meta, kv{p + e.key, e.value})
		}
	}
	return meta
}

// ropeTensors returns the RoPE factor tensors llama.cpp reads: Llama 3's per-frequency
// divisors (rope_freqs.weight) and Phi-3's longrope short and long factors.
func ropeTensors(c *lm.Config) []*tensorInfo {
	vec := func(name string, v []float32) *tensorInfo {
		return &tensorInfo{name: name, dims: []uint64{uint64(len(v))}, typ: F32,
			write: func(w io.Writer) error { return F32.encode(w, v) }}
	}
	f32s := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	switch c.RopeScaling.Kind() {
	case "llama3":
		return []*tensorInfo{vec("rope_freqs.weight", ropeFactors(c))}
	case "longrope":
		return []*tensorInfo{
			vec("rope_factors_long.weight", f32s(c.RopeScaling.LongFactor)),
			vec("rope_factors_short.weight", f32s(c.RopeScaling.ShortFactor)),
		}
	}
	return nil
}

// ropeFactors returns Llama 3's per-frequency RoPE divisors (the rope_freqs.weight tensor
// llama.cpp reads).
func ropeFactors(c *lm.Config) []float32 {
	rs := c.RopeScaling
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
