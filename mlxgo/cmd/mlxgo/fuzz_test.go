package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoraYAML runs `mlxgo lora -c config.yaml` with arbitrary YAML and no
// model: it must never panic, and must stop at the YAML or at the missing
// --model, before loading anything.
func FuzzLoraYAML(f *testing.F) {
	f.Add([]byte("batch_size: 4\niters: 10\nlearning_rate: 1e-5\nlora_parameters:\n  rank: 8\n  scale: 20.0\n  dropout: 0.0\n  keys: [self_attn.q_proj]\nlr_schedule:\n  name: cosine_decay\n  warmup: 10\n"))
	f.Add([]byte("lora_parameters:\n  keys: 5\n"))
	f.Add([]byte("lora_parameters: [1]\nlr_schedule: x\n"))
	f.Add([]byte("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"))
	f.Add([]byte("iters: 1e400\nseed: -1\nmask_prompt: maybe\n"))
	f.Fuzz(func(t *testing.T, yaml []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, yaml, 0o644); err != nil {
			t.Fatal(err)
		}
		err := runLora([]string{"-c", path, "--adapter-path", filepath.Join(t.TempDir(), "adapters")})
		if err == nil {
			t.Fatal("ran without a model")
		}
		if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "--model") && !strings.Contains(err.Error(), "config.json") {
			t.Fatalf("error %q names neither the YAML file nor the model", err)
		}
	})
}

// TestTokenizeEmptyText: an empty --text is input, not a missing flag.
func TestTokenizeEmptyText(t *testing.T) {
	if err := runTokenize([]string{"--model", "../../lm/testdata/hf-tiny-llama/model", "--text", ""}); err != nil {
		t.Fatalf("--text \"\": %v", err)
	}
	if err := runTokenize([]string{"--model", "../../lm/testdata/hf-tiny-llama/model"}); err == nil {
		t.Fatal("neither --text nor --file: no error")
	}
}
