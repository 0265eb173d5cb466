package gguf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

const (
	walkthroughModel = "../../../notebooks/models/tiny-story"
	walkthroughData  = "../../../notebooks/data"
	// walkthroughAdapter was trained with the walkthrough's settings: mlxgo lora --model
	// notebooks/models/tiny-story --train --data notebooks/data --iters 150 --batch-size 8
	// --learning-rate 1e-4 --num-layers 4 --rank 8 --scale 20 --mask-prompt --seed 1.
	walkthroughAdapter = "testdata/tiny-story-adapter"
	genTokens          = 24
)

// prompt is one test prompt: its text, mlxgo's ids for it, and what mlxgo generates.
type prompt struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
	N    int    `json:"n"`
	want []int
}

// llamaResult is what decode.mjs reports for one prompt.
type llamaResult struct {
	Tokenized  []int     `json:"tokenized"`
	Tokens     []int     `json:"tokens"`
	Confidence []float64 `json:"confidence"`
}

// run is one GGUF file and the prompts llama.cpp decodes with it.
type run struct {
	Model   string   `json:"model"`
	Prompts []prompt `json:"prompts"`
	// ContextSize is llama.cpp's context (0: 256).
	ContextSize int `json:"contextSize,omitempty"`
	// Exact runs llama.cpp with a float32 key/value cache and without flash attention
	// (whose CPU kernel rounds queries and keys to float16); false: llama.cpp's defaults.
	Exact bool `json:"exact,omitempty"`
}

