package gguf

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

func TestQ8_0Blocks(t *testing.T) {
	v := make([]float32, 64)
	for i := range v {
		v[i] = float32(i-16) * 0.37
	}
	v[40] = 0 // a block may hold zeros
	b := quantizeQ8(v)
	if len(b) != 2*34 {
		t.Fatalf("%d bytes for 64 weights, want 68", len(b))
	}
	if int8(b[2]) != -127 && int8(b[2+31]) != 127 {
		t.Fatalf("the largest magnitude of a block must map to ±127: %d, %d", int8(b[2]), int8(b[2+31]))
	}
	back := dequantizeQ8(b)
	for blk := 0; blk < 2; blk++ {
		var amax float64
		for _, x := range v[blk*32 : blk*32+32] {
			amax = math.Max(amax, math.Abs(float64(x)))
		}
		step := amax / 127
		for i := blk * 32; i < blk*32+32; i++ {
			// half a step, plus the float16 rounding of the scale
			if d := math.Abs(float64(back[i] - v[i])); d > step/2+amax*1e-3 {
				t.Fatalf("weight %d: %g decoded as %g (step %g)", i, v[i], back[i], step)
			}
		}
	}
	if roundAway(2.5) != 3 || roundAway(-2.5) != -3 || roundAway(2.49) != 2 {
		t.Fatal("roundAway must round halves away from zero")
	}
}

func TestPermuteRows(t *testing.T) {
	// Two heads of four rows, two columns: within a head rows 0,1,2,3 (halves 0,1 | 2,3)
	// become 0,2,1,3.
	v := make([]float32, 16)
	for i := range v {
		v[i] = float32(i)
	}
	got := permuteRows(v, 2, 2)
	want := []float32{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15}
	if !slices.Equal(got, want) {
		t.Fatalf("permuted %v, want %v", got, want)
	}
}

func TestTensorNames(t *testing.T) {
	a := Archs["llama"]
	for hf, want := range map[string]string{
		"model.layers.12.self_attn.o_proj.weight": "blk.12.attn_output.weight",
		"model.layers.0.mlp.down_proj.weight":     "blk.0.ffn_down.weight",
		"model.embed_tokens.weight":               "token_embd.weight",
		"lm_head.weight":                          "output.weight",
	} {
		if got, ok := a.tensorName(hf); !ok || got != want {
			t.Errorf("%s -> %q, want %q", hf, got, want)
		}
	}
	if _, ok := a.tensorName("model.layers.0.self_attn.q_norm.weight"); ok {
		t.Error("an unknown tensor must not get a name")
	}
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"f32", "f16", "bf16", "q8_0"} {
		if ty, err := ParseType(s); err != nil || ty.String() != s {
			t.Errorf("%s: %v %v", s, ty, err)
		}
	}
	if _, err := ParseType("q4_k"); err == nil || !strings.Contains(err.Error(), "q4_k") {
		t.Errorf("q4_k: %v", err)
	}
}

