package lm

import (
	"encoding/json"
	"fmt"
	"math"
)

// ArchConfig is what Qwen3, Gemma 2, Gemma 3, Phi-3 and SmolLM3 add to the Llama
// decoder, read from config.json by ParseConfig. The zero value is Llama.
type ArchConfig struct {
	// QKNorm normalises queries and keys per head before RoPE (qwen3, gemma3_text).
	QKNorm bool
	// Gemma: RMSNorm scales by (1 + weight) (held in memory as 1 + weight, written back as
	// weight), feed-forward blocks are wrapped in pre/post norms, the attention output is
	// normalised before the residual, and embeddings are scaled by sqrt(hidden_size).
	Gemma bool
	// Activation of the gated MLP: "silu" or "gelu_pytorch_tanh".
	Activation string
	// AttnScale multiplies q·k (query_pre_attn_scalar^-1/2); 0: 1/sqrt(head_dim).
	AttnScale float64
	// AttnSoftcap and FinalSoftcap cap attention scores and logits with c·tanh(x/c); 0: off.
	AttnSoftcap, FinalSoftcap float64
	// LayerWindows is each layer's sliding window (0: full attention); nil: SlidingWindow
	// for every layer.
	LayerWindows []int
	// NoRope marks layers that use no rotary embedding (smollm3).
	NoRope []bool
	// RotaryDims is how many features of each head are rotated (partial_rotary_factor);
	// 0: all of them.
	RotaryDims int
	// Fused: the checkpoint stores q/k/v as one qkv_proj and gate/up as one gate_up_proj
	// (phi3).
	Fused bool
	// LocalRopeTheta is the RoPE base of sliding-window layers (gemma3_text); 0: RopeTheta.
	LocalRopeTheta float64
	// OriginalMaxPositions is the context length longrope's short factors are for.
	OriginalMaxPositions int
}

// archKeys are the config keys each architecture reads (so they are not refused).
var archKeys = map[string]map[string]bool{
	"gemma2": {"attn_logit_softcapping": true, "final_logit_softcapping": true, "query_pre_attn_scalar": true,
		"hidden_activation": true, "use_bidirectional_attention": true, "cache_implementation": true},
	"gemma3_text": {"attn_logit_softcapping": true, "final_logit_softcapping": true, "query_pre_attn_scalar": true,
		"hidden_activation": true, "use_bidirectional_attention": true, "cache_implementation": true,
		"_sliding_window_pattern": true, "sliding_window_pattern": true, "rope_local_base_freq": true},
	"phi3":    {"partial_rotary_factor": true, "original_max_position_embeddings": true, "embd_pdrop": true, "resid_pdrop": true},
	"smollm3": {"no_rope_layers": true, "no_rope_layer_interval": true},
}

// parseArch fills c.Arch from c.Raw, refusing settings it cannot honour.
func parseArch(c *Config, path string) error {
	a := &c.Arch
	raw := c.Raw
	num := func(k string) float64 { f, _ := raw[k].(float64); return f }
	gemma := c.ModelType == "gemma2" || c.ModelType == "gemma3_text"
	act := c.HiddenAct
	if s, ok := raw["hidden_activation"].(string); ok && s != "" {
		act = s
	}
	switch {
	case act == "" && gemma:
		act = "gelu_pytorch_tanh"
	case act == "":
		act = "silu"
	case act == "gelu_tanh":
		act = "gelu_pytorch_tanh"
	}
	if act != "silu" && act != "gelu_pytorch_tanh" {
		return fmt.Errorf("%s: hidden_act %q is not supported (silu, gelu_pytorch_tanh)", path, act)
	}
	a.Activation = act
	if err := parseLayerTypes(c, path); err != nil {
		return err
	}
	if c.RopeScaling.Kind() == "su" {
		c.RopeScaling.RopeType = "longrope"
	}
	switch c.ModelType {
	case "qwen3":
		a.QKNorm = true
	case "gemma2", "gemma3_text":
		a.Gemma, a.QKNorm = true, c.ModelType == "gemma3_text"
		if qs := num("query_pre_attn_scalar"); qs > 0 {
			a.AttnScale = 1 / math.Sqrt(qs)
		}
		a.AttnSoftcap, a.FinalSoftcap = num("attn_logit_softcapping"), num("final_logit_softcapping")
		if raw["use_bidirectional_attention"] == true {
			return fmt.Errorf("%s: use_bidirectional_attention is not supported (causal language models only)", path)
		}
		if c.ModelType == "gemma3_text" {
			if err := gemma3Rope(c, path); err != nil {
				return err
			}
		}
	case "phi3":
		a.Fused = true
		prf := num("partial_rotary_factor")
		if rp, ok := raw["rope_parameters"].(map[string]any); ok {
			if f, ok := rp["partial_rotary_factor"].(float64); ok {
				prf = f
			}
			if f, ok := rp["original_max_position_embeddings"].(float64); ok && num("original_max_position_embeddings") == 0 {
				a.OriginalMaxPositions = int(f)
			}
		}
		if prf > 0 && prf < 1 {
			a.RotaryDims = int(float64(c.HeadDim) * prf)
		}
		if n := num("original_max_position_embeddings"); n > 0 {
			a.OriginalMaxPositions = int(n)
		}
		if c.RopeScaling.Kind() == "longrope" {
			dims := c.HeadDim
			if a.RotaryDims > 0 {
				dims = a.RotaryDims
			}
			s := c.RopeScaling
			if len(s.ShortFactor) != dims/2 || len(s.LongFactor) != dims/2 {
				return fmt.Errorf("%s: longrope short_factor/long_factor have %d/%d entries, want %d (rotary dims / 2)", path, len(s.ShortFactor), len(s.LongFactor), dims/2)
			}
			if a.OriginalMaxPositions <= 0 {
				return fmt.Errorf("%s: longrope needs original_max_position_embeddings", path)
			}
		}
	case "smollm3":
		a.NoRope = make([]bool, c.NumHiddenLayers)
		if list, ok := raw["no_rope_layers"].([]any); ok {
			if len(list) != c.NumHiddenLayers {
				return fmt.Errorf("%s: no_rope_layers has %d entries for %d layers", path, len(list), c.NumHiddenLayers)
			}
			for i, v := range list {
				a.NoRope[i] = v == 0.0
			}
		} else {
			every := int(num("no_rope_layer_interval"))
			if every <= 0 {
				every = 4
			}
			for i := range a.NoRope {
				a.NoRope[i] = (i+1)%every == 0
			}
		}
	}
	return nil
}

