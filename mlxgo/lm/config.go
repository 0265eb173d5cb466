package lm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Config is the subset of a Hugging Face config.json that decides a model's math.
type Config struct {
	ModelType             string        `json:"model_type"`
	HiddenSize            int           `json:"hidden_size"`
	IntermediateSize      int           `json:"intermediate_size"`
	NumHiddenLayers       int           `json:"num_hidden_layers"`
	NumAttentionHeads     int           `json:"num_attention_heads"`
	NumKeyValueHeads      int           `json:"num_key_value_heads"`
	HeadDim               int           `json:"head_dim"`
	VocabSize             int           `json:"vocab_size"`
	RMSNormEps            float64       `json:"rms_norm_eps"`
	RopeTheta             float64       `json:"rope_theta"`
	RopeScaling           *RopeScaling  `json:"rope_scaling"`
	RopeTraditional       bool          `json:"rope_traditional"`
	TieWordEmbeddings     bool          `json:"tie_word_embeddings"`
	AttentionBias         bool          `json:"attention_bias"`
	MLPBias               bool          `json:"mlp_bias"`
	HiddenAct             string        `json:"hidden_act"`
	MaxPositionEmbeddings int           `json:"max_position_embeddings"`
	Dtype                 string        `json:"dtype"`
	BOSTokenID            any           `json:"bos_token_id"`
	EOSTokenID            any           `json:"eos_token_id"`
	Quantization          *Quantization `json:"quantization"`
	SlidingWindow         int           `json:"-"` // 0: full causal attention
	// Arch holds what the architectures beyond Llama add (see archconfig.go).
	Arch ArchConfig     `json:"-"`
	Raw  map[string]any `json:"-"`
}

