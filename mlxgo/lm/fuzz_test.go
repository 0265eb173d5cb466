package lm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig parses arbitrary config.json bytes: never a panic, and a
// config that parses has the sizes the model code relies on.
func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "hf-tiny-llama", "model", "config.json")); err == nil {
		f.Add(data)
	}
	for _, mt := range SupportedModelTypes {
		f.Add(fmt.Appendf(nil, `{"model_type": %q, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
			"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "rms_norm_eps": 1e-5,
			"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192},
			"sliding_window": 4096, "tie_word_embeddings": true, "quantization": {"bits": 4, "group_size": 64}}`, mt))
	}
	f.Add([]byte(`{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000000000000}`))
	f.Add([]byte(`{"model_type": "qwen2", "rope_parameters": {"rope_type": "linear", "factor": 2, "rope_theta": 1e6}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "config.json")
		if err != nil {
			return
		}
		if c.HiddenSize <= 0 || c.NumHiddenLayers <= 0 || c.NumAttentionHeads <= 0 || c.NumKeyValueHeads <= 0 || c.VocabSize <= 0 {
			t.Fatalf("accepted non-positive sizes: %+v", c)
		}
		if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
			t.Fatalf("accepted %d heads over %d kv heads", c.NumAttentionHeads, c.NumKeyValueHeads)
		}
	})
}
