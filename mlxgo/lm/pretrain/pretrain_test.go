package pretrain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

const fixtureTokenizer = "../testdata/hf-tiny-llama/model"

func TestCorpusIsDeterministic(t *testing.T) {
	a := CorpusText(Corpus(7, 50_000))
	b := CorpusText(Corpus(7, 50_000))
	if a != b {
		t.Fatal("same seed gave different corpora")
	}
	if c := CorpusText(Corpus(8, 50_000)); c == a {
		t.Fatal("different seeds gave the same corpus")
	}
	if len(a) < 50_000 || len(a) > 52_000 {
		t.Fatalf("corpus of %d bytes for a 50000-byte request", len(a))
	}
	for _, want := range []string{"Once upon a time", "The fox is red.", "<|im_start|>assistant\n", EndOfText} {
		if !strings.Contains(a, want) {
			t.Fatalf("corpus lacks %q", want)
		}
	}
}

func TestDatasetIsDeterministic(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	if err := WriteDataset(dir1, 3); err != nil {
		t.Fatal(err)
	}
	if err := WriteDataset(dir2, 3); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.jsonl", "valid.jsonl", "test.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(dir1, f))
		b, _ := os.ReadFile(filepath.Join(dir2, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs with the same seed (or is empty)", f)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(a), []byte("\n")) {
			var r Record
			if err := json.Unmarshal(line, &r); err != nil || !strings.HasPrefix(r.Prompt, "Q: ") || !strings.HasSuffix(r.Prompt, "\nA:") || !strings.HasPrefix(r.Completion, " ") {
				t.Fatalf("%s: bad record %s (%v)", f, line, err)
			}
		}
	}
	train, valid, test := Dataset(3)
	if len(train) < 200 || len(valid) < 30 || len(test) < 30 {
		t.Fatalf("split sizes %d/%d/%d", len(train), len(valid), len(test))
	}
	// Held-out facts: no valid or test answer appears in the training set.
	seen := map[string]bool{}
	for _, r := range train {
		seen[r.Completion] = true
	}
	for _, r := range append(valid, test...) {
		if seen[r.Completion] {
			t.Fatalf("held-out answer %q is also in the training set", r.Completion)
		}
	}
}

func TestShortPretrainingLowersLoss(t *testing.T) {
	tok, err := tokenizer.Load(fixtureTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	stream := Tokenize(func(s string) []int { return tok.Encode(s, false) }, Corpus(1, 30_000))
	cfg := ModelConfig{Vocab: 512, Hidden: 32, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 16, Intermediate: 64, MaxPositions: 128}
	m, err := NewModel(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := TrainConfig{Steps: 30, BatchSize: 4, SeqLen: 32, LR: 1e-2, MinLR: 1e-3, Warmup: 5, WeightDecay: 0.01, ClipNorm: 1, Seed: 1}
	res, err := Train(m, stream[:len(stream)-500], stream[len(stream)-500:], tc)
	if err != nil {
		t.Fatal(err)
	}
	first := (res.Losses[0] + res.Losses[1] + res.Losses[2]) / 3
	if !(res.FinalAvg < first-1) {
		t.Fatalf("loss went from %.3f to %.3f in 30 steps; expected a drop of more than 1", first, res.FinalAvg)
	}
	t.Logf("loss %.3f → %.3f, validation %.3f", first, res.FinalAvg, res.ValLoss)

	// The saved folder loads back with the same weights and the tokenizer files.
	dir := t.TempDir()
	if err := SaveFolder(m, dir, fixtureTokenizer); err != nil {
		t.Fatal(err)
	}
	re, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if nn.CountParams(re.Parameters()) != nn.CountParams(m.Parameters()) {
		t.Fatal("reloaded model has a different parameter count")
	}
	ids := tok.Encode("The fox is", false)
	a, b := Greedy(m, ids, 5), Greedy(re, ids, 5)
	if len(a) != len(ids)+5 || !equalInts(a, b) {
		t.Fatalf("greedy continuations differ after a save and load: %v vs %v", a, b)
	}
	rt, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if eos := rt.EOSIDs(); !containsInt(eos, EndOfTextID) || !containsInt(eos, ImEndID) {
		t.Fatalf("saved folder's eos ids %v lack <|endoftext|> or <|im_end|>", eos)
	}
}

func equalInts(a, b []int) bool {
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

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}