// TestRefusals: what llama.cpp cannot represent is refused with an error naming it, and
// no file is left behind.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	spm := filepath.Join(dir, "spm")
	writeTokenizerVariant(t, spm, func(tj map[string]any) { tj["model"].(map[string]any)["byte_fallback"] = true })
	prefix := filepath.Join(dir, "prefix")
	writeTokenizerVariant(t, prefix, func(tj map[string]any) { tj["pre_tokenizer"].(map[string]any)["add_prefix_space"] = true })
	for _, c := range []struct {
		name, config, tokDir, want string
		mutate                     func(*lm.Config)
	}{
		{"unknown architecture", `{"model_type": "llama"}`, walkthroughModel, `model_type "gemma"`, func(c *lm.Config) { c.ModelType = "gemma" }},
		{"qwen2 with interleaved rope", `{"model_type": "qwen2", "rope_traditional": true}`, walkthroughModel, "rope_traditional", nil},
		{"llama with mlp bias", `{"model_type": "llama", "mlp_bias": true}`, walkthroughModel, "mlp_bias", nil},
		{"byte_fallback with a byte-level pre-tokenizer", `{"model_type": "llama"}`, spm, "pre_tokenizer", nil},
		{"prefix space", `{"model_type": "llama"}`, prefix, "add_prefix_space", nil},
		{"qwen3 with attention biases", `{"model_type": "qwen3", "attention_bias": true}`, walkthroughModel, "attention_bias", nil},
		{"smollm3 without rope in layer 1", `{"model_type": "smollm3", "no_rope_layers": [0]}`, walkthroughModel, "no_rope_layers", nil},
		{"phi3 with linear rope scaling", `{"model_type": "phi3", "rope_scaling": {"type": "linear", "factor": 2}}`, walkthroughModel, "rope_scaling", nil},
		{"gemma2 without attention soft-capping", `{"model_type": "gemma2", "tie_word_embeddings": true, "final_logit_softcapping": 30}`, walkthroughModel, "attn_logit_softcapping", nil},
		{"gemma2 without sliding layers", `{"model_type": "gemma2", "tie_word_embeddings": true, "attn_logit_softcapping": 50,
			"final_logit_softcapping": 30, "layer_types": ["full_attention"]}`, walkthroughModel, "layer_types", nil},
		{"gemma2 with an output matrix", `{"model_type": "gemma2", "attn_logit_softcapping": 50, "final_logit_softcapping": 30}`, walkthroughModel, "tie_word_embeddings", nil},
		{"gemma3 with full attention first", `{"model_type": "gemma3_text", "tie_word_embeddings": true, "num_hidden_layers": 3, "sliding_window": 8,
			"layer_types": ["full_attention", "sliding_attention", "sliding_attention"]}`, walkthroughModel, "layer_types", nil},
		{"gemma3 with attention soft-capping", `{"model_type": "gemma3_text", "tie_word_embeddings": true, "attn_logit_softcapping": 50}`, walkthroughModel, "attn_logit_softcapping", nil},
		{"gemma3 with logit soft-capping", `{"model_type": "gemma3_text", "tie_word_embeddings": true, "final_logit_softcapping": 30}`, walkthroughModel, "final_logit_softcapping", nil},
	} {
		var cfgJSON map[string]any
		_ = json.Unmarshal([]byte(c.config), &cfgJSON)
		base := map[string]any{"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 512}
		for k, v := range cfgJSON {
			base[k] = v
		}
		b, _ := json.Marshal(base)
		cfg, err := lm.ParseConfig(b, "config.json")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.mutate != nil {
			c.mutate(cfg)
		}
		err = Export(lm.New(cfg), out, Options{TokenizerDir: c.tokDir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("refused exports left files behind: %v", entries)
	}
}

// writeTokenizerVariant copies the walkthrough tokenizer into dir with tokenizer.json
// changed by edit.
func writeTokenizerVariant(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	writeTokenizerVariantOf(t, walkthroughModel, dir, edit)
}

// writeTokenizerVariantOf copies the tokenizer files of src into dir with tokenizer.json
// changed by edit.
func writeTokenizerVariantOf(t *testing.T, src, dir string, edit func(map[string]any)) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if os.IsNotExist(err) && f != "tokenizer.json" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if f == "tokenizer.json" {
			var tj map[string]any
			if err := json.Unmarshal(b, &tj); err != nil {
				t.Fatal(err)
			}
			edit(tj)
			b, _ = json.Marshal(tj)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModelfile(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteModelfile(filepath.Join(dir, DefaultFile), walkthroughModel)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	mf := string(b)
	for _, want := range []string{"FROM ./" + DefaultFile + "\n", `TEMPLATE """{{ range .Messages }}`, `<|im_start|>assistant` + "\n" + `"""`, `PARAMETER stop "<|im_end|>"`, `PARAMETER stop "<|endoftext|>"`} {
		if !strings.Contains(mf, want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, mf)
		}
	}
}

// TestOllamaTemplates translates the chat templates of the tokenizer tests: Zephyr
// translates (OllamaTemplate checks each translation against the Jinja rendering);
// Llama 2, which folds the system prompt into the first user turn, and Llama 3, which
// writes a default system header unless given one, are refused rather than translated
// wrongly.
func TestOllamaTemplates(t *testing.T) {
	tok, err := tokenizer.Load(walkthroughModel)
	if err != nil {
		t.Fatal(err)
	}
	for name, wantOK := range map[string]bool{"llama3": false, "zephyr": true, "llama2": false} {
		src, err := os.ReadFile(filepath.Join("../tokenizer/testdata/templates", name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		tok.SetChatTemplate(string(src))
		text, err := OllamaTemplate(tok)
		if (err == nil) != wantOK {
			t.Errorf("%s: translated %v, error %v", name, err == nil, err)
		}
		t.Logf("%s: %q %v", name, text, err)
	}
}

// TestSWAPattern: layer windows become llama.cpp's one window and period (layer i slides
// when i mod p < p-1), or an error naming layer_types.
func TestSWAPattern(t *testing.T) {
	for _, c := range []struct {
		windows        []int
		window, period int
		err            string
	}{
		{[]int{4, 0}, 4, 2, ""},
		{[]int{4, 4, 0, 4, 4, 0}, 4, 3, ""},
		{[]int{0, 0}, 0, 1, ""},
		{[]int{4, 4}, 4, 3, ""},
		{[]int{0, 4}, 0, 0, "layer_types [full sliding]"},
		{[]int{4, 8, 0}, 0, 0, "sliding_window"},
	} {
		cfg := &lm.Config{ModelType: "gemma3_text", NumHiddenLayers: len(c.windows)}
		cfg.Arch.LayerWindows = c.windows
		w, p, err := swaPattern(cfg)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one naming %q", c.windows, err, c.err)
		case c.err == "" && (err != nil || w != c.window || p != c.period):
			t.Errorf("%v: window %d period %d (%v), want %d %d", c.windows, w, p, err, c.window, c.period)
		}
	}
}
