package lm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// TestArchConfigRules: settings read from real Hub configs (Phi-3 mini's window on every
// layer, Gemma 3's defaults) and settings refused with the key named.
func TestArchConfigRules(t *testing.T) {
	base := `"vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":64`
	c, err := lm.ParseConfig([]byte(`{"model_type":"phi3",`+base+`,"sliding_window":2047}`), "p.json")
	if err != nil || !slices.Equal(c.Arch.LayerWindows, []int{2047, 2047}) || !c.Arch.Fused {
		t.Fatalf("phi3 sliding_window: %+v %v", c, err)
	}
	c, err = lm.ParseConfig([]byte(`{"model_type":"gemma3_text",`+base+`,"sliding_window":512,"query_pre_attn_scalar":256,"rope_theta":1000000}`), "g.json")
	if err != nil || !slices.Equal(c.Arch.LayerWindows, []int{512, 512}) || c.Arch.LocalRopeTheta != 10000 || c.RopeTheta != 1e6 ||
		c.Arch.Activation != "gelu_pytorch_tanh" || !c.Arch.QKNorm || !c.Arch.Gemma || c.Arch.AttnScale != 1.0/16 {
		t.Fatalf("gemma3 defaults: %+v %v", c.Arch, err)
	}
	if c, err := lm.ParseConfig([]byte(`{"model_type":"gemma2",`+base+`}`), "g.json"); err != nil || !slices.Equal(c.Arch.LayerWindows, []int{4096, 0}) {
		t.Fatalf("gemma2 default window: %v %v", c, err)
	}
	// mlx-community configs repeat "quantization" as "quantization_config".
	mq := `,"quantization":{"group_size":64,"bits":4},"quantization_config":{"group_size":64,"bits":4}`
	if c, err := lm.ParseConfig([]byte(`{"model_type":"qwen3",`+base+mq+`}`), "q.json"); err != nil || c.Quantization == nil || c.Quantization.Bits != 4 {
		t.Fatalf("mlx-lm quantization_config: %v", err)
	}
	for _, bad := range []struct{ cfg, want string }{
		{`{"model_type":"qwen2",` + base + `,"use_sliding_window":true,"max_window_layers":0}`, "sliding_window"},
		{`{"model_type":"gemma3_text",` + base + `,"sliding_window":4,"use_bidirectional_attention":true}`, "use_bidirectional_attention"},
		{`{"model_type":"llama",` + base + `,"hidden_act":"relu"}`, `hidden_act "relu"`},
		{`{"model_type":"llama",` + base + `,"attn_logit_softcapping":50}`, "attn_logit_softcapping"},
		{`{"model_type":"smollm3",` + base + `,"no_rope_layers":[1]}`, "no_rope_layers"},
		{`{"model_type":"phi3",` + base + `,"rope_scaling":{"type":"longrope","short_factor":[1],"long_factor":[1]},"original_max_position_embeddings":8}`, "short_factor"},
		{`{"model_type":"qwen3",` + base + `,"layer_types":["full_attention","chunked_attention"]}`, "layer_types[1]"},
	} {
		if _, err := lm.ParseConfig([]byte(bad.cfg), "x.json"); err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "x.json") {
			t.Fatalf("%s: error %v, want one naming %q", bad.cfg, err, bad.want)
		}
	}
}