// parseLayerTypes sets per-layer sliding windows from layer_types (transformers 5) or
// the older per-model rules (gemma2: even layers; gemma3: all but every sixth; qwen2/3
// with use_sliding_window: layers from max_window_layers on; phi3: all layers when
// sliding_window is set).
func parseLayerTypes(c *Config, path string) error {
	n := c.NumHiddenLayers
	var types []string
	if list, ok := c.Raw["layer_types"].([]any); ok {
		if len(list) != n {
			return fmt.Errorf("%s: layer_types has %d entries for %d layers", path, len(list), n)
		}
		for i, v := range list {
			s, _ := v.(string)
			if s != "full_attention" && s != "sliding_attention" {
				return fmt.Errorf("%s: layer_types[%d] = %v is not supported (full_attention, sliding_attention)", path, i, v)
			}
			types = append(types, s)
		}
	} else {
		types = make([]string, n)
		useSW, _ := c.Raw["use_sliding_window"].(bool)
		maxWin, hasMax := c.Raw["max_window_layers"].(float64)
		pattern := 6
		for _, k := range []string{"sliding_window_pattern", "_sliding_window_pattern"} {
			if f, ok := c.Raw[k].(float64); ok && f > 0 {
				pattern = int(f)
			}
		}
		for i := range types {
			sliding := false
			switch c.ModelType {
			case "gemma2":
				sliding = i%2 == 0
			case "gemma3_text":
				sliding = (i+1)%pattern != 0
			case "qwen2", "qwen3":
				sliding = useSW && (!hasMax || i >= int(maxWin))
			case "phi3": // Phi-3 mini 4k: every layer attends to the last sliding_window positions
				w, _ := c.Raw["sliding_window"].(float64)
				sliding = w > 0
			}
			types[i] = map[bool]string{true: "sliding_attention", false: "full_attention"}[sliding]
		}
	}
	if c.ModelType == "mistral" {
		return nil // Mistral's window applies to every layer (Config.SlidingWindow)
	}
	window, _ := c.Raw["sliding_window"].(float64)
	if _, set := c.Raw["sliding_window"]; !set && (c.ModelType == "gemma2" || c.ModelType == "gemma3_text") {
		window = 4096 // transformers' default for both
	}
	if u, ok := c.Raw["use_sliding_window"].(bool); ok && !u && (c.ModelType == "qwen2" || c.ModelType == "qwen3") {
		return nil // transformers ignores the window when use_sliding_window is false
	}
	for i, t := range types {
		if t != "sliding_attention" {
			continue
		}
		if window <= 0 {
			return fmt.Errorf("%s: layer %d is sliding_attention but sliding_window is %v", path, i, c.Raw["sliding_window"])
		}
		if c.Arch.LayerWindows == nil {
			c.Arch.LayerWindows = make([]int, n)
		}
		c.Arch.LayerWindows[i] = int(window)
	}
	return nil
}

// gemma3Rope reads Gemma 3's two RoPE settings: transformers 5 keys them by layer type
// under rope_parameters; transformers 4 has rope_theta / rope_scaling for global layers
// and rope_local_base_freq for sliding ones.
func gemma3Rope(c *Config, path string) error {
	c.Arch.LocalRopeTheta = 10000
	if f, ok := c.Raw["rope_local_base_freq"].(float64); ok && f > 0 {
		c.Arch.LocalRopeTheta = f
	}
	rp, ok := c.Raw["rope_parameters"].(map[string]any)
	if !ok {
		return nil
	}
	for typ, v := range rp {
		if typ != "full_attention" && typ != "sliding_attention" {
			continue
		}
		b, _ := json.Marshal(v)
		var rs RopeScaling
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: rope_parameters.%s: %w", path, typ, err)
		}
		if typ == "sliding_attention" {
			if rs.Kind() != "default" {
				return fmt.Errorf("%s: rope_parameters.sliding_attention type %q is not supported (default only)", path, rs.Kind())
			}
			if rs.RopeTheta > 0 {
				c.Arch.LocalRopeTheta = rs.RopeTheta
			}
			continue
		}
		if rs.RopeTheta > 0 {
			c.RopeTheta = rs.RopeTheta
		}
		c.RopeScaling = nil
		if rs.Kind() != "default" {
			c.RopeScaling = &rs
		}
	}
	return nil
}
