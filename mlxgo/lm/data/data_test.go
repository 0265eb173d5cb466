package data_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

const fixture = "../testdata/hf-tiny-llama/model"

func loadTok(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.HasChatTemplate() {
		t.Fatal("the fixture tokenizer has no chat template")
	}
	return tok
}

// writeSplit writes dir/<split>.jsonl with one JSON record per line (strings are
// written as they are, for malformed input).
func writeSplit(t *testing.T, dir, split string, lines ...any) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		if s, ok := l.(string); ok {
			b.WriteString(s)
		} else {
			j, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, split+".jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, tok *tokenizer.Tokenizer, opts data.Options, lines ...any) *data.Dataset {
	t.Helper()
	dir := t.TempDir()
	writeSplit(t, dir, "train", lines...)
	ds, err := data.LoadSplit(dir, "train", tok, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

type rec = map[string]any

func msg(role, content string) rec { return rec{"role": role, "content": content} }

// lossSpans decodes each maximal run of loss positions.
func lossSpans(tok *tokenizer.Tokenizer, ex data.Example) []string {
	var spans []string
	for i := 0; i < len(ex.Tokens); {
		if !ex.Loss[i] {
			i++
			continue
		}
		j := i
		for j < len(ex.Tokens) && ex.Loss[j] {
			j++
		}
		spans = append(spans, tok.Decode(ex.Tokens[i:j], false))
		i = j
	}
	return spans
}

func TestEncodeRecords(t *testing.T) {
	tok := loadTok(t)
	eos := tok.EOSIDs()[0]
	eosText := tok.IDToToken(eos)
	if eosText != "<|im_end|>" {
		t.Fatalf("fixture EOS is %q", eosText)
	}
	prompt, completion := "What is 2+2?", " The answer is 4."
	chat := []any{
		msg("system", "Be brief."), msg("user", "Hi there"), msg("assistant", "Hello friend"),
		msg("user", "What is two plus two?"), msg("assistant", "It is four"),
	}
	chatText, err := tok.ApplyChatTemplate([]tokenizer.Message{
		{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello friend"},
		{"role": "user", "content": "What is two plus two?"}, {"role": "assistant", "content": "It is four"},
	}, tokenizer.ChatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		opts   data.Options
		record any
		tokens []int // expected token ids (nil: not checked)
		lossAt func(i int) bool
		spans  []string // decoded runs of loss tokens
	}{
		{"text", data.Options{}, rec{"text": "Hello world"},
			append(tok.Encode("Hello world", true), eos), func(i int) bool { return i > 0 }, nil},
		{"text with custom field", data.Options{TextField: "body"}, rec{"body": "Hello world", "text": 5},
			append(tok.Encode("Hello world", true), eos), func(i int) bool { return i > 0 }, nil},
		{"text already ending with EOS gets no second EOS", data.Options{}, rec{"text": "Hello<|im_end|>"},
			tok.Encode("Hello<|im_end|>", true), func(i int) bool { return i > 0 }, nil},
		{"prompt/completion unmasked", data.Options{}, rec{"prompt": prompt, "completion": completion},
			append(tok.Encode(prompt+completion, true), eos), func(i int) bool { return i > 0 }, nil},
		{"prompt/completion masked", data.Options{MaskPrompt: true}, rec{"prompt": prompt, "completion": completion},
			append(tok.Encode(prompt+completion, true), eos),
			func(i int) bool { return i >= len(tok.Encode(prompt, true)) },
			[]string{completion + eosText}},
		{"prompt/completion custom fields", data.Options{MaskPrompt: true, PromptField: "q", CompletionField: "a"}, rec{"q": prompt, "a": completion},
			append(tok.Encode(prompt+completion, true), eos),
			func(i int) bool { return i >= len(tok.Encode(prompt, true)) },
			[]string{completion + eosText}},
		{"prompt/completion through the chat template", data.Options{MaskPrompt: true, UseChatTemplate: true}, rec{"prompt": prompt, "completion": completion},
			tok.Encode("<|im_start|>user\n"+prompt+"<|im_end|>\n<|im_start|>assistant\n"+completion+"<|im_end|>\n", false), nil,
			[]string{completion + "<|im_end|>\n"}},
		{"messages unmasked", data.Options{}, rec{"messages": chat},
			tok.Encode(chatText, false), func(i int) bool { return i > 0 }, nil},
		{"messages masked: every assistant turn, no header", data.Options{MaskPrompt: true}, rec{"messages": chat},
			tok.Encode(chatText, false), nil,
			[]string{"Hello friend<|im_end|>\n", "It is four<|im_end|>\n"}},
		{"messages masked: assistant turn between users", data.Options{MaskPrompt: true}, rec{"messages": []any{
			msg("user", "one"), msg("assistant", "two"), msg("user", "three"), msg("assistant", "four"), msg("user", "five"),
		}}, nil, nil, []string{"two<|im_end|>\n", "four<|im_end|>\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := load(t, tok, c.opts, c.record)
			if ds.Len() != 1 || ds.Truncated != 0 {
				t.Fatalf("Len %d Truncated %d, want 1 and 0", ds.Len(), ds.Truncated)
			}
			ex := ds.Examples[0]
			if len(ex.Loss) != len(ex.Tokens) {
				t.Fatalf("%d loss flags for %d tokens", len(ex.Loss), len(ex.Tokens))
			}
			if c.tokens != nil && !reflect.DeepEqual(ex.Tokens, c.tokens) {
				t.Fatalf("tokens\n got %v\nwant %v", ex.Tokens, c.tokens)
			}
			if ex.Loss[0] {
				t.Fatal("token 0 can never be a target")
			}
			if c.lossAt != nil {
				for i, l := range ex.Loss {
					if l != c.lossAt(i) {
						t.Fatalf("Loss[%d] = %v (token %q), want %v; loss %v", i, l, tok.IDToToken(ex.Tokens[i]), !l, ex.Loss)
					}
				}
			}
			if c.spans != nil {
				got := lossSpans(tok, ex)
				if !reflect.DeepEqual(got, c.spans) {
					t.Fatalf("trained spans %q, want %q", got, c.spans)
				}
				for _, s := range got {
					for _, bad := range []string{"<|im_start|>", "assistant\n", "user", "system", "Be brief", "Hi there", "two plus"} {
						if strings.Contains(s, bad) {
							t.Fatalf("trained span %q contains prompt text %q", s, bad)
						}
					}
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tok := loadTok(t)
	good := rec{"text": "fine"}
	cases := []struct {
		name  string
		opts  data.Options
		lines []any
		want  string // after "<path>"
	}{
		{"malformed JSON", data.Options{}, []any{good, `{"text": "unterminated`}, ":2: malformed JSON"},
		{"malformed after blank lines", data.Options{}, []any{good, "", "   ", "[1,2"}, ":4: malformed JSON"},
		{"not an object", data.Options{}, []any{`"just a string"`}, ":1: malformed JSON"},
		{"record without known fields", data.Options{}, []any{good, good, rec{"foo": "x", "bar": 1}}, `:3: record has none of "text", "prompt"/"completion", "messages" (keys: bar, foo)`},
		{"text not a string", data.Options{}, []any{rec{"text": 3}}, ":1: record has none of"},
		{"prompt without completion", data.Options{}, []any{rec{"prompt": "p"}}, `:1: record has "prompt" but no string "completion"`},
		{"empty file", data.Options{}, nil, ": no records"},
		{"only blank lines", data.Options{}, []any{"", "  "}, ": no records"},
		{"messages not a list", data.Options{}, []any{good, rec{"messages": "hello"}}, `:2: "messages" must be a non-empty list`},
		{"messages empty list", data.Options{}, []any{rec{"messages": []any{}}}, `:1: "messages" must be a non-empty list`},
		{"message not an object", data.Options{}, []any{rec{"messages": []any{"hi"}}}, ":1: messages[0] is not an object"},
		{"message without role", data.Options{}, []any{rec{"messages": []any{msg("user", "a"), rec{"content": "b"}}}}, `:1: messages[1] has no "role"`},
		{"nothing to learn after masking", data.Options{MaskPrompt: true}, []any{good, rec{"messages": []any{msg("user", "a")}}}, ":2: the record has no tokens to learn from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeSplit(t, dir, "valid", c.lines...)
			if c.lines == nil {
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ds, err := data.LoadSplit(dir, "valid", tok, c.opts)
			if err == nil {
				t.Fatalf("no error; %d examples", ds.Len())
			}
			if want := path + c.want; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\nwant it to contain %q", err, want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := data.LoadSplit(t.TempDir(), "test", tok, data.Options{}); err == nil || !strings.Contains(err.Error(), "test.jsonl") {
			t.Fatalf("error %v, want one naming test.jsonl", err)
		}
	})
}

// captureStderr runs f with os.Stderr redirected and returns what it wrote.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stderr = old }()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

func TestTruncation(t *testing.T) {
	tok := loadTok(t)
	long := "the quick brown fox jumps over the lazy dog"
	short := "hi"
	n := len(tok.Encode(long, true)) + 1
	if n <= 8 || len(tok.Encode(short, true))+1 > 8 {
		t.Fatalf("unexpected fixture lengths %d, %d", n, len(tok.Encode(short, true))+1)
	}
	dir := t.TempDir()
	writeSplit(t, dir, "train", rec{"text": long}, rec{"text": short}, rec{"text": long + " again"})
	var ds *data.Dataset
	var err error
	warn := captureStderr(t, func() { ds, err = data.LoadSplit(dir, "train", tok, data.Options{MaxSeqLength: 8}) })
	if err != nil {
		t.Fatal(err)
	}
	if ds.Truncated != 2 || ds.Len() != 3 {
		t.Fatalf("Truncated %d of %d, want 2 of 3", ds.Truncated, ds.Len())
	}
	full := append(tok.Encode(long, true), tok.EOSIDs()[0])
	if !reflect.DeepEqual(ds.Examples[0].Tokens, full[:8]) || len(ds.Examples[0].Loss) != 8 {
		t.Fatalf("truncated tokens %v, want the first 8 of %v", ds.Examples[0].Tokens, full)
	}
	for i, ex := range ds.Examples {
		if len(ex.Tokens) > 8 {
			t.Fatalf("example %d has %d tokens", i, len(ex.Tokens))
		}
	}
	if !strings.Contains(warn, "2 of 3 records are longer than max_seq_length 8") {
		t.Fatalf("warning %q", warn)
	}

	// No warning when nothing is cut.
	warn = captureStderr(t, func() { ds, err = data.LoadSplit(dir, "train", tok, data.Options{}) })
	if err != nil || ds.Truncated != 0 || warn != "" {
		t.Fatalf("default MaxSeqLength: err %v, Truncated %d, warning %q", err, ds.Truncated, warn)
	}
}

// mixedDataset has n text records whose token lengths cycle through short and long ones.
func mixedDataset(t *testing.T, tok *tokenizer.Tokenizer, n int) *data.Dataset {
	t.Helper()
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon")
	var lines []any
	for i := 0; i < n; i++ {
		k := 1 + (i*7)%len(words)
		if i%2 == 1 {
			k = 1 + i%3 // alternate with very short records
		}
		lines = append(lines, rec{"text": strings.Join(words[:k], " ")})
	}
	return load(t, tok, data.Options{}, lines...)
}

func TestOrder(t *testing.T) {
	tok := loadTok(t)
	cases := []struct {
		n, bs int
	}{
		{40, 4},  // one window (16 batches)
		{150, 4}, // several windows, 2 left over
		{37, 5},
		{7, 8}, // fewer examples than a batch
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n=%d,bs=%d", c.n, c.bs), func(t *testing.T) {
			ds := mixedDataset(t, tok, c.n)
			length := func(i int) int { return len(ds.Examples[i].Tokens) }
			o := data.Order(ds, c.bs, 1, 0)
			if !reflect.DeepEqual(o, data.Order(ds, c.bs, 1, 0)) {
				t.Fatal("Order is not deterministic for the same seed and epoch")
			}
			if len(o) != c.n/c.bs {
				t.Fatalf("%d batches, want %d (incomplete final batch dropped)", len(o), c.n/c.bs)
			}
			seen := map[int]bool{}
			for bi, b := range o {
				if len(b) != c.bs {
					t.Fatalf("batch %d has %d examples", bi, len(b))
				}
				for j, i := range b {
					if i < 0 || i >= c.n || seen[i] {
						t.Fatalf("index %d out of range or repeated", i)
					}
					seen[i] = true
					if j > 0 && length(b[j-1]) > length(i) {
						t.Fatalf("batch %d not sorted by length: %v", bi, b)
					}
				}
			}
			if len(o) >= 2 {
				if reflect.DeepEqual(o, data.Order(ds, c.bs, 1, 1)) {
					t.Fatal("epochs 0 and 1 give the same order")
				}
				if reflect.DeepEqual(o, data.Order(ds, c.bs, 2, 0)) {
					t.Fatal("seeds 1 and 2 give the same order")
				}
			}
			if c.n <= 16*c.bs {
				// One window: the batches are consecutive slices of one sorted list,
				// so their length ranges do not interleave.
				for a := range o {
					for b := range o {
						lo1, hi1 := length(o[a][0]), length(o[a][c.bs-1])
						lo2, hi2 := length(o[b][0]), length(o[b][c.bs-1])
						if a != b && !(hi1 <= lo2 || hi2 <= lo1) {
							t.Fatalf("batches %v and %v interleave in length within one window", o[a], o[b])
						}
					}
				}
			}
		})
	}
}

func TestMake(t *testing.T) {
	tok := loadTok(t)
	pc := func(p, c string) rec { return rec{"prompt": p, "completion": c} }
	ds := load(t, tok, data.Options{MaskPrompt: true},
		pc("What is 2+2?", " Four."),
		pc("Hi", " Hello there, how are you doing today?"),
		pc("Name a colour:", " red"),
	)
	// Examples with exactly 9 tokens have 8 targets: padding to 8 must not add a 9th.
	nine := &data.Dataset{Examples: []data.Example{
		{Tokens: []int{1, 10, 11, 12, 13, 14, 15, 16, 2}, Loss: []bool{false, true, true, true, true, true, true, true, true}},
		{Tokens: []int{1, 20, 21, 22, 23, 24, 25, 26, 2}, Loss: []bool{false, false, false, false, true, true, true, true, true}},
	}}
	const pad = 0
	cases := []struct {
		name string
		ds   *data.Dataset
		idx  []int
	}{
		{"three lengths", ds, []int{0, 1, 2}},
		{"reordered and repeated", ds, []int{2, 0, 2}},
		{"single", ds, []int{0}},
		{"exact multiple of 8 targets", nine, []int{0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := data.Make(c.ds, c.idx, pad)
			longest, wantTokens := 0, 0
			for _, i := range c.idx {
				ex := c.ds.Examples[i]
				longest = max(longest, len(ex.Tokens)-1)
				for _, l := range ex.Loss {
					if l {
						wantTokens++
					}
				}
			}
			L := (longest + 7) / 8 * 8
			for _, a := range []struct {
				name string
				sh   []int
			}{{"Inputs", b.Inputs.Shape()}, {"Targets", b.Targets.Shape()}, {"Mask", b.Mask.Shape()}} {
				if !reflect.DeepEqual(a.sh, []int{len(c.idx), L}) || a.sh[1]%8 != 0 {
					t.Fatalf("%s shape %v, want [%d %d]", a.name, a.sh, len(c.idx), L)
				}
			}
			if b.Inputs.Dtype().String() != "int32" || b.Targets.Dtype().String() != "int32" || b.Mask.Dtype().String() != "float32" {
				t.Fatalf("dtypes %v %v %v", b.Inputs.Dtype(), b.Targets.Dtype(), b.Mask.Dtype())
			}
			in, tg, mk := b.Inputs.Ints(), b.Targets.Ints(), b.Mask.Float32s()
			sum := 0.0
			for r, i := range c.idx {
				ex := c.ds.Examples[i]
				n := len(ex.Tokens)
				for t0 := 0; t0 < L; t0++ {
					p := r*L + t0
					sum += float64(mk[p])
					if t0 < n-1 {
						if in[p] != ex.Tokens[t0] || tg[p] != ex.Tokens[t0+1] {
							t.Fatalf("row %d pos %d: input %d target %d, want %d %d", r, t0, in[p], tg[p], ex.Tokens[t0], ex.Tokens[t0+1])
						}
						if t0+1 < n-1 && in[p+1] != tg[p] {
							t.Fatalf("row %d pos %d: targets are not inputs shifted by one", r, t0)
						}
						if want := ex.Loss[t0+1]; (mk[p] == 1) != want || (mk[p] != 0 && mk[p] != 1) {
							t.Fatalf("row %d pos %d: mask %v, want %v", r, t0, mk[p], want)
						}
					} else if in[p] != pad || tg[p] != pad || mk[p] != 0 {
						t.Fatalf("row %d pos %d (padding): input %d target %d mask %v", r, t0, in[p], tg[p], mk[p])
					}
				}
			}
			if int(sum) != b.Tokens || b.Tokens != wantTokens {
				t.Fatalf("mask sum %v, Tokens %d, loss positions %d", sum, b.Tokens, wantTokens)
			}
		})
	}
}

func TestPaddingStats(t *testing.T) {
	tok := loadTok(t)
	ds := mixedDataset(t, tok, 64)
	lens := make([]int, ds.Len())
	for i, ex := range ds.Examples {
		lens[i] = len(ex.Tokens) - 1
	}
	padOf := func(batches [][]int) int {
		total := 0
		for _, b := range batches {
			longest, real := 0, 0
			for _, i := range b {
				longest = max(longest, lens[i])
				real += lens[i]
			}
			total += (longest+7)/8*8*len(b) - real
		}
		return total
	}
	for _, bs := range []int{2, 4, 8} {
		bucketed, unsorted := data.PaddingStats(ds, bs, 3)
		// "Unsorted" is the same shuffle as Order's epoch 0, batched without sorting.
		perm := rand.New(rand.NewPCG(3, 0)).Perm(ds.Len())
		var plain [][]int
		for s := 0; s+bs <= ds.Len(); s += bs {
			plain = append(plain, perm[s:s+bs])
		}
		if want := padOf(plain); unsorted != want {
			t.Fatalf("bs %d: unsorted padding %d, want %d", bs, unsorted, want)
		}
		if want := padOf(data.Order(ds, bs, 3, 0)); bucketed != want {
			t.Fatalf("bs %d: bucketed padding %d, want %d", bs, bucketed, want)
		}
		if bucketed > unsorted {
			t.Fatalf("bs %d: bucketing pads %d positions, file order %d", bs, bucketed, unsorted)
		}
		// With every other record short, file-order batches mix lengths; bucketing
		// must save a lot.
		if bucketed >= unsorted {
			t.Fatalf("bs %d: bucketing saved nothing (%d vs %d)", bs, bucketed, unsorted)
		}
	}
	sort.Ints(lens)
	if lens[0] == lens[len(lens)-1] {
		t.Fatal("the dataset must have mixed lengths")
	}
}

func TestNonPositiveBatchSize(t *testing.T) {
	ds := &data.Dataset{Examples: []data.Example{{Tokens: []int{1, 2}, Loss: []bool{false, true}}}}
	calls := map[string]func(bs int){
		"Order":        func(bs int) { data.Order(ds, bs, 1, 0) },
		"PaddingStats": func(bs int) { data.PaddingStats(ds, bs, 1) },
	}
	for name, f := range calls {
		for _, bs := range []int{0, -3} {
			done := make(chan any, 1)
			go func() {
				defer func() { done <- recover() }()
				f(bs)
			}()
			select {
			case r := <-done:
				if msg, _ := r.(string); !strings.Contains(msg, "batch size") {
					t.Fatalf("%s(batch size %d): recovered %v, want a panic about the batch size", name, bs, r)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s(batch size %d) did not return (infinite loop)", name, bs)
			}
		}
	}
}