// runLlamaCpp loads each run's file with llama.cpp and decodes its prompts greedily, in
// one node process (starting llama.cpp is the slow part).
func runLlamaCpp(t *testing.T, runs []run) [][]llamaResult {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH; llama.cpp runs through node-llama-cpp (make setup)")
	}
	if _, err := os.Stat("llamacpp/node_modules/node-llama-cpp"); err != nil {
		t.Fatal("node-llama-cpp is not installed: run `make setup` (npm ci in mlxgo/lm/gguf/llamacpp)")
	}
	req, _ := json.Marshal(map[string]any{"runs": runs})
	cmd := exec.Command("node", "decode.mjs")
	cmd.Dir = "llamacpp"
	cmd.Stdin = bytes.NewReader(req)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("llama.cpp (node decode.mjs): %v\n%s", err, msg)
	}
	var resp struct {
		LlamaCpp struct{ Repo, Release string } `json:"llamaCpp"`
		Runs     [][]llamaResult                `json:"runs"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode.mjs output: %v\n%s", err, out)
	}
	if len(resp.Runs) != len(runs) {
		t.Fatalf("llama.cpp answered %d of %d runs", len(resp.Runs), len(runs))
	}
	for i, r := range resp.Runs {
		if len(r) != len(runs[i].Prompts) {
			t.Fatalf("llama.cpp answered %d of %d prompts of %s", len(r), len(runs[i].Prompts), runs[i].Model)
		}
	}
	t.Logf("llama.cpp %s %s (node-llama-cpp)", resp.LlamaCpp.Repo, resp.LlamaCpp.Release)
	return resp.Runs
}

// fusedWalkthrough loads the walkthrough model with the walkthrough adapter fused in.
func fusedWalkthrough(t *testing.T) (*lm.Model, *tokenizer.Tokenizer) {
	t.Helper()
	m, err := lm.Load(walkthroughModel)
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze()
	if err := lora.LoadAdapters(m, walkthroughAdapter); err != nil {
		t.Fatal(err)
	}
	if err := lora.FuseVerified(m, 1e-3); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(walkthroughModel)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// walkthroughPrompts are the first test questions of the walkthrough data, a story
// opening and a chat-formatted request, with mlxgo's greedy continuation of each.
func walkthroughPrompts(t *testing.T, m *lm.Model, tok *tokenizer.Tokenizer) []prompt {
	t.Helper()
	f, err := os.Open(filepath.Join(walkthroughData, "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for len(texts) < 4 && sc.Scan() {
		var rec struct{ Prompt string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, rec.Prompt)
	}
	chat, err := tok.ApplyChatTemplate([]tokenizer.Message{{"role": "user", "content": "Tell me a story about a fox."}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, "Once upon a time, there was", chat)
	return greedyPrompts(m, tok, texts)
}

// greedyPrompts tokenizes each text as mlxgo generate does and decodes genTokens tokens
// greedily (not stopping at end-of-sequence tokens, as llama.cpp's loop does not).
func greedyPrompts(m *lm.Model, tok *tokenizer.Tokenizer, texts []string) []prompt {
	var ps []prompt
	for _, s := range texts {
		p := prompt{Text: s, IDs: tok.Encode(s, true), N: genTokens}
		p.want, _ = generate.Tokens(m, p.IDs, generate.Options{MaxTokens: genTokens, IgnoreEOS: true}, nil)
		ps = append(ps, p)
	}
	return ps
}

// randomConfigs are small configurations of the other architectures and settings, with
// the walkthrough tokenizer's 512 ids: qwen2 with its q/k/v biases and tied embeddings,
// mistral with a head size other than hidden/heads, a sliding window and linear RoPE
// scaling, llama with attention biases (permuted with their rows) and Llama 3 RoPE
// scaling (llama.cpp's rope_freqs tensor).
var randomConfigs = map[string]string{
	"qwen2": `{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-6,
		"rope_theta": 1000000, "tie_word_embeddings": true, "max_position_embeddings": 1024}`,
	"mistral": `{"model_type": "mistral", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32, "vocab_size": 512,
		"rms_norm_eps": 1e-5, "rope_theta": 10000, "sliding_window": 512, "max_position_embeddings": 2048,
		"rope_scaling": {"type": "linear", "factor": 2.0}}`,
	"llama3": `{"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-5,
		"rope_theta": 500000, "attention_bias": true, "max_position_embeddings": 1024,
		"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
			"original_max_position_embeddings": 64}}`,
}

// randomModel builds a randomly initialised model of arch (a key of randomConfigs or
// archConfigs), its output head scaled up so that greedy choices are clear-cut rather
// than near-ties; a tied embedding is scaled down so that the blocks, not the input
// token, decide the output, and the final norm is scaled up instead (Gemma's embeddings
// further, as Gemma multiplies them by sqrt(hidden_size)). Norm weights are drawn around their identity value, so that
// a norm stored wrongly (Gemma's 1 + w) changes the output.
func randomModel(t *testing.T, arch string) *lm.Model {
	t.Helper()
	src, ok := randomConfigs[arch]
	if !ok {
		src = archConfigs[arch]
	}
	return randomModelOf(t, arch, src)
}

// randomModelOf is randomModel for the configuration src.
func randomModelOf(t *testing.T, name, src string) *lm.Model {
	t.Helper()
	cfg, err := lm.ParseConfig([]byte(src), name+".json")
	if err != nil {
		t.Fatal(err)
	}
	mx.Seed(7)
	m := lm.New(cfg)
	if head, ok := m.LMHead.(*nn.Linear); ok {
		head.Weight = mx.Multiply(head.Weight, mx.Scalar(8))
	} else {
		e := m.Model.EmbedTokens.(*nn.Embedding)
		scale := 0.05
		if cfg.Arch.Gemma {
			scale = 0.02 // Gemma multiplies its input embeddings by sqrt(hidden_size)
		}
		e.Weight = mx.Multiply(e.Weight, mx.Scalar(scale))
	}
	params := tree.FlattenMap(m.Parameters())
	for _, name := range slices.Sorted(maps.Keys(params)) { // a fixed order: the same draws every run
		if p := params[name]; strings.HasSuffix(name, "norm.weight") {
			params[name] = mx.Add(p, mx.Normal(p.Shape(), 0, 0.2, p.Dtype(), nil))
			if m.LMHead == nil && name == "model.norm.weight" {
				// the tied, scaled-down embeddings give flat logits: sharpen them
				params[name] = mx.Add(params[name], mx.Scalar(30))
			}
		}
	}
	if err := nn.LoadWeights(m, params, true); err != nil {
		t.Fatal(err)
	}
	mx.Eval(m.Parameters())
	return m
}

// TestLlamaCpp is the proof that the exports run in llama.cpp itself. One node process
// loads every file:
//   - the fine-tuned walkthrough model (adapter fused) at f16: llama.cpp tokenizes the
//     test prompts to mlxgo's ids and decodes every prompt greedily to exactly mlxgo's
//     tokens;
//   - the same at q8_0, which must agree on the first tokens (see checkQ8);
//   - the walkthrough tokenizer rewritten with the llama-bpe and qwen2 pre-tokenizers,
//     which llama.cpp must split as mlxgo does;
//   - small random qwen2, mistral and llama models (randomConfigs) at f32, which must
//     decode exactly as mlxgo does, so each architecture's names, layouts and
//     hyper-parameters, and the RoPE scalings, are checked by llama.cpp too.
func TestLlamaCpp(t *testing.T) {
	dir := t.TempDir()
	m, tok := fusedWalkthrough(t)
	prompts := walkthroughPrompts(t, m, tok)
	f16, q8 := filepath.Join(dir, DefaultFile), filepath.Join(dir, "q8_0.gguf")
	for path, typ := range map[string]Type{f16: F16, q8: Q8_0} {
		if err := Export(m, path, Options{Type: typ, TokenizerDir: walkthroughModel}); err != nil {
			t.Fatal(err)
		}
	}
	runs := []run{{Model: f16, Prompts: prompts}, {Model: q8, Prompts: prompts}}
	others := map[string]*lm.Model{}
	for _, arch := range []string{"qwen2", "mistral", "llama3"} {
		rm := randomModel(t, arch)
		path := filepath.Join(dir, arch+".gguf")
		if err := Export(rm, path, Options{Type: F32, TokenizerDir: walkthroughModel}); err != nil {
			t.Fatal(err)
		}
		others[path] = rm
		runs = append(runs, run{Model: path, Prompts: greedyPrompts(rm, tok, []string{"The fox is", "Once upon a time"})})
	}
	// The walkthrough tokenizer with each pre-tokenizer llama.cpp knows by name: llama.cpp
	// must accept the name and split as mlxgo does.
	texts := []string{"Let us count: 12345 apples, it's 3.14!\n\n  Hello   world\tI'll GO", "The fox's den is  red.\r\nOK <|im_end|> 2024"}
	for pattern, name := range preTokenizers {
		if name == "gpt-2" {
			continue // the walkthrough tokenizer itself
		}
		tokDir := filepath.Join(dir, "pre-"+name)
		writeTokenizerVariant(t, tokDir, func(tj map[string]any) {
			tj["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
			}}
		})
		vtok, err := tokenizer.Load(tokDir)
		if err != nil {
			t.Fatal(err)
		}
		path := tokDir + ".gguf"
		if err := Export(m, path, Options{TokenizerDir: tokDir}); err != nil {
			t.Fatal(err)
		}
		var ps []prompt
		for _, s := range texts {
			ps = append(ps, prompt{Text: s, IDs: vtok.Encode(s, true), N: 1})
		}
		runs = append(runs, run{Model: path, Prompts: ps})
	}
	results := runLlamaCpp(t, runs)
	for i, r := range runs {
		if r.Model == q8 {
			checkQ8(t, m, tok, r.Prompts, results[i])
			continue
		}
		for j, p := range r.Prompts {
			got := results[i][j]
			if !slices.Equal(got.Tokenized, p.IDs) {
				t.Errorf("%s, prompt %q: llama.cpp tokenizes as %v, mlxgo as %v", filepath.Base(r.Model), p.Text, got.Tokenized, p.IDs)
			}
			if p.want == nil {
				continue // a tokenizer check
			}
			if !slices.Equal(got.Tokens, p.want) {
				t.Errorf("%s, prompt %q:\nllama.cpp %v %q\nmlxgo     %v %q", filepath.Base(r.Model), p.Text, got.Tokens, tok.Decode(got.Tokens, false), p.want, tok.Decode(p.want, false))
			} else {
				t.Logf("%s: %q -> %q", filepath.Base(r.Model), p.Text, tok.Decode(p.want, false))
			}
		}
	}
}

// chosenProbs returns, for each generated token, the probability mlxgo's model gives it
// (one forward pass over prompt and generation).
func chosenProbs(m *lm.Model, ids, gen []int) []float64 {
	seq := append(slices.Clone(ids), gen...)
	in := make([]int32, len(seq))
	for i, v := range seq {
		in[i] = int32(v)
	}
	probs := mx.Softmax(m.Forward(mx.FromSlice(in, 1, len(in)), nil), -1)
	v := probs.Float32s()
	V := m.Config.VocabSize
	out := make([]float64, len(gen))
	for i, g := range gen {
		pos := len(ids) - 1 + i
		out[i] = float64(v[pos*V+g])
	}
	return out
}

// checkQ8 compares llama.cpp's greedy decoding of the q8_0 export with mlxgo's. Eight-bit
// blocks move each weight by up to half a step (max|block|/254), so the logits move
// slightly and a near-tie can flip a later token: the first q8MinAgree tokens of every
// prompt must agree, and llama.cpp's probabilities of the agreed tokens must be within
// q8MaxProbDiff of mlxgo's.
func checkQ8(t *testing.T, m *lm.Model, tok *tokenizer.Tokenizer, prompts []prompt, results []llamaResult) {
	same, total, worst := 0, 0, 0.0
	for i, r := range results {
		p := prompts[i]
		n := 0
		for n < len(p.want) && n < len(r.Tokens) && p.want[n] == r.Tokens[n] {
			n++
		}
		same += n
		total += len(p.want)
		ref := chosenProbs(m, p.IDs, p.want[:n])
		for j := range n {
			worst = max(worst, math.Abs(ref[j]-r.Confidence[j]))
		}
		if n < q8MinAgree {
			t.Errorf("q8_0, prompt %q: only the first %d tokens agree (want at least %d)\nllama.cpp %q\nmlxgo     %q", p.Text, n, q8MinAgree, tok.Decode(r.Tokens, false), tok.Decode(p.want, false))
		}
	}
	t.Logf("q8_0: %d of %d greedy tokens equal mlxgo's (float32); largest difference in a chosen token's probability %.4f", same, total, worst)
	if worst > q8MaxProbDiff {
		t.Errorf("q8_0 probabilities differ from mlxgo's by up to %.4f (allowed %.2f)", worst, q8MaxProbDiff)
	}
}

const (
	q8MinAgree    = 8
	q8MaxProbDiff = 0.05
)

// archConfigs are small configurations of the architectures beyond the Llama family,
// with the walkthrough tokenizer's 512 ids, chosen so that each setting llama.cpp must
// reproduce changes the output: qwen3's q/k norms; smollm3's RoPE-free fourth layer
// (both with tied embeddings, as their small models have);
// phi3's fused projections, partial rotary and longrope (short factors within
// original_max_position_embeddings, long ones beyond: phi3-long); gemma2 and gemma3 with
// a sliding window of 4 on a layer period llama.cpp does not default to (3), a
// query_pre_attn_scalar other than head_dim, soft-capping (gemma2), and separate RoPE
// bases with linear scaling of the global layers (gemma3).
var archConfigs = map[string]string{
	"qwen3": `{"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512,
		"rms_norm_eps": 1e-6, "rope_theta": 1000000, "max_position_embeddings": 1024, "tie_word_embeddings": true}`,
	"smollm3": `{"model_type": "smollm3", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 4,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-6,
		"rope_theta": 2000000, "no_rope_layer_interval": 4, "max_position_embeddings": 1024, "tie_word_embeddings": true}`,
	"phi3": `{"model_type": "phi3", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-5,
		"rope_theta": 10000, "partial_rotary_factor": 0.75, "max_position_embeddings": 131072,
		"original_max_position_embeddings": 4096,
		"rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.2, 1.5, 2.0, 3.0, 4.0],
			"long_factor": [1.5, 3.0, 6.0, 9.0, 12.0, 16.0]}}`,
	"phi3-long": `{"model_type": "phi3", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "rms_norm_eps": 1e-5,
		"rope_theta": 10000, "partial_rotary_factor": 0.75, "max_position_embeddings": 256,
		"original_max_position_embeddings": 16,
		"rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.2, 1.5, 2.0, 3.0, 4.0],
			"long_factor": [1.5, 3.0, 6.0, 9.0, 12.0, 16.0]}}`,
	"gemma2": `{"model_type": "gemma2", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512,
		"rms_norm_eps": 1e-6, "rope_theta": 10000, "max_position_embeddings": 1024, "tie_word_embeddings": true,
		"hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 32, "attn_logit_softcapping": 10.0,
		"final_logit_softcapping": 15.0, "sliding_window": 4,
		"layer_types": ["sliding_attention", "sliding_attention", "full_attention"]}`,
	"gemma3": `{"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512,
		"rms_norm_eps": 1e-6, "max_position_embeddings": 1024, "tie_word_embeddings": true,
		"hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 32, "sliding_window": 4,
		"layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
		"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000},
			"sliding_attention": {"rope_type": "default", "rope_theta": 50}}}`,
}

// archPrompts are short and long prompts: the long ones reach past gemma's window of 4
// and phi3-long's original context of 16 positions.
var archPrompts = []string{
	"The fox is",
	"Once upon a time, there was a little fox who lived in a big forest near the river.",
}

// With a float32 cache and no flash attention, llama.cpp's probabilities of the chosen
// tokens are mlxgo's within float32 rounding (measured: at most 3e-6), except Gemma's:
// ggml's CPU GELU rounds its input to float16 and reads a table, which moves them by up
// to 1.3e-3 (measured over seeds 2, 3, 4 and 7).
const (
	archMaxProbDiff  = 1e-4
	gemmaMaxProbDiff = 5e-3
)

// TestLlamaCppArchs exports a small random model of every architecture in archConfigs
// at f32 and checks that llama.cpp decodes each prompt greedily to exactly mlxgo's
// tokens. phi3 decodes within its original context (llama.cpp's context of 256 is below
// original_max_position_embeddings, so both use the short factors); phi3-long's context
// of 256 is beyond its original 16 and only its long prompt is used, which mlxgo too
// processes with the long factors from the first position.
func TestLlamaCppArchs(t *testing.T) {
	dir := t.TempDir()
	tok, err := tokenizer.Load(walkthroughModel)
	if err != nil {
		t.Fatal(err)
	}
	var runs []run
	var models []*lm.Model
	for _, arch := range slices.Sorted(maps.Keys(archConfigs)) {
		m := randomModel(t, arch)
		models = append(models, m)
		path := filepath.Join(dir, arch+".gguf")
		if err := Export(m, path, Options{Type: F32, TokenizerDir: walkthroughModel}); err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		texts := archPrompts
		if arch == "phi3-long" {
			texts = archPrompts[1:]
		}
		runs = append(runs, run{Model: path, Prompts: greedyPrompts(m, tok, texts), Exact: true})
	}
	results := runLlamaCpp(t, runs)
	for i, r := range runs {
		checkExact(t, models[i], r, results[i])
	}
}

// spmTokenizer is the SentencePiece-style fixture (testdata/spm-tokenizer,
// make_tokenizer.py there): 634 ids laid out as Llama 2's, byte_fallback, the legacy
// Prepend + Replace normalizer.
const spmTokenizer = "testdata/spm-tokenizer"

// spmTexts exercise the SentencePiece tokenizer: merges (the made-up "purpllea" is
// split differently when llama.cpp joins in another order than Hugging Face's merge
// ranks, as with equal scores), newline and tab (byte fallback), letters outside the vocabulary (byte fallback of their UTF-8), runs of
// spaces, a leading space, and special tokens at the start and in the middle.
var spmTexts = []string{
	"Q: What colour is the carrot?\nA: The carrot is orange.",
	"The plumowl sigs: a purpllea bee?",
	"café 🦊  two  spaces\tand a tab",
	" leading space, trailing space ",
	"<s>Q: Where does the fox live?",
	"Hello</s> world",
}

// TestLlamaCppSPM exports the SentencePiece-style fixture as llama.cpp's "llama"
// tokenizer model and checks that llama.cpp tokenizes spmTexts to mlxgo's ids, in three
// spellings of the same tokenizer: the legacy normalizer (Llama 2, Mistral v0.1), a
// Metaspace pre-tokenizer (prepend_scheme "first", as transformers writes with
// legacy=false) and Gemma's (Replace only, no space in front). A small llama model with
// that vocabulary decodes two prompts greedily to exactly mlxgo's tokens.
//
// Measured difference: llama.cpp puts a "▁" in front of every stretch of text, at the
// start and after each special token, as SentencePiece itself and the legacy normalizer
// do. Metaspace with prepend_scheme "first" (Hugging Face, and mlxgo) adds one only at
// the start, and none when the text starts with a space: for it llama.cpp tokenizes
// text as mlxgo tokenizes spacedAfterSpecials(text), which TestLlamaCppSPM requires
// (it differs on " leading space...", "<s>Q: ..." and "Hello</s> world").
func TestLlamaCppSPM(t *testing.T) {
	dir := t.TempDir()
	variants := []struct {
		name string
		edit func(map[string]any)
	}{
		{"legacy", func(map[string]any) {}},
		{"metaspace", func(tj map[string]any) {
			tj["normalizer"] = nil
			tj["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
			tj["decoder"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
		}},
		{"gemma", func(tj map[string]any) {
			tj["normalizer"] = map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"}
		}},
	}
	cfg := `{"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 634, "rms_norm_eps": 1e-5,
		"rope_theta": 10000, "max_position_embeddings": 1024}`
	m := randomModelOf(t, "llama-spm", cfg)
	var runs []run
	var toks []*tokenizer.Tokenizer
	for _, v := range variants {
		tokDir := filepath.Join(dir, v.name)
		writeTokenizerVariantOf(t, spmTokenizer, tokDir, v.edit)
		tok, err := tokenizer.Load(tokDir)
		if err != nil {
			t.Fatal(err)
		}
		path := tokDir + ".gguf"
		if err := Export(m, path, Options{Type: F32, TokenizerDir: tokDir}); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		var ps []prompt
		for _, s := range spmTexts {
			ps = append(ps, prompt{Text: s, IDs: tok.Encode(s, true), N: 1})
		}
		if v.name == "legacy" {
			ps = append(ps, greedyPrompts(m, tok, []string{"Q: What does the pig eat?\nA:", "The fox lives in a den."})...)
		}
		runs = append(runs, run{Model: path, Prompts: ps, Exact: true})
		toks = append(toks, tok)
	}
	results := runLlamaCpp(t, runs)
	for i, r := range runs {
		name := variants[i].name
		for j, p := range r.Prompts {
			got := results[i][j]
			want := p.IDs
			if name == "metaspace" {
				want = toks[i].Encode(spacedAfterSpecials(p.Text), true)
			}
			if !slices.Equal(got.Tokenized, want) {
				t.Errorf("%s, %q: llama.cpp tokenizes as %v, mlxgo as %v (%q)", name, p.Text, got.Tokenized, want, pieces(toks[i], want))
			} else {
				t.Logf("%s, %q: %q", name, p.Text, pieces(toks[i], want))
			}
			if p.want != nil && !slices.Equal(got.Tokens, p.want) {
				t.Errorf("%s, prompt %q:\nllama.cpp %v\nmlxgo     %v", name, p.Text, got.Tokens, p.want)
			}
		}
	}
}

// pieces returns the token strings of ids.
func pieces(tok *tokenizer.Tokenizer, ids []int) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tok.IDToToken(id))
	}
	return out
}

// spacedAfterSpecials puts a space in front of every stretch of text between the
// fixture's special tokens, as llama.cpp's SentencePiece tokenizer does before writing
// spaces as "▁".
func spacedAfterSpecials(s string) string {
	var b strings.Builder
	for s != "" {
		i := len(s)
		for _, sp := range []string{"<s>", "</s>"} {
			if k := strings.Index(s, sp); k >= 0 && k < i {
				i = k
			}
		}
		if i > 0 {
			b.WriteString(" " + s[:i])
		}
		s = s[i:]
		for _, sp := range []string{"<s>", "</s>"} {
			if strings.HasPrefix(s, sp) {
				b.WriteString(sp)
				s = s[len(sp):]
			}
		}
	}
	return b.String()
}

// goldenArchs is where lm's architecture goldens are: tiny models that transformers made,
// which mlxgo reproduces (lm's TestArchGoldens).
const goldenArchs = "../testdata/archs"

// TestLlamaCppGoldens exports lm's transformers-made tiny models (96 ids, tokenized with
// the 96-id SentencePiece-style fixture) at f32 and checks that llama.cpp decodes them
// greedily to exactly mlxgo's tokens: gemma2 (soft-capping at 2, query_pre_attn_scalar 16
// for head_dim 8, window 4), gemma3, phi3 (longrope beyond its original 16 positions, so
// only a prompt longer than that, which both run on the long factors) and qwen3. smollm3's
// golden leaves RoPE out of layer 1, which llama.cpp cannot (it fixes every fourth layer),
// and must be refused naming no_rope_layers.
func TestLlamaCppGoldens(t *testing.T) {
	dir := t.TempDir()
	const tokDir = "testdata/spm-tokenizer-96"
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Q: What does the fox eat?\nA:",
		"Q: What colour is the bird?\nA: The bird is blue.\nQ: Where does the bear live?\nA:",
	}
	entries, err := os.ReadDir(goldenArchs)
	if err != nil {
		t.Fatal(err)
	}
	var runs []run
	var models []*lm.Model
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := lm.Load(filepath.Join(goldenArchs, e.Name(), "model"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, e.Name()+".gguf")
		err = Export(m, path, Options{Type: F32, TokenizerDir: tokDir})
		if e.Name() == "smollm3" {
			if err == nil || !strings.Contains(err.Error(), "no_rope_layers") {
				t.Errorf("smollm3 golden: error %v, want one naming no_rope_layers", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		r := run{Model: path, Prompts: greedyPrompts(m, tok, texts), Exact: true}
		if e.Name() == "phi3" {
			r.Prompts, r.ContextSize = r.Prompts[1:], 64
			if n := len(r.Prompts[0].IDs); n <= m.Config.Arch.OriginalMaxPositions {
				t.Fatalf("phi3's prompt has %d ids, not beyond original_max_position_embeddings", n)
			}
		}
		runs = append(runs, r)
		models = append(models, m)
	}
	results := runLlamaCpp(t, runs)
	for i, r := range runs {
		for j, p := range r.Prompts {
			if got := results[i][j].Tokenized; !slices.Equal(got, p.IDs) {
				t.Errorf("%s, %q: llama.cpp tokenizes as %v, mlxgo as %v", filepath.Base(r.Model), p.Text, got, p.IDs)
			}
		}
		checkExact(t, models[i], r, results[i])
	}
}

// checkExact requires llama.cpp's greedy tokens of an f32 export to be exactly mlxgo's
// and the probabilities it gives the chosen tokens to be mlxgo's within archMaxProbDiff
// (gemmaMaxProbDiff for Gemma).
func checkExact(t *testing.T, m *lm.Model, r run, results []llamaResult) {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(r.Model), ".gguf")
	worst := 0.0
	for j, p := range r.Prompts {
		got := results[j]
		n := 0
		for n < len(p.want) && n < len(got.Tokens) && p.want[n] == got.Tokens[n] {
			n++
		}
		ref := chosenProbs(m, p.IDs, p.want[:n])
		for k := range n {
			worst = max(worst, math.Abs(ref[k]-got.Confidence[k]))
		}
		if n < len(p.want) {
			t.Errorf("%s, prompt %q: %d of %d tokens agree\nllama.cpp %v\nmlxgo     %v", name, p.Text, n, len(p.want), got.Tokens, p.want)
		}
	}
	limit := archMaxProbDiff
	if m.Config.Arch.Gemma {
		limit = gemmaMaxProbDiff
	}
	t.Logf("%s: %d prompts × %d tokens; largest difference between llama.cpp's and mlxgo's probability of a chosen token %.2g (allowed %.0e)", name, len(r.Prompts), genTokens, worst, limit)
	if worst > limit {
		t.Errorf("%s: probabilities differ by up to %.2g (allowed %.0e)", name, worst, limit)
	}
}
