package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fixtureModel = "../../lm/testdata/hf-tiny-llama/model"

func TestTokenizeCommand(t *testing.T) {
	bin := buildCLI(t)
	out := mlxgo(t, bin, "tokenize", "--model", fixtureModel, "--text", "Hello world")
	var r struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// generate.json's prompt ids for "Hello world".
	want := []int{42, 71, 303, 81, 300, 278, 78, 70}
	if len(r.IDs) != len(want) || len(r.Tokens) != len(want) {
		t.Fatalf("ids %v tokens %v, want ids %v", r.IDs, r.Tokens, want)
	}
	for i := range want {
		if r.IDs[i] != want[i] {
			t.Fatalf("ids %v, want %v", r.IDs, want)
		}
	}
}

// TestUserErrorsNameTheCulprit: bad flags, files and config keys give messages naming them.
func TestUserErrorsNameTheCulprit(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	os.WriteFile(filepath.Join(data, "train.jsonl"), []byte("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n"), 0o644)
	os.WriteFile(filepath.Join(data, "valid.jsonl"), []byte("{\"text\": \"ok\"}\n"), 0o644)
	cfg := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(cfg, []byte("iters: 3\nlearning_rat: 0.1\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lora", "--model", fixtureModel, "--train", "--data", data, "--adapter-path", filepath.Join(dir, "a")}, "train.jsonl:2: malformed JSON"},
		{[]string{"lora", "--model", fixtureModel, "-c", cfg}, `unknown key "learning_rat"`},
		{[]string{"lora", "--model", filepath.Join(dir, "nope")}, "nope: no such folder"},
		{[]string{"generate", "--model", fixtureModel, "--adapter-path", dir, "--prompt", "x"}, "neither adapters.safetensors"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Fatalf("mlxgo %s: err %v, output %q lacks %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
}

// TestConfigFile: -c config.yaml sets options with mlx-lm's keys, and explicit flags win.
func TestConfigFile(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	var b strings.Builder
	for i := 0; i < 16; i++ {
		b.WriteString(`{"prompt": "a b", "completion": " c d"}` + "\n")
	}
	os.WriteFile(filepath.Join(data, "train.jsonl"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(data, "valid.jsonl"), []byte(b.String()), 0o644)
	cfg := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(cfg, []byte(`iters: 4
batch_size: 2
steps_per_report: 2
learning_rate: 1e-3
lora_parameters:
  rank: 2
  scale: 4.0
  keys: ["self_attn.q_proj"]
lr_schedule:
  name: cosine_decay
  warmup: 2
`), 0o644)
	ad := filepath.Join(dir, "ad")
	out := mlxgo(t, bin, "lora", "--model", fixtureModel, "--train", "--data", data, "-c", cfg, "--iters", "6", "--adapter-path", ad, "--steps-per-eval", "100")
	if !strings.Contains(out, "Iter 6: Train loss") || strings.Contains(out, "Iter 8:") {
		t.Fatalf("--iters 6 should override the file's 4:\n%s", out)
	}
	raw, err := os.ReadFile(filepath.Join(ad, "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ac map[string]any
	json.Unmarshal(raw, &ac)
	lp := ac["lora_parameters"].(map[string]any)
	if lp["rank"].(float64) != 2 || lp["scale"].(float64) != 4 || ac["batch_size"].(float64) != 2 {
		t.Fatalf("adapter_config.json does not record the config file's options: %s", raw)
	}
}
