package lora

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzAdapterConfig reads arbitrary adapter_config.json bytes as an mlx-lm
// and as a PEFT adapter config: never a panic, and a config that reads has a
// positive rank.
func FuzzAdapterConfig(f *testing.F) {
	for _, p := range []string{"adapter_final", "adapter_final_mlx", "adapter_init"} {
		if data, err := os.ReadFile(filepath.Join("..", "testdata", "hf-tiny-llama", "lora", p, "adapter_config.json")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"fine_tune_type": "dora", "num_layers": -1, "lora_parameters": {"rank": 8, "scale": 20.0, "dropout": 0.0, "keys": ["self_attn.q_proj"]}}`))
	f.Add([]byte(`{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], "layers_to_transform": [0, 1], "bias": "none"}`))
	f.Add([]byte(`{"r": 1000000000000, "lora_parameters": {"rank": 1000000000000}, "target_modules": "all-linear"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if c, err := ReadAdapterConfig(dir); err == nil && c.LoraParameters.Rank <= 0 {
			t.Fatalf("accepted rank %d", c.LoraParameters.Rank)
		}
		if c, err := ReadPEFTConfig(dir); err == nil && c.R <= 0 {
			t.Fatalf("accepted r %d", c.R)
		}
	})
}
