package pretrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Record is one line of an mlx-lm completions dataset.
type Record struct {
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
}

// question is one fact the fine-tuning task asks about, in several phrasings.
type question struct {
	prompts []string
	answer  string
}

// questions lists every fact of the world as a question with one canonical answer:
// colour, sound, home, legs and food of each animal and colour of each thing. Answers
// are the corpus's own sentences, so the base model knows every answer; what it lacks is
// the "Q: … A:" habit. (Questions about numbers are left out: a model this small does
// not learn to copy a number word it was not fine-tuned on.)
func questions() []question {
	var qs []question
	for _, a := range Animals {
		facts := a.Facts()
		qs = append(qs,
			question{[]string{"What colour is the " + a.Name + "?", "What colour is " + article(a.Name) + " " + a.Name + "?", "Which colour is the " + a.Name + "?"}, facts[0]},
			question{[]string{"What does the " + a.Name + " say?", "What sound does the " + a.Name + " make?", "What noise does " + article(a.Name) + " " + a.Name + " make?"}, facts[1]},
			question{[]string{"Where does the " + a.Name + " live?", "Where is the home of the " + a.Name + "?", "Where can you find the " + a.Name + "?"}, facts[2]},
			question{[]string{"How many legs does the " + a.Name + " have?", "How many legs has the " + a.Name + " got?", "How many legs does " + article(a.Name) + " " + a.Name + " have?"}, facts[3]},
			question{[]string{"What does the " + a.Name + " eat?", "What food does the " + a.Name + " like?", "What does the " + a.Name + " like to eat?"}, facts[4]},
		)
	}
	for _, t := range Things {
		qs = append(qs, question{[]string{"What colour is the " + t.Name + "?", "Which colour is the " + t.Name + "?"}, "The " + t.Name + " is " + t.Colour + "."})
	}
	return qs
}

// Prompt formats a question the way the dataset does: "Q: <question>\nA:".
func Prompt(q string) string { return "Q: " + q + "\nA:" }

// Dataset returns the fine-tuning task's train, valid and test splits: short questions
// about the tiny world answered in one sentence, e.g.
//
//	{"prompt": "Q: What colour is the frog?\nA:", "completion": " The frog is green."}
//
// Facts are split between the sets (about 70/15/15), so the valid and test questions ask
// about facts no training record states: a fine-tuned model answers them from what it
// learnt in pretraining. The same seed gives the same records.
func Dataset(seed uint64) (train, valid, test []Record) {
	r := newRNG(seed)
	qs := questions()
	shuffle(r, qs)
	nHeld := len(qs) * 15 / 100
	records := func(qs []question) []Record {
		var out []Record
		for _, q := range qs {
			for _, p := range q.prompts {
				out = append(out, Record{Prompt(p), " " + q.answer})
			}
		}
		shuffle(r, out)
		return out
	}
	test = records(qs[:nHeld])
	valid = records(qs[nHeld : 2*nHeld])
	train = records(qs[2*nHeld:])
	if len(test) > 40 {
		test = test[:40]
	}
	if len(valid) > 40 {
		valid = valid[:40]
	}
	return train, valid, test
}

// MarshalJSONL returns records as JSON lines.
func MarshalJSONL(records []Record) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, rec := range records {
		if err := enc.Encode(rec); err != nil {
			panic(err) // strings always encode
		}
	}
	return b.Bytes()
}

// WriteDataset writes train.jsonl, valid.jsonl and test.jsonl of Dataset(seed) to dir.
func WriteDataset(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	train, valid, test := Dataset(seed)
	for _, f := range []struct {
		name string
		recs []Record
	}{{"train.jsonl", train}, {"valid.jsonl", valid}, {"test.jsonl", test}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), MarshalJSONL(f.recs), 0o644); err != nil {
			return fmt.Errorf("pretrain: writing dataset: %w", err)
		}
	}
	return nil
}
