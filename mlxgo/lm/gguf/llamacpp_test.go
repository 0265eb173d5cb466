package gguf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
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

// randomModel builds a randomly initialised model of arch, its output head scaled up so
// that greedy choices are clear-cut rather than near-ties; a tied embedding is scaled
// down so that the blocks, not the input token, decide the output.
func randomModel(t *testing.T, arch string) *lm.Model {
	t.Helper()
	cfg, err := lm.ParseConfig([]byte(randomConfigs[arch]), arch+".json")
	if err != nil {
		t.Fatal(err)
	}
	mx.Seed(7)
	m := lm.New(cfg)
	if head, ok := m.LMHead.(*nn.Linear); ok {
		head.Weight = mx.Multiply(head.Weight, mx.Scalar(8))
	} else {
		e := m.Model.EmbedTokens.(*nn.Embedding)
		e.Weight = mx.Multiply(e.Weight, mx.Scalar(0.05))
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
	runs := []run{{f16, prompts}, {q8, prompts}}
	others := map[string]*lm.Model{}
	for _, arch := range []string{"qwen2", "mistral", "llama3"} {
		rm := randomModel(t, arch)
		path := filepath.Join(dir, arch+".gguf")
		if err := Export(rm, path, Options{Type: F32, TokenizerDir: walkthroughModel}); err != nil {
			t.Fatal(err)
		}
		others[path] = rm
		runs = append(runs, run{path, greedyPrompts(rm, tok, []string{"The fox is", "Once upon a time"})})
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
		runs = append(runs, run{path, ps})
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
