package gguf

import (
	"fmt"
	"math"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// This file holds what Gemma 2 and 3 and Phi-3 add to the Llama-family export.

func isGemma(c *lm.Config) bool { return c.Arch.Gemma }

// swaPattern returns llama.cpp's description of the layers' sliding windows: the one
// window size, and the period p such that layer i slides exactly when i mod p < p-1
// (llama.cpp's attention.sliding_window_pattern). An error names layer_types when the
// layers follow no such period or differ in window size.
func swaPattern(c *lm.Config) (window, period int, err error) {
	ws := c.Arch.LayerWindows
	n := c.NumHiddenLayers
	sliding := func(i int) bool { return ws != nil && ws[i] > 0 }
	for i := range n {
		if !sliding(i) {
			continue
		}
		if window == 0 {
			window = ws[i]
		} else if ws[i] != window {
			return 0, 0, fmt.Errorf("sliding_window: llama.cpp has one window size, layers use %d and %d", window, ws[i])
		}
	}
	for p := 1; p <= n+1; p++ {
		ok := true
		for i := range n {
			if (i%p < p-1) != sliding(i) {
				ok = false
				break
			}
		}
		if ok {
			return window, p, nil
		}
	}
	var kinds []string
	for i := range n {
		kinds = append(kinds, map[bool]string{true: "sliding", false: "full"}[sliding(i)])
	}
	return 0, 0, fmt.Errorf("layer_types [%s]: llama.cpp's %s needs full-attention layers at a fixed period (every p-th layer)", strings.Join(kinds, " "), c.ModelType)
}

func checkGemma(c *lm.Config) error {
	if err := checkNeoX(c); err != nil {
		return err
	}
	if k := c.RopeScaling.Kind(); k != "default" && k != "linear" {
		return fmt.Errorf("rope_scaling %q: llama.cpp's %s architecture reads linear scaling only", k, c.ModelType)
	}
	if err := checkBiasFree(c); err != nil {
		return err
	}
	if act := c.Arch.Activation; act != "gelu_pytorch_tanh" {
		return fmt.Errorf("hidden_activation %q: llama.cpp's %s architecture runs tanh-approximated GELU only", act, c.ModelType)
	}
	if !c.TieWordEmbeddings {
		return fmt.Errorf("tie_word_embeddings false: llama.cpp's %s reads no output matrix, it reuses the embeddings", c.ModelType)
	}
	window, _, err := swaPattern(c)
	if err != nil {
		return err
	}
	a := c.Arch
	if c.ModelType == "gemma2" {
		if window == 0 {
			return fmt.Errorf("layer_types: no sliding_attention layer, but llama.cpp's gemma2 needs at least one")
		}
		// llama.cpp's gemma2 always soft-caps, with defaults (50, 30) when the file has no value.
		if a.AttnSoftcap <= 0 {
			return fmt.Errorf("attn_logit_softcapping: unset, but llama.cpp's gemma2 always soft-caps attention scores")
		}
		if a.FinalSoftcap <= 0 {
			return fmt.Errorf("final_logit_softcapping: unset, but llama.cpp's gemma2 always soft-caps the logits")
		}
		return nil
	}
	if a.AttnSoftcap > 0 {
		return fmt.Errorf("attn_logit_softcapping %g: llama.cpp's gemma3 does not soft-cap attention scores", a.AttnSoftcap)
	}
	// With sliding layers llama.cpp's gemma3 never caps the logits; without, it always
	// does (30 when the file has no value).
	switch {
	case window > 0 && a.FinalSoftcap > 0:
		return fmt.Errorf("final_logit_softcapping %g: llama.cpp's gemma3 with sliding-window layers does not soft-cap the logits", a.FinalSoftcap)
	case window == 0 && a.FinalSoftcap == 0:
		return fmt.Errorf("layer_types: without sliding-window layers llama.cpp's gemma3 soft-caps the logits, and final_logit_softcapping is unset")
	}
	return nil
}

// gemmaParams returns Gemma's sliding-window layout, soft-capping and (Gemma 3) the
// RoPE base of sliding layers.
func gemmaParams(m *lm.Model) []kv {
	c := m.Config
	window, period, _ := swaPattern(c) // checked by checkGemma
	var out []kv
	if window > 0 {
		out = append(out, kv{"attention.sliding_window", uint32(window)}, kv{"attention.sliding_window_pattern", uint32(period)})
	}
	if a := c.Arch; a.AttnSoftcap > 0 {
		out = append(out, kv{"attn_logit_softcapping", float32(a.AttnSoftcap)})
	}
	if a := c.Arch; a.FinalSoftcap > 0 {
		out = append(out, kv{"final_logit_softcapping", float32(a.FinalSoftcap)})
	}
	if c.Arch.LocalRopeTheta > 0 {
		out = append(out, kv{"rope.freq_base_swa", float32(c.Arch.LocalRopeTheta)})
	}
	return out
}

// gemmaAdjust stores Gemma's norm weights w as the 1 + w they scale by, as llama.cpp's
// converter does, and folds query_pre_attn_scalar into the queries where llama.cpp's
// fixed attention scale differs from it.
func gemmaAdjust(c *lm.Config, name string, v []float32) []float32 {
	if strings.HasSuffix(name, "norm.weight") {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = x + 1
		}
		v = out
	}
	f := gemmaQueryScale(c)
	if f == 1 {
		return v
	}
	// Gemma 3 normalises each query head, so the factor goes into q_norm's scale; Gemma 2
	// multiplies the query projection, whose output RoPE rotates linearly.
	target := "self_attn.q_proj.weight"
	if c.Arch.QKNorm {
		target = "self_attn.q_norm.weight"
	}
	if !strings.HasSuffix(name, target) {
		return v
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * float32(f)
	}
	return out
}

// gemmaQueryScale is mlxgo's attention scale over llama.cpp's: llama.cpp scales queries by
// 1/sqrt(head_dim), or by 1/sqrt(hidden/heads) for the layer counts of the 27B models,
// whatever query_pre_attn_scalar says.
func gemmaQueryScale(c *lm.Config) float64 {
	ours := c.Arch.AttnScale
	if ours == 0 {
		ours = 1 / math.Sqrt(float64(c.HeadDim))
	}
	theirs := 1 / math.Sqrt(float64(c.HeadDim))
	if big := map[string]int{"gemma2": 46, "gemma3_text": 62}[c.ModelType]; c.NumHiddenLayers == big {
		theirs = 1 / math.Sqrt(float64(c.HiddenSize/c.NumAttentionHeads))
	}
	if math.Abs(ours/theirs-1) < 1e-9 {
		return 1
	}
	return ours / theirs
}

// phi3Params returns Phi-3's longrope settings: the context the short factors are for
// and the attention factor llama.cpp multiplies the rotated features by.
func phi3Params(m *lm.Model) []kv {
	c := m.Config
	if c.RopeScaling.Kind() != "longrope" {
		return nil
	}
	factor := 1.0
	if r, ok := m.Model.Layers[0].SelfAttn.RoPE.(*lm.LongRoPE); ok {
		factor = r.Factor
	}
	return []kv{
		{"rope.scaling.attn_factor", float32(factor)},
		{"rope.scaling.original_context_length", uint32(c.Arch.OriginalMaxPositions)},
	}
}
