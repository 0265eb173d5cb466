package lora_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestPEFTDoRAAdapter: a DoRA adapter saved by PEFT 0.21 (use_dora, magnitudes perturbed,
// block 1 only) gives PEFT's logits within 1e-4; exported again, it has PEFT's tensor
// names, use_dora and layers_to_transform, and re-imports bit for bit.
func TestPEFTDoRAAdapter(t *testing.T) {
	src := filepath.Join(fixture, "..", "peft-dora")
	ref, _, err := mx.LoadSafetensors(filepath.Join(src, "logits.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	m := loadModel(t)
	m.Freeze()
	if err := lora.LoadAdapters(m, src); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(m.Forward(ref["input_ids"], nil), ref["logits"]); d > 1e-4 {
		t.Fatalf("DoRA logits differ from PEFT's by %g", d)
	}
	out := t.TempDir()
	if err := lora.ExportPEFT(m, out, "org/tiny-llama"); err != nil {
		t.Fatal(err)
	}
	mine, _, _ := mx.LoadSafetensors(filepath.Join(out, "adapter_model.safetensors"))
	theirs, _, _ := mx.LoadSafetensors(filepath.Join(src, "adapter_model.safetensors"))
	for k, a := range theirs {
		if b, ok := mine[k]; !ok || string(a.Bytes()) != string(b.Bytes()) {
			t.Fatalf("export: tensor %s missing or changed", k)
		}
	}
	if len(mine) != len(theirs) {
		t.Fatalf("export has %d tensors, PEFT's %d", len(mine), len(theirs))
	}
	var cfg struct {
		UseDoRA bool  `json:"use_dora"`
		Layers  []int `json:"layers_to_transform"`
	}
	data, _ := os.ReadFile(filepath.Join(out, "adapter_config.json"))
	json.Unmarshal(data, &cfg)
	if !cfg.UseDoRA || !slices.Equal(cfg.Layers, []int{1}) {
		t.Fatalf("exported config %s", data)
	}
	if err := lora.FuseVerified(m, 1e-3); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(m.Forward(ref["input_ids"], nil), ref["logits"]); d > 1e-4 {
		t.Fatalf("fused DoRA logits differ from PEFT's by %g", d)
	}
}
