package main_test

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

const tinyLlama = "../../lm/testdata/hf-tiny-llama"

// TestFuseBF16WritesBF16AndNothingOnFailure: fusing a PEFT adapter into a bf16 checkpoint
// succeeds and writes bf16 weights plus the PEFT export; an adapter that breaks the model
// fails verification and leaves neither the fused folder nor the PEFT export behind;
// --dtype float16 writes float16.
func TestFuseBF16WritesBF16AndNothingOnFailure(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	m := lm.MustLoad(filepath.Join(tinyLlama, "model"))
	if err := lm.SetDtype(m, mx.Bfloat16); err != nil {
		t.Fatal(err)
	}
	bf16 := filepath.Join(dir, "bf16")
	if err := lm.Save(m, bf16); err != nil {
		t.Fatal(err)
	}
	adapter := filepath.Join(tinyLlama, "lora/adapter_final")
	fused, peft := filepath.Join(dir, "fused"), filepath.Join(dir, "peft")
	mlxgo(t, bin, "fuse", "--model", bf16, "--adapter-path", adapter, "--save-path", fused, "--export-peft", peft)
	if dt := lm.MustWeights(fused)["model.layers.0.self_attn.q_proj.weight"].Dtype(); dt != mx.Bfloat16 {
		t.Fatalf("fused weights are %v, want bfloat16", dt)
	}
	if _, err := os.Stat(filepath.Join(peft, "adapter_model.safetensors")); err != nil {
		t.Fatal(err)
	}

	// A NaN factor: verification fails, nothing is written.
	w, _, err := mx.LoadSafetensors(filepath.Join(adapter, "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	k := "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
	w[k] = mx.Full(w[k].Shape(), math.NaN(), mx.Float32)
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	if err := mx.SaveSafetensors(filepath.Join(bad, "adapter_model.safetensors"), w, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(adapter, "adapter_config.json"))
	os.WriteFile(filepath.Join(bad, "adapter_config.json"), cfg, 0o644)
	fused2, peft2 := filepath.Join(dir, "fused2"), filepath.Join(dir, "peft2")
	out, err := exec.Command(bin, "fuse", "--model", bf16, "--adapter-path", bad, "--save-path", fused2, "--export-peft", peft2).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not saving") {
		t.Fatalf("fuse of a NaN adapter: %v\n%s", err, out)
	}
	for _, p := range []string{fused2, peft2} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s was written although verification failed", p)
		}
	}

	f16 := filepath.Join(dir, "f16")
	mlxgo(t, bin, "fuse", "--model", filepath.Join(tinyLlama, "model"), "--adapter-path", adapter, "--save-path", f16, "--dtype", "float16")
	if dt := lm.MustWeights(f16)["model.layers.1.mlp.up_proj.weight"].Dtype(); dt != mx.Float16 {
		t.Fatalf("--dtype float16 wrote %v", dt)
	}
	if c, _ := lm.LoadConfig(f16); c.Dtype != "float16" {
		t.Fatalf("config dtype %q", c.Dtype)
	}

	// --dtype on convert and generate.
	conv := filepath.Join(dir, "conv")
	mlxgo(t, bin, "convert", "--hf-path", filepath.Join(tinyLlama, "model"), "--mlx-path", conv, "--dtype", "bfloat16")
	if dt := lm.MustWeights(conv)["model.embed_tokens.weight"].Dtype(); dt != mx.Bfloat16 {
		t.Fatalf("convert --dtype bfloat16 wrote %v", dt)
	}
	a := mlxgo(t, bin, "generate", "--model", conv, "--prompt", "hello", "--max-tokens", "6", "--dtype", "float32")
	b := mlxgo(t, bin, "generate", "--model", filepath.Join(tinyLlama, "model"), "--prompt", "hello", "--max-tokens", "6", "--dtype", "bfloat16")
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		t.Fatalf("generate --dtype printed %q and %q", a, b)
	}
}
