package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// archModel builds a randomly initialised model with the architecture of one of the lm
// goldens and the walkthrough model's tokenizer (vocab 512), saved as a Hugging Face folder.
func archModel(t *testing.T, arch string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../lm/testdata/archs", arch, "model/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(data, &raw)
	raw["vocab_size"] = 512.0
	data, _ = json.Marshal(raw)
	cfg, err := lm.ParseConfig(data, arch)
	if err != nil {
		t.Fatal(err)
	}
	m := lm.New(cfg)
	m.Dir = modelDir // the tokenizer files come from here
	dir := filepath.Join(t.TempDir(), arch)
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoraFuseGenerateNewArchitectures: on Gemma 3 and Phi-3 shaped models (q/k norms,
// sandwich norms, sliding windows, fused qkv_proj/gate_up_proj, longrope), `mlxgo lora`
// lowers the validation loss, `fuse --export-peft` writes a model and a PEFT adapter, and
// generating with the adapter, the fused model and the PEFT export gives the same text.
func TestLoraFuseGenerateNewArchitectures(t *testing.T) {
	bin := buildCLI(t)
	for _, arch := range []string{"gemma3", "phi3"} {
		model := archModel(t, arch)
		dir := t.TempDir()
		adapters := filepath.Join(dir, "adapters")
		out := mlxgo(t, bin, "lora", "--model", model, "--train", "--data", dataDir, "--iters", "30", "--batch-size", "4",
			"--learning-rate", "2e-3", "--num-layers", "-1", "--steps-per-report", "10", "--steps-per-eval", "30",
			"--val-batches", "4", "--adapter-path", adapters, "--seed", "1")
		val := parse(valRe, out)
		if len(val) < 2 || !(val[30] < val[1]-0.3) {
			t.Fatalf("%s: validation loss did not drop by 0.3: %v\n%s", arch, val, out)
		}
		t.Logf("%s: validation loss %.3f -> %.3f", arch, val[1], val[30])
		fused, peft := filepath.Join(dir, "fused"), filepath.Join(dir, "peft")
		mlxgo(t, bin, "fuse", "--model", model, "--adapter-path", adapters, "--save-path", fused, "--export-peft", peft)
		gen := func(args ...string) string {
			return mlxgo(t, bin, append([]string{"generate", "--prompt", firstTestPrompt(t), "--max-tokens", "12", "--no-chat-template"}, args...)...)
		}
		a, f, p := gen("--model", model, "--adapter-path", adapters), gen("--model", fused), gen("--model", model, "--adapter-path", peft)
		if strings.TrimSpace(a) == "" || a != f || a != p {
			t.Fatalf("%s: generations differ:\nadapter %q\nfused   %q\npeft    %q", arch, a, f, p)
		}
	}
}