// RopeScaling is rope_scaling / rope_parameters.
type RopeScaling struct {
	Type                          string  `json:"type"`
	RopeType                      string  `json:"rope_type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings float64 `json:"original_max_position_embeddings"`
	RopeTheta                     float64 `json:"rope_theta"`
	// longrope (Phi-3): per-frequency divisors for short and long contexts.
	ShortFactor     []float64 `json:"short_factor"`
	LongFactor      []float64 `json:"long_factor"`
	AttentionFactor float64   `json:"attention_factor"`
}

// Kind returns the scaling type ("default", "linear", "llama3").
func (r *RopeScaling) Kind() string {
	if r == nil {
		return "default"
	}
	if r.RopeType != "" {
		return r.RopeType
	}
	if r.Type != "" {
		return r.Type
	}
	return "default"
}

// SupportedModelTypes lists the architectures Load accepts.
var SupportedModelTypes = []string{"llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "smollm3"}

// keys we read, or know do not change the forward pass.
var harmlessKeys = map[string]bool{
	"architectures": true, "attention_dropout": true, "bos_token_id": true, "eos_token_id": true,
	"pad_token_id": true, "initializer_range": true, "max_position_embeddings": true,
	"pretraining_tp": true, "transformers_version": true, "use_cache": true, "torch_dtype": true,
	"dtype": true, "_name_or_path": true, "max_window_layers": true, "use_sliding_window": true,
	"sliding_window": true, "model_type": true, "hidden_size": true, "intermediate_size": true,
	"num_hidden_layers": true, "num_attention_heads": true, "num_key_value_heads": true,
	"head_dim": true, "vocab_size": true, "rms_norm_eps": true, "rope_theta": true,
	"rope_scaling": true, "rope_parameters": true, "tie_word_embeddings": true, "attention_bias": true,
	"mlp_bias": true, "hidden_act": true, "rope_traditional": true, "generation_config": true,
	"layer_types": true, "output_attentions": true, "output_hidden_states": true, "return_dict": true,
	"id2label": true, "label2id": true, "tokenizer_class": true, "is_decoder": true, "task_specific_params": true,
	"use_return_dict": true, "chunk_size_feed_forward": true, "problem_type": true,
}

// LoadConfig reads dir/config.json in either the transformers 4 layout (rope_theta,
// rope_scaling, torch_dtype at top level) or the transformers 5 one (rope_parameters,
// dtype). Settings that would change the math and that mlxgo does not implement are
// refused with an error naming the key; unknown keys that do not are ignored.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// maxLayers bounds num_hidden_layers: the deepest real checkpoints have about 130 blocks.
const maxLayers = 10000

// ParseConfig parses config.json content; path is used in error messages.
func ParseConfig(data []byte, path string) (*Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(data, &c.Raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rp, ok := c.Raw["rope_parameters"]; ok && rp != nil {
		b, _ := json.Marshal(rp)
		var rs RopeScaling
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("%s: rope_parameters: %w", path, err)
		}
		if rs.RopeTheta != 0 {
			c.RopeTheta = rs.RopeTheta
		}
		if rs.Kind() != "default" {
			c.RopeScaling = &rs
		}
	}
	if c.Dtype == "" {
		if s, ok := c.Raw["torch_dtype"].(string); ok {
			c.Dtype = s
		}
	}
	if !slices.Contains(SupportedModelTypes, c.ModelType) {
		return nil, fmt.Errorf("%s: model_type %q is not supported (supported: %s)", path, c.ModelType, strings.Join(SupportedModelTypes, ", "))
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.ModelType == "qwen2" {
		c.AttentionBias = true
	}
	for _, req := range []struct {
		key string
		v   int
	}{{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"vocab_size", c.VocabSize}} {
		if req.v <= 0 {
			return nil, fmt.Errorf("%s: %s must be a positive integer", path, req.key)
		}
	}
	// Per-layer settings are parsed before any weight is read, so a small file declaring
	// an absurd depth must fail here rather than allocate for it.
	if c.NumHiddenLayers > maxLayers {
		return nil, fmt.Errorf("%s: num_hidden_layers %d is beyond any real model (at most %d)", path, c.NumHiddenLayers, maxLayers)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return nil, fmt.Errorf("%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if err := parseArch(&c, path); err != nil {
		return nil, err
	}
	switch k := c.RopeScaling.Kind(); {
	case k == "default", k == "linear", k == "llama3", k == "longrope" && c.ModelType == "phi3":
	default:
		return nil, fmt.Errorf("%s: rope scaling type %q is not supported (supported: default, linear, llama3; longrope for phi3)", path, k)
	}
	// Mistral limits attention to the last sliding_window positions; Qwen2 only when
	// use_sliding_window is set (and then only above max_window_layers, which mlxgo refuses).
	if w, ok := c.Raw["sliding_window"].(float64); ok && w > 0 {
		use := c.ModelType == "mistral"
		if u, ok := c.Raw["use_sliding_window"].(bool); ok {
			use = u
		}
		if use {
			if c.ModelType == "mistral" {
				c.SlidingWindow = int(w)
			}
		}
	}
	var unknown []string
	for k, v := range c.Raw {
		if harmlessKeys[k] || archKeys[c.ModelType][k] {
			continue
		}
		switch k {
		case "quantization":
			if c.Quantization == nil {
				return nil, fmt.Errorf("%s: quantization %v is not an object", path, v)
			}
			if err := c.Quantization.check(); err != nil {
				return nil, fmt.Errorf("%s: quantization %w", path, err)
			}
			continue
		case "quantization_config":
			// mlx-lm writes its "quantization" here too, for transformers' tools (read when
			// "quantization" is absent); only a quant_method (bitsandbytes, GPTQ, AWQ...) is
			// a format mlxgo cannot read.
			if q, ok := v.(map[string]any); ok && q["quant_method"] == nil {
				if _, both := c.Raw["quantization"]; both {
					continue
				}
				b, _ := json.Marshal(q)
				c.Quantization = &Quantization{}
				if err := json.Unmarshal(b, c.Quantization); err != nil {
					return nil, fmt.Errorf("%s: quantization_config: %w", path, err)
				}
				if err := c.Quantization.check(); err != nil {
					return nil, fmt.Errorf("%s: quantization_config %w", path, err)
				}
				continue
			}
			return nil, fmt.Errorf("%s: quantization_config (%v) is a transformers quantization format mlxgo cannot read; convert the model with mlx-lm or quantize a float model with lm.Quantize", path, v)
		case "partial_rotary_factor":
			if f, ok := v.(float64); ok && f == 1 {
				continue
			}
			return nil, fmt.Errorf("%s: partial_rotary_factor %v changes the math and is not supported", path, v)
		case "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar", "residual_multiplier",
			"embedding_multiplier", "logits_scaling", "attention_multiplier", "qk_layernorm", "use_qk_norm":
			if v == nil || v == false {
				continue
			}
			return nil, fmt.Errorf("%s: %s changes the math and is not supported", path, k)
		}
		unknown = append(unknown, k)
	}
	sort.Strings(unknown)
	c.Raw["_ignored_keys"] = unknown
	return &c, nil
}

// EOSIDs returns eos_token_id as a list.
func (c *Config) EOSIDs() []int { return idList(c.EOSTokenID) }

// BOSIDs returns bos_token_id as a list (empty when the config has none).
func (c *Config) BOSIDs() []int { return idList(c.BOSTokenID) }

func idList(v any) []int {
	switch x := v.(type) {
	case float64:
		return []int{int(x)}
	case []any:
		var out []int
		for _, e := range x {
			if f, ok := e.(float64); ok {
				out = append(out, int(f))
			}
		}
		return out
	}
	return nil
}
