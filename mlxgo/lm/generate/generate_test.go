package generate_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

const fixture = "../testdata/hf-tiny-llama"

type greedyCase struct {
	Prompt     string `json:"prompt"`
	PromptIDs  []int  `json:"prompt_ids"`
	OutputIDs  []int  `json:"output_ids"`
	OutputText string `json:"output_text"`
}

func readCases(t *testing.T, path, key string) []greedyCase {
	data, err := os.ReadFile(filepath.Join(fixture, path))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string][]greedyCase
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func check(t *testing.T, model *lm.Model, tok *tokenizer.Tokenizer, cases []greedyCase) {
	for _, c := range cases {
		if ids := tok.Encode(c.Prompt, true); !equal(ids, c.PromptIDs) {
			t.Fatalf("%q encodes to %v, want %v", c.Prompt, ids, c.PromptIDs)
		}
		for _, noCache := range []bool{false, true} {
			got, _ := generate.Tokens(model, c.PromptIDs, generate.Options{MaxTokens: len(c.OutputIDs), IgnoreEOS: true, NoCache: noCache}, nil)
			if !equal(got, c.OutputIDs) {
				t.Fatalf("%q (no cache %v): generated %v, want %v", c.Prompt, noCache, got, c.OutputIDs)
			}
		}
		if text := tok.Decode(c.OutputIDs, false); text != c.OutputText {
			t.Fatalf("decoded %q, want %q", text, c.OutputText)
		}
	}
}

func TestGreedyMatchesTransformers(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		dir := filepath.Join(fixture, "model")
		model := lm.MustLoad(dir)
		tok, err := tokenizer.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, model, tok, readCases(t, "generate.json", "greedy"))
	})
}

func TestGreedyFusedMatchesTransformers(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		dir := filepath.Join(fixture, "model")
		model := lm.MustLoad(dir)
		model.Freeze()
		if err := lora.LoadAdapters(model, filepath.Join(fixture, "lora/adapter_final")); err != nil {
			t.Fatal(err)
		}
		tok, _ := tokenizer.Load(dir)
		cases := readCases(t, "lora/generate_fused.json", "greedy_fused")
		check(t, model, tok, cases) // with the adapter
		if err := lora.Fuse(model); err != nil {
			t.Fatal(err)
		}
		check(t, model, tok, cases) // fused
	})
}

func TestSamplingFilters(t *testing.T) {
	logits := []float32{5, 4, 1, 0, -3}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		if id := generate.Sample(logits, nil, generate.Options{Temp: 1, TopK: 2}, rng); id > 1 {
			t.Fatalf("top-k 2 sampled %d", id)
		}
		if id := generate.Sample(logits, nil, generate.Options{Temp: 1, MinP: 0.5}, rng); id > 1 {
			t.Fatalf("min-p 0.5 sampled %d", id)
		}
		if id := generate.Sample(logits, nil, generate.Options{Temp: 1, TopP: 0.5}, rng); id != 0 {
			t.Fatalf("top-p 0.5 sampled %d", id)
		}
	}
	if id := generate.Sample(logits, []int{0}, generate.Options{RepetitionPenalty: 10}, rng); id != 1 {
		t.Fatalf("repetition penalty kept token 0")
	}
	a := rand.New(rand.NewPCG(7, 0))
	b := rand.New(rand.NewPCG(7, 0))
	for i := 0; i < 50; i++ {
		if generate.Sample(logits, nil, generate.Options{Temp: 2}, a) != generate.Sample(logits, nil, generate.Options{Temp: 2}, b) {
			t.Fatal("same seed, different samples")
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
