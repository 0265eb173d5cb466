package lora_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
)

// TestPEFTExportNamesTheAdaptedLayers: an adapter on the last block only is exported with
// layers_to_transform, so PEFT does not add adapters to the other blocks; one on every
// block has none; base_model_name_or_path is what the caller gives (a Hub id).
func TestPEFTExportNamesTheAdaptedLayers(t *testing.T) {
	for _, tc := range []struct {
		numLayers int
		want      []int
	}{{1, []int{1}}, {2, nil}} {
		m := loadModel(t)
		m.Freeze()
		if _, err := lora.Apply(m, lora.Config{NumLayers: tc.numLayers, Rank: 4, Scale: 2}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := lora.ExportPEFT(m, dir, "org/tiny-llama"); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "adapter_config.json"))
		var cfg struct {
			LayersToTransform []int  `json:"layers_to_transform"`
			Base              string `json:"base_model_name_or_path"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.LayersToTransform, tc.want) || cfg.Base != "org/tiny-llama" {
			t.Fatalf("num_layers %d: layers_to_transform %v, base %q; want %v", tc.numLayers, cfg.LayersToTransform, cfg.Base, tc.want)
		}
		back := loadModel(t)
		if err := lora.LoadAdapters(back, dir); err != nil {
			t.Fatal(err)
		}
		if got := len(lora.Layers(back)); got != len(lora.Layers(m)) {
			t.Fatalf("re-imported %d LoRA layers, exported %d", got, len(lora.Layers(m)))
		}
	}
}
