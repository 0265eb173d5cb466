// Package data reads fine-tuning datasets in mlx-lm's format — a folder with
// train.jsonl, valid.jsonl and test.jsonl whose records are {"text"},
// {"prompt","completion"} or {"messages"} — tokenizes them with the loss mask each needs,
// and batches them with length bucketing.
package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Options choose how records become tokens.
type Options struct {
	MaxSeqLength    int    // truncate longer examples (default 2048)
	MaskPrompt      bool   // loss only on completions / assistant turns
	UseChatTemplate bool   // render prompt/completion through the chat template
	TextField       string // default "text"
	PromptField     string // default "prompt"
	CompletionField string // default "completion"
	MessagesField   string // default "messages"
}

func (o Options) withDefaults() Options {
	if o.MaxSeqLength == 0 {
		o.MaxSeqLength = 2048
	}
	if o.TextField == "" {
		o.TextField = "text"
	}
	if o.PromptField == "" {
		o.PromptField = "prompt"
	}
	if o.CompletionField == "" {
		o.CompletionField = "completion"
	}
	if o.MessagesField == "" {
		o.MessagesField = "messages"
	}
	return o
}

// Example is one tokenized record: Loss[i] says whether predicting Tokens[i] counts.
type Example struct {
	Tokens []int
	Loss   []bool
}

// Dataset is a tokenized split.
type Dataset struct {
	Path      string
	Examples  []Example
	Truncated int // records cut to MaxSeqLength
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return len(d.Examples) }

