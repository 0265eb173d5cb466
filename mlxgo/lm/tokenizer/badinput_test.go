package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// smallTokenizerJSON is a tiny valid byte-level tokenizer.json; edit
// replaces parts of it for the malformed cases.
func smallTokenizerJSON(edit func(m map[string]any)) []byte {
	vocab := map[string]any{}
	for i, s := range byteLevelAlphabet() {
		vocab[s] = i
	}
	vocab["he"] = 256
	vocab["hel"] = 257
	m := map[string]any{
		"version":        "1.0",
		"added_tokens":   []any{map[string]any{"id": 258, "content": "<|end|>", "special": true, "normalized": false}},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model": map[string]any{
			"type": "BPE", "vocab": vocab, "merges": []any{"h e", "he l"},
		},
	}
	if edit != nil {
		edit(m)
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

func model(m map[string]any) map[string]any { return m["model"].(map[string]any) }

func TestMalformedTokenizerJSON(t *testing.T) {
	if _, err := FromJSON(smallTokenizerJSON(nil)); err != nil {
		t.Fatalf("the valid base fails: %v", err)
	}
	manyMerges := func(m map[string]any) {
		var merges []any
		for i := 0; i < 12; i++ {
			merges = append(merges, "h e")
		}
		merges = append(merges, "x y")
		model(m)["merges"] = merges
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte(`{"model": `), "tokenizer.json: invalid JSON"},
		{"top-level array", []byte(`[1, 2]`), "tokenizer.json: expected a JSON object at the top level"},
		{"missing model", []byte(`{"version": "1.0"}`), "tokenizer.json: model: missing"},
		{"bad version", smallTokenizerJSON(func(m map[string]any) { m["version"] = "2.0" }), `tokenizer.json: version "2.0" is not supported (supported: 1.0)`},
		{"model not object", smallTokenizerJSON(func(m map[string]any) { m["model"] = []any{1} }), "tokenizer.json: model: expected an object"},
		{"unknown model type", smallTokenizerJSON(func(m map[string]any) { model(m)["type"] = "WordPiece" }),
			`tokenizer.json: model.type "WordPiece" is not supported (supported: BPE)`},
		{"model type not string", smallTokenizerJSON(func(m map[string]any) { model(m)["type"] = 3 }), "tokenizer.json: model.type: expected a string"},
		{"missing vocab", smallTokenizerJSON(func(m map[string]any) { delete(model(m), "vocab") }), "tokenizer.json: model.vocab: missing"},
		{"vocab not object", smallTokenizerJSON(func(m map[string]any) { model(m)["vocab"] = "abc" }), "tokenizer.json: model.vocab: expected an object, got a string"},
		{"vocab id string", smallTokenizerJSON(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = "256" }),
			`tokenizer.json: model.vocab["he"]: expected an integer, got a string`},
		{"vocab id float", smallTokenizerJSON(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = 1.5 }),
			`tokenizer.json: model.vocab["he"]: expected an integer, got 1.5`},
		{"vocab id negative", smallTokenizerJSON(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = -4 }),
			`tokenizer.json: model.vocab["he"]: id -4 is out of range`},
		{"missing merges", smallTokenizerJSON(func(m map[string]any) { delete(model(m), "merges") }), "tokenizer.json: model.merges: missing"},
		{"merges not array", smallTokenizerJSON(func(m map[string]any) { model(m)["merges"] = 12 }), "tokenizer.json: model.merges: expected an array, got a number"},
		{"merge not string", smallTokenizerJSON(func(m map[string]any) { model(m)["merges"] = []any{"h e", 5} }),
			"tokenizer.json: model.merges[1]: expected a string or a pair of strings, got a number"},
		{"merge pair of three", smallTokenizerJSON(func(m map[string]any) { model(m)["merges"] = []any{[]any{"h", "e", "l"}} }),
			"tokenizer.json: model.merges[0]: expected a pair of tokens, got 3"},
		{"merge without space", smallTokenizerJSON(func(m map[string]any) { model(m)["merges"] = []any{"he"} }),
			`tokenizer.json: model.merges[0]: "he" is not two tokens separated by a space`},
		{"merge token not in vocab", smallTokenizerJSON(manyMerges), `tokenizer.json: model.merges[12]: token "xy" not in vocab`},
		{"merged token not in vocab", smallTokenizerJSON(func(m map[string]any) { model(m)["merges"] = []any{[]any{"l", "o"}} }),
			`tokenizer.json: model.merges[0]: token "lo" not in vocab`},
		{"byte_fallback not bool", smallTokenizerJSON(func(m map[string]any) { model(m)["byte_fallback"] = "yes" }),
			"tokenizer.json: model.byte_fallback: expected a boolean"},
		{"unk_token not string", smallTokenizerJSON(func(m map[string]any) { model(m)["unk_token"] = 1 }), "tokenizer.json: model.unk_token: expected a string"},
		{"unknown normalizer", smallTokenizerJSON(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Precompiled"} }),
			`tokenizer.json: normalizer.type "Precompiled" is not supported (supported: NFC,`},
		{"normalizer without type", smallTokenizerJSON(func(m map[string]any) { m["normalizer"] = map[string]any{} }),
			"tokenizer.json: normalizer.type: missing"},
		{"nested normalizer", smallTokenizerJSON(func(m map[string]any) {
			m["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}, map[string]any{"type": "Replace", "content": "x"}}}
		}), "tokenizer.json: normalizer.normalizers[1].pattern: missing"},
		{"prepend not string", smallTokenizerJSON(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Prepend", "prepend": false} }),
			"tokenizer.json: normalizer.prepend: expected a string, got a boolean"},
		{"split bad behavior", smallTokenizerJSON(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "Sideways"}}}
		}), `tokenizer.json: pre_tokenizer.pretokenizers[0].behavior: unknown split behavior "Sideways"`},
		{"split bad regex", smallTokenizerJSON(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(a"}, "behavior": "Isolated"}
		}), "tokenizer.json: pre_tokenizer.pattern.Regex: invalid regular expression"},
		{"split pattern shape", smallTokenizerJSON(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": "x", "behavior": "Isolated"}
		}), "tokenizer.json: pre_tokenizer.pattern: expected an object, got a string"},
		{"metaspace replacement", smallTokenizerJSON(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "ab"}
		}), `tokenizer.json: pre_tokenizer.replacement: expected a single character, got "ab"`},
		{"unknown pre-tokenizer", smallTokenizerJSON(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "UnicodeScripts"} }),
			`tokenizer.json: pre_tokenizer.type "UnicodeScripts" is not supported`},
		{"strip decoder", smallTokenizerJSON(func(m map[string]any) {
			m["decoder"] = map[string]any{"type": "Strip", "content": " ", "start": "1", "stop": 0}
		}),
			"tokenizer.json: decoder.start: expected an integer, got a string"},
		{"unknown decoder", smallTokenizerJSON(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }),
			`tokenizer.json: decoder.type "WordPiece" is not supported`},
		{"template unknown special", smallTokenizerJSON(func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}}, "special_tokens": map[string]any{}}
		}), `tokenizer.json: post_processor.single[0]: special token "<s>" is not in post_processor.special_tokens`},
		{"template ids", smallTokenizerJSON(func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{}, "special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []any{"1"}, "tokens": []any{"<s>"}}}}
		}), `tokenizer.json: post_processor.special_tokens["<s>"].ids[0]: expected an integer, got a string`},
		{"roberta sep", smallTokenizerJSON(func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "RobertaProcessing", "sep": []any{"</s>"}, "cls": []any{"<s>", 0}}
		}), "tokenizer.json: post_processor.sep: expected [token, id]"},
		{"added tokens not array", smallTokenizerJSON(func(m map[string]any) { m["added_tokens"] = map[string]any{} }),
			"tokenizer.json: added_tokens: expected an array, got an object"},
		{"added token content", smallTokenizerJSON(func(m map[string]any) { m["added_tokens"] = []any{map[string]any{"id": 1}} }),
			"tokenizer.json: added_tokens[0].content: missing"},
		{"added token flag", smallTokenizerJSON(func(m map[string]any) { m["added_tokens"] = []any{map[string]any{"content": "x", "lstrip": "no"}} }),
			"tokenizer.json: added_tokens[0].lstrip: expected a boolean, got a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := FromJSON(c.data)
			if err == nil {
				t.Fatalf("FromJSON succeeded (%v), want error %q", tok != nil, c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error = %q\n  want prefix %q", err, c.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("Load of an empty directory: %v", err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tokenizer.json", string(smallTokenizerJSON(nil)))
	write("tokenizer_config.json", `{"eos_token": 5}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json: eos_token") {
		t.Errorf("bad eos_token: %v", err)
	}
	write("tokenizer_config.json", `{"eos_token": {"content": "<|end|>"}, "bos_token": "hel", "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}]}`)
	write("config.json", `{"eos_token_id": [258, 7]}`)
	write("generation_config.json", `{"eos_token_id": 9}`)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.EOSIDs(); len(got) != 3 || got[0] != 258 || got[1] != 9 || got[2] != 7 {
		t.Errorf("EOSIDs() = %v, want [258 9 7]", got)
	}
	if tok.BOSID() != 257 || tok.PadID() != -1 {
		t.Errorf("BOSID() = %d, PadID() = %d", tok.BOSID(), tok.PadID())
	}
	if s, err := tok.ApplyChatTemplate(nil, ChatOptions{}); err != nil || s != "Dhel" {
		t.Errorf("default template from a list: %q, %v", s, err)
	}
	write("config.json", `{"eos_token_id": "x"}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "config.json: eos_token_id") {
		t.Errorf("bad config.json eos_token_id: %v", err)
	}
}

// TestInvalidUTF8 checks that invalid input is replaced like
// String::from_utf8_lossy before encoding.
func TestInvalidUTF8(t *testing.T) {
	tok, _ := loadFixture(t)
	for _, c := range []struct{ in, lossy string }{
		{"a\xffb", "a\uFFFDb"},
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated 4-byte sequence: one U+FFFD
		{"\xe2\x82x", "\uFFFDx"},               // truncated 3-byte sequence
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate: each byte
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong
		{"ok \xf4\x90\x80\x80", "ok \uFFFD\uFFFD\uFFFD\uFFFD"},
	} {
		if got := validUTF8(c.in); got != c.lossy {
			t.Errorf("validUTF8(%q) = %q, want %q", c.in, got, c.lossy)
		}
		if got, want := tok.Encode(c.in, true), tok.Encode(c.lossy, true); !equalInts(got, want) {
			t.Errorf("Encode(%q) = %v, want %v (as %q)", c.in, got, want, c.lossy)
		}
	}
	// Decoding bytes that are not UTF-8.
	e2, _ := tok.TokenToID("â") // byte 0xE2
	if got := tok.Decode([]int{e2, 42}, false); got != "\uFFFDH" {
		t.Errorf("Decode of a lone lead byte = %q", got)
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

var (
	fuzzToksMu sync.Mutex
	fuzzToks   []*Tokenizer
)

// fuzzTokenizers returns the fixture tokenizer followed by small synthetic
// ones (built once per process).
func fuzzTokenizers(tb testing.TB) []*Tokenizer {
	fuzzToksMu.Lock()
	defer fuzzToksMu.Unlock()
	if fuzzToks != nil {
		return fuzzToks
	}
	tiny, err := Load(filepath.Join("testdata", "tiny"))
	if err != nil {
		tb.Fatal(err)
	}
	out := []*Tokenizer{tiny}
	for _, spec := range syntheticSpecs() {
		spec.nMerges = 60
		data := buildTokenizerJSON(tb, spec, trainingCorpus(5, 200, nil))
		tok, err := FromJSON(data)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, tok)
	}
	fuzzToks = out
	return out
}

// FuzzEncode encodes arbitrary bytes with every test tokenizer, decodes the
// result, and checks invariants that hold whatever the input.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "  leading\tand\nnewlines\n\n", "unicode café 日本語 🤖",
		"mixed<|im_start|>special<|im_end|>tokens", "\xff\xfe invalid \xc3", "'s 'S 'ſ 123456", "[MASK] <tool> </tool>  ",
		"\u00a0\u3000\u2028", "e\u0301\u0308", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for k, tok := range toks {
			ids, tokens := tok.EncodeWithTokens(s, true)
			if len(ids) != len(tokens) {
				t.Fatalf("tokenizer %d: %d ids but %d tokens", k, len(ids), len(tokens))
			}
			if got := tok.Encode(s, true); !equalInts(got, ids) {
				t.Fatalf("tokenizer %d: Encode and EncodeWithTokens differ", k)
			}
			text := tok.Decode(ids, false)
			if !utf8.ValidString(text) {
				t.Fatalf("tokenizer %d: Decode gave invalid UTF-8 %q", k, text)
			}
			tok.Decode(ids, true)
			// The fixture is byte-level without normalization: lossless.
			if k == 0 && text != validUTF8(s) {
				t.Fatalf("round trip of %q gave %q", s, text)
			}
			if len(s) > 512 {
				continue // the stream decoder re-decodes held-back text: keep fuzzing fast
			}
			sd := NewStreamDecoder(tok, false)
			var b strings.Builder
			for _, id := range ids {
				piece := sd.Add(id)
				if !utf8.ValidString(piece) {
					t.Fatalf("tokenizer %d: stream piece %q is not UTF-8", k, piece)
				}
				b.WriteString(piece)
			}
			b.WriteString(sd.Flush())
			if b.String() != text {
				t.Fatalf("tokenizer %d: stream %q != Decode %q", k, b.String(), text)
			}
		}
	})
}

// FuzzLoad parses arbitrary tokenizer.json bytes; it must never panic, and
// a tokenizer that loads must encode and decode.
func FuzzLoad(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "tiny", "tokenizer.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add(smallTokenizerJSON(nil))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<0x61>": 3}, "merges": [["a", "b"]], "byte_fallback": true, "unk_token": "a", "fuse_unk": true, "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>"},` +
		`"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},` +
		`"pre_tokenizer": {"type": "Metaspace", "replacement": "_", "prepend_scheme": "first"},` +
		`"decoder": {"type": "Sequence", "decoders": [{"type": "Strip", "content": " ", "start": 3, "stop": 3}, {"type": "ByteFallback"}, {"type": "Fuse"}]},` +
		`"post_processor": {"type": "RobertaProcessing", "sep": ["b", 1], "cls": ["a", 0]},` +
		`"added_tokens": [{"id": 9, "content": "ab", "lstrip": true, "rstrip": true, "single_word": true, "normalized": true, "special": true}]}`))
	f.Add([]byte(`{"model": {"vocab": {}, "merges": []}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 4294967295}, "merges": []}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromJSON(data)
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab a b", "Hello <s> world 123", "\xff日本"} {
			ids := tok.Encode(s, true)
			tok.Decode(ids, false)
			tok.Decode(ids, true)
			tok.EncodeWithTokens(s, false)
		}
		tok.Decode([]int{0, 1, 2, 3, -1, 1 << 40}, true)
		tok.VocabSize()
	})
}