// LoadSplit reads dir/<split>.jsonl. Errors name the file and line; an empty file or a
// record without a known field is an error, never silently skipped.
func LoadSplit(dir, split string, tok *tokenizer.Tokenizer, opts Options) (*Dataset, error) {
	opts = opts.withDefaults()
	path := filepath.Join(dir, split+".jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ds := &Dataset{Path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		raw := strings.TrimSpace(sc.Text())
		if raw == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: malformed JSON: %v", path, line, err)
		}
		ex, err := encodeRecord(rec, tok, opts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if len(ex.Tokens) > opts.MaxSeqLength {
			ex.Tokens, ex.Loss = ex.Tokens[:opts.MaxSeqLength], ex.Loss[:opts.MaxSeqLength]
			ds.Truncated++
		}
		if countTrue(ex.Loss) == 0 {
			return nil, fmt.Errorf("%s:%d: the record has no tokens to learn from (after masking and truncation to %d)", path, line, opts.MaxSeqLength)
		}
		ds.Examples = append(ds.Examples, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", path, line+1, err)
	}
	if len(ds.Examples) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	if ds.Truncated > 0 {
		fmt.Fprintf(os.Stderr, "[WARNING] %s: %d of %d records are longer than max_seq_length %d and were truncated.\n", path, ds.Truncated, len(ds.Examples), opts.MaxSeqLength)
	}
	return ds, nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func str(rec map[string]any, k string) (string, bool) {
	v, ok := rec[k]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func encodeRecord(rec map[string]any, tok *tokenizer.Tokenizer, o Options) (Example, error) {
	if msgs, ok := rec[o.MessagesField]; ok {
		list, ok := msgs.([]any)
		if !ok || len(list) == 0 {
			return Example{}, fmt.Errorf("%q must be a non-empty list of messages", o.MessagesField)
		}
		var ms []tokenizer.Message
		for i, m := range list {
			mm, ok := m.(map[string]any)
			if !ok {
				return Example{}, fmt.Errorf("%s[%d] is not an object", o.MessagesField, i)
			}
			if _, ok := mm["role"].(string); !ok {
				return Example{}, fmt.Errorf("%s[%d] has no \"role\"", o.MessagesField, i)
			}
			ms = append(ms, tokenizer.Message(mm))
		}
		var tools []map[string]any
		if t, ok := rec["tools"].([]any); ok {
			for _, x := range t {
				if m, ok := x.(map[string]any); ok {
					tools = append(tools, m)
				}
			}
		}
		return encodeChat(ms, tools, tok, o)
	}
	if p, ok := str(rec, o.PromptField); ok {
		c, ok := str(rec, o.CompletionField)
		if !ok {
			return Example{}, fmt.Errorf("record has %q but no string %q", o.PromptField, o.CompletionField)
		}
		if o.UseChatTemplate && tok.HasChatTemplate() {
			return encodeChat([]tokenizer.Message{{"role": "user", "content": p}, {"role": "assistant", "content": c}}, nil, tok, o)
		}
		pt := tok.Encode(p, true)
		all := tok.Encode(p+c, true)
		all = appendEOS(all, tok)
		return masked(all, len(pt), o.MaskPrompt), nil
	}
	if t, ok := str(rec, o.TextField); ok {
		ids := appendEOS(tok.Encode(t, true), tok)
		return masked(ids, 0, false), nil
	}
	var keys []string
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return Example{}, fmt.Errorf("record has none of %q, %q/%q, %q (keys: %s)", o.TextField, o.PromptField, o.CompletionField, o.MessagesField, strings.Join(keys, ", "))
}

func appendEOS(ids []int, tok *tokenizer.Tokenizer) []int {
	if e := tok.EOSIDs(); len(e) > 0 && (len(ids) == 0 || ids[len(ids)-1] != e[0]) {
		ids = append(ids, e[0])
	}
	return ids
}

// masked marks tokens from offset on as trained (all when mask is false). Token 0 is
// never a target.
func masked(ids []int, offset int, mask bool) Example {
	loss := make([]bool, len(ids))
	for i := 1; i < len(ids); i++ {
		loss[i] = !mask || i >= offset
	}
	return Example{Tokens: ids, Loss: loss}
}

// encodeChat renders messages with the chat template; with MaskPrompt, only assistant
// turns (each of them, without the role header) carry loss.
func encodeChat(ms []tokenizer.Message, tools []map[string]any, tok *tokenizer.Tokenizer, o Options) (Example, error) {
	full, err := tok.ApplyChatTemplate(ms, tokenizer.ChatOptions{Tools: tools})
	if err != nil {
		return Example{}, err
	}
	ids := tok.Encode(full, false)
	ex := masked(ids, 0, false)
	if !o.MaskPrompt {
		return ex, nil
	}
	for i := range ex.Loss {
		ex.Loss[i] = false
	}
	for i, m := range ms {
		if m["role"] != "assistant" {
			continue
		}
		before, err := tok.ApplyChatTemplate(ms[:i], tokenizer.ChatOptions{Tools: tools, AddGenerationPrompt: true})
		if err != nil {
			return Example{}, err
		}
		after, err := tok.ApplyChatTemplate(ms[:i+1], tokenizer.ChatOptions{Tools: tools})
		if err != nil {
			return Example{}, err
		}
		lo, hi := len(tok.Encode(before, false)), len(tok.Encode(after, false))
		for j := max(lo, 1); j < hi && j < len(ex.Loss); j++ {
			ex.Loss[j] = true
		}
	}
	return ex, nil
}

// Batch is a padded batch: Inputs and Targets (B, L) int32 and Mask (B, L) float32 with
// 1 where a target counts. Tokens is the number of counted targets.
type Batch struct {
	Inputs, Targets, Mask *mx.Array
	Tokens                int
}

// Order returns the batches of one epoch as lists of example indices: examples are
// sorted by length within windows of 16 batches (so a batch holds similar lengths) and
// the batches are shuffled with seed and epoch. Incomplete final batches are dropped.
func Order(ds *Dataset, batchSize int, seed uint64, epoch int) [][]int {
	checkBatchSize(batchSize)
	n := ds.Len()
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)))
	idx := rng.Perm(n)
	window := batchSize * 16
	for s := 0; s < n; s += window {
		w := idx[s:min(s+window, n)]
		sort.SliceStable(w, func(i, j int) bool { return len(ds.Examples[w[i]].Tokens) < len(ds.Examples[w[j]].Tokens) })
	}
	var batches [][]int
	for s := 0; s+batchSize <= n; s += batchSize {
		batches = append(batches, idx[s:s+batchSize])
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	return batches
}

// Make builds a padded batch from example indices. Sequences are padded to a multiple of
// 8 of the longest; the mask covers exactly the real targets (no extra padded position).
func Make(ds *Dataset, idx []int, padID int) Batch {
	longest := 0
	for _, i := range idx {
		longest = max(longest, len(ds.Examples[i].Tokens)-1)
	}
	L := (longest + 7) / 8 * 8
	B := len(idx)
	in := make([]int32, B*L)
	tg := make([]int32, B*L)
	mk := make([]float32, B*L)
	count := 0
	for b, i := range idx {
		ex := ds.Examples[i]
		for j := range in[b*L : (b+1)*L] {
			in[b*L+j], tg[b*L+j] = int32(padID), int32(padID)
		}
		for t := 0; t+1 < len(ex.Tokens); t++ {
			in[b*L+t] = int32(ex.Tokens[t])
			tg[b*L+t] = int32(ex.Tokens[t+1])
			if ex.Loss[t+1] {
				mk[b*L+t] = 1
				count++
			}
		}
	}
	return Batch{mx.FromSlice(in, B, L), mx.FromSlice(tg, B, L), mx.FromSlice(mk, B, L), count}
}

// PaddingStats returns the padded positions of one epoch with bucketing and without it
// (the same shuffle, unsorted), to show what bucketing saves.
func PaddingStats(ds *Dataset, batchSize int, seed uint64) (bucketed, unsorted int) {
	checkBatchSize(batchSize)
	pad := func(batches [][]int) int {
		total := 0
		for _, b := range batches {
			longest, real := 0, 0
			for _, i := range b {
				l := len(ds.Examples[i].Tokens) - 1
				longest = max(longest, l)
				real += l
			}
			total += (longest+7)/8*8*len(b) - real
		}
		return total
	}
	// The same shuffle without the sort within windows.
	idx := rand.New(rand.NewPCG(seed, 0)).Perm(ds.Len())
	var plain [][]int
	for s := 0; s+batchSize <= ds.Len(); s += batchSize {
		plain = append(plain, idx[s:s+batchSize])
	}
	return pad(Order(ds, batchSize, seed, 0)), pad(plain)
}

// checkBatchSize panics on a batch size that would make Order and PaddingStats loop
// forever (0) or index out of range (negative).
func checkBatchSize(batchSize int) {
	if batchSize <= 0 {
		panic(fmt.Sprintf("data: batch size %d must be positive", batchSize))
	}
}
