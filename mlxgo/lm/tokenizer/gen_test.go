package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

// This file builds synthetic tokenizer.json files (vocabularies and merges
// trained on generated text) and random test strings for the differential
// tests and benchmarks.

var commonWords = strings.Fields(`the of and to in is you that it he was for on are as with his they I at be
this have from or one had by word but not what all were we when your can said there use an each which she do how
their if will up other about out many then them these so some her would make like him into time has look two more
write go see number no way could people my than first water been call who oil its now find long down day did get
come made may part hello world tokenizer language model training data function return value string integer float
table select where order group having between through during before after above below under again further once
here why both few most own same such only very just don should now don't can't won't it's I'm we're they've
you'll she'd John's Apple Google Paris London Tokyo München Zürich naïve café résumé coöperate façade jalapeño`)

var scriptWords = []string{
	"日本語", "東京", "漢字", "中文", "汉字", "语言", "模型", "ひらがな", "カタカナ", "한국어", "안녕하세요",
	"Привет", "мир", "Ελληνικά", "αβγ", "العربية", "مرحبا", "עברית", "हिन्दी", "नमस्ते", "ไทย", "Tiếng", "Việt",
	"Ünïcödé", "ÀÉÎÕÜ", "straße", "İstanbul", "ǅemal", "ﬁne", "ﬀ", "①②③", "ｆｕｌｌｗｉｄｔｈ", "Ⅻ", "ℌ", "ſtop",
}

var emojis = []string{
	"🤖", "😀", "🎉", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "✨", "🔥", "☕", "🏳️‍🌈", "🧑‍💻",
}

var punctPieces = []string{
	".", ",", "!", "?", ";", ":", "...", "…", "—", "–", "-", "(", ")", "[", "]", "{", "}", "\"", "'", "`", "``",
	"«", "»", "¿", "¡", "/", "\\", "#", "$", "%", "&", "*", "+", "=", "<", ">", "@", "^", "_", "|", "~", "§", "©",
	"’", "“", "”", "•", "→", "€", "£", "¥", "°", "±", "×", "÷", "'s", "'S", "'t", "'ll", "'LL", "'re", "'Ve", "'m",
	"'D", "'ſ", "’s", "'x",
}

var spacePieces = []string{
	" ", " ", " ", "  ", "   ", "\t", "\n", "\n", "\r\n", "\n\n", " \n", "\n ", " \n\n  ", "\u00a0", "\u3000",
	"\u2009", "\u200b", "\u2028", "\t\t", "\v", "\f", "\u0085",
}

var combiningMarks = []rune{0x0300, 0x0301, 0x0302, 0x0303, 0x0308, 0x0327, 0x0331, 0x0323, 0x20DD, 0x0489}

// randomText makes one test string mixing the categories the tokenizers
// treat differently; specials are added tokens to embed.
func randomText(rng *rand.Rand, specials []string, maxParts int) string {
	var b strings.Builder
	n := 1 + rng.Intn(maxParts)
	for i := 0; i < n; i++ {
		switch k := rng.Intn(100); {
		case k < 30:
			w := commonWords[rng.Intn(len(commonWords))]
			switch rng.Intn(6) {
			case 0:
				w = strings.ToUpper(w[:1]) + w[1:]
			case 1:
				w = strings.ToUpper(w)
			}
			b.WriteString(w)
		case k < 45:
			b.WriteString(spacePieces[rng.Intn(len(spacePieces))])
		case k < 53:
			b.WriteString(scriptWords[rng.Intn(len(scriptWords))])
		case k < 57:
			for j := rng.Intn(4); j >= 0; j-- {
				b.WriteRune(rune(0x4E00 + rng.Intn(0x400)))
			}
		case k < 61:
			b.WriteString(emojis[rng.Intn(len(emojis))])
		case k < 65:
			b.WriteByte(byte('a' + rng.Intn(26)))
			for j := rng.Intn(3); j >= 0; j-- {
				b.WriteRune(combiningMarks[rng.Intn(len(combiningMarks))])
			}
		case k < 73:
			switch rng.Intn(5) {
			case 0:
				fmt.Fprintf(&b, "%d", rng.Intn(100000000))
			case 1:
				fmt.Fprintf(&b, "%d.%d", rng.Intn(1000), rng.Intn(100000))
			case 2:
				fmt.Fprintf(&b, "%d-%02d-%02d", 1900+rng.Intn(200), 1+rng.Intn(12), 1+rng.Intn(28))
			case 3:
				b.WriteString([]string{"½", "²", "٣٤٥", "१२", "Ⅳ", "1,000", "$9.99", "0x1F"}[rng.Intn(8)])
			default:
				fmt.Fprintf(&b, "%d", rng.Intn(10))
			}
		case k < 85:
			b.WriteString(punctPieces[rng.Intn(len(punctPieces))])
		case k < 92:
			if len(specials) > 0 {
				b.WriteString(specials[rng.Intn(len(specials))])
			}
		case k < 95:
			// printable ASCII noise
			for j := rng.Intn(6); j >= 0; j-- {
				b.WriteByte(byte(0x20 + rng.Intn(0x5f)))
			}
		case k < 97:
			// other BMP letters and symbols from long-stable blocks
			blocks := [][2]int{{0x00C0, 0x024F}, {0x0370, 0x03FF}, {0x0400, 0x04FF}, {0x2000, 0x206F}, {0x2190, 0x22FF}, {0xAC00, 0xAD00}}
			bl := blocks[rng.Intn(len(blocks))]
			r := rune(bl[0] + rng.Intn(bl[1]-bl[0]))
			if r >= 0x2060 && r <= 0x206F { // skip unassigned/invisible format controls
				r = 0x2022
			}
			b.WriteRune(r)
		default:
			b.WriteString("\x00\x01\x1b\x7f"[rng.Intn(4):][:1])
		}
	}
	return b.String()
}

// trainBPE learns nMerges merges from words (already in the model's
// alphabet). alphabet seeds the vocabulary; prefix is the
// continuing_subword_prefix.
func trainBPE(words map[string]int, alphabet []string, nMerges int, prefix, suffix string, closed bool) (vocab []string, merges [][2]string) {
	seen := map[string]bool{}
	inAlphabet := map[string]bool{}
	for _, a := range alphabet {
		inAlphabet[a] = true
	}
	addTok := func(s string) {
		if !seen[s] {
			seen[s] = true
			vocab = append(vocab, s)
		}
	}
	for _, a := range alphabet {
		addTok(a)
	}
	type wordSyms struct {
		syms  []string
		count int
	}
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	var ws []wordSyms
words:
	for _, w := range keys {
		if closed {
			for _, r := range w {
				if !inAlphabet[string(r)] {
					continue words
				}
			}
		}
		var syms []string
		rs := []rune(w)
		for i, r := range rs {
			s := string(r)
			if i > 0 {
				s = prefix + s
			}
			if i == len(rs)-1 {
				s += suffix
			}
			addTok(s)
			syms = append(syms, s)
		}
		ws = append(ws, wordSyms{syms, words[w]})
	}
	type pair = [2]string
	counts := map[pair]int{}
	where := map[pair]map[int]bool{}
	h := &pairHeap{}
	countWord := func(k, sign int) {
		w := ws[k]
		for i := 0; i+1 < len(w.syms); i++ {
			p := pair{w.syms[i], w.syms[i+1]}
			counts[p] += sign * w.count
			if sign > 0 {
				if where[p] == nil {
					where[p] = map[int]bool{}
				}
				where[p][k] = true
			}
		}
	}
	for k := range ws {
		countWord(k, 1)
	}
	for p, n := range counts {
		heap.Push(h, pairCount{p, n})
	}
	for m := 0; m < nMerges; m++ {
		// Pop stale entries until the top carries the pair's current count.
		var best pair
		bestN := 0
		for h.Len() > 0 {
			top := heap.Pop(h).(pairCount)
			if counts[top.p] == top.n {
				best, bestN = top.p, top.n
				break
			}
		}
		if bestN < 2 {
			break
		}
		joined := best[0] + strings.TrimPrefix(best[1], prefix)
		addTok(joined)
		merges = append(merges, best)
		idx := make([]int, 0, len(where[best]))
		for k := range where[best] {
			idx = append(idx, k)
		}
		sort.Ints(idx)
		touched := map[pair]bool{}
		for _, k := range idx {
			s := ws[k].syms
			for i := 0; i+1 < len(s); i++ {
				touched[pair{s[i], s[i+1]}] = true
			}
			countWord(k, -1)
			out := make([]string, 0, len(s))
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, joined)
					i++
				} else {
					out = append(out, s[i])
				}
			}
			ws[k].syms = out
			countWord(k, 1)
			for i := 0; i+1 < len(out); i++ {
				touched[pair{out[i], out[i+1]}] = true
			}
		}
		for p := range touched {
			if n := counts[p]; n > 0 {
				heap.Push(h, pairCount{p, n})
			} else {
				delete(counts, p)
			}
		}
	}
	return vocab, merges
}

type pairCount struct {
	p [2]string
	n int
}

// pairHeap orders pairs by count (descending), then lexicographically.
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].n != h[j].n {
		return h[i].n > h[j].n
	}
	if h[i].p[0] != h[j].p[0] {
		return h[i].p[0]+"\x00"+h[i].p[1] < h[j].p[0]+"\x00"+h[j].p[1]
	}
	return h[i].p[1] < h[j].p[1]
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// modelWords returns the words the model of t would see for text (the
// pipeline of encode without the model).
func modelWords(t *Tokenizer, text string, emit func(string)) {
	pieces := t.added.splitAdded(nil, validUTF8(text), true, t.added.rawTrie, t.added.rawIDs)
	for _, p := range pieces {
		if p.id >= 0 {
			continue
		}
		s := p.text
		if t.norm != nil {
			s = t.norm.normalize(s)
		}
		for _, q := range t.added.splitAdded(nil, s, p.first, t.added.normTrie, t.added.normIDs) {
			if q.id >= 0 || q.text == "" {
				continue
			}
			if t.pre == nil {
				emit(q.text)
				continue
			}
			t.pre.split(q.text, q.first, func(w string, _ bool) { emit(w) })
		}
	}
}

// tokSpec describes a synthetic tokenizer: its tokenizer.json without the
// model's vocab and merges, which buildTokenizerJSON trains.
type tokSpec struct {
	name       string
	json       map[string]any // everything but model.vocab / model.merges
	alphabet   []string       // base vocabulary (ids first)
	added      []map[string]any
	nMerges    int
	pairMerges bool // merges as ["a","b"] pairs instead of "a b"
	prefix     string
	suffix     string
	closed     bool     // train only on words written in the alphabet
	specials   []string // texts to embed in random strings
}

// buildTokenizerJSON trains a vocabulary for spec on corpus and returns the
// complete tokenizer.json.
func buildTokenizerJSON(tb testing.TB, spec tokSpec, corpus []string) []byte {
	tb.Helper()
	model := spec.json["model"].(map[string]any)
	vocabObj := map[string]int{}
	for i, a := range spec.alphabet {
		vocabObj[a] = i
	}
	model["vocab"] = vocabObj
	model["merges"] = []string{}
	spec.json["added_tokens"] = spec.added
	base, err := json.Marshal(spec.json)
	if err != nil {
		tb.Fatal(err)
	}
	bt, err := FromJSON(base)
	if err != nil {
		tb.Fatalf("%s: base tokenizer: %v", spec.name, err)
	}
	words := map[string]int{}
	for _, text := range corpus {
		modelWords(bt, text, func(w string) { words[w]++ })
	}
	vocab, merges := trainBPE(words, spec.alphabet, spec.nMerges, spec.prefix, spec.suffix, spec.closed)
	// Use an ordered JSON object so ids follow training order.
	var vb strings.Builder
	vb.WriteByte('{')
	for i, v := range vocab {
		if i > 0 {
			vb.WriteByte(',')
		}
		k, _ := json.Marshal(v)
		fmt.Fprintf(&vb, "%s:%d", k, i)
	}
	vb.WriteByte('}')
	model["vocab"] = json.RawMessage(vb.String())
	if spec.pairMerges {
		model["merges"] = merges
	} else {
		ms := make([]string, len(merges))
		for i, m := range merges {
			ms[i] = m[0] + " " + m[1]
		}
		model["merges"] = ms
	}
	// Added tokens get the id the Rust library will assign to them.
	out, err := json.Marshal(spec.json)
	if err != nil {
		tb.Fatal(err)
	}
	return fixAddedIDs(tb, out)
}

func byteLevelAlphabet() []string {
	var out []string
	for b := 0; b < 256; b++ {
		out = append(out, byteToUTF8[b])
	}
	return out
}

func addedTok(content string, special bool, opts ...string) map[string]any {
	m := map[string]any{
		"id": 0, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
		"normalized": !special, "special": special,
	}
	for _, o := range opts {
		switch o {
		case "lstrip", "rstrip", "single_word":
			m[o] = true
		case "normalized":
			m["normalized"] = true
		case "raw":
			m["normalized"] = false
		}
	}
	return m
}

// fixAddedIDs sets the "id" of every added token to the id the Rust library
// assigns (the vocabulary id, or the next id after the vocabulary).
func fixAddedIDs(tb testing.TB, data []byte) []byte {
	tb.Helper()
	tok, err := FromJSON(data)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	for _, e := range m["added_tokens"].([]any) {
		at := e.(map[string]any)
		id, _ := tok.TokenToID(at["content"].(string))
		at["id"] = id
	}
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func trainingCorpus(seed int64, n int, specials []string) []string {
	rng := rand.New(rand.NewSource(seed))
	out := make([]string, n)
	for i := range out {
		out[i] = randomText(rng, specials, 40)
	}
	return out
}

// syntheticSpecs returns the synthetic tokenizers of the differential test.
func syntheticSpecs() []tokSpec {
	bl := byteLevelAlphabet()
	var specs []tokSpec

	// 1. GPT-2 style byte-level BPE, add_prefix_space, added tokens with
	// every flag, a template post-processor.
	specs = append(specs, tokSpec{
		name: "bytelevel_added",
		json: map[string]any{
			"version": "1.0", "truncation": nil, "padding": nil,
			"normalizer":    nil,
			"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
			"post_processor": map[string]any{
				"type":   "TemplateProcessing",
				"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<|bos|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"pair":   []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}}},
				"special_tokens": map[string]any{
					"<|bos|>": map[string]any{"id": "<|bos|>", "ids": []int{0}, "tokens": []string{"<|bos|>"}},
				},
			},
			"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
			"model":   map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false},
		},
		alphabet: append([]string{"<|bos|>", "<|eot|>"}, bl...),
		added: []map[string]any{
			addedTok("<|bos|>", true), addedTok("<|eot|>", true),
			addedTok("<tool>", true, "lstrip"), addedTok("</tool>", true, "rstrip"),
			addedTok("[MASK]", true, "single_word"), addedTok("<|only_added|>", true),
			addedTok(" hello", false, "normalized"), addedTok("world", false, "normalized", "single_word"),
			addedTok("<pad>", false, "raw"),
		},
		nMerges:  600,
		specials: []string{"<|bos|>", "<|eot|>", "<tool>", " <tool>", "</tool>  ", "[MASK]", " [MASK] ", "x[MASK]", "<|only_added|>", " hello", "world", "worlds", "<pad>", "<|eot"},
	})

	// 2. Llama-3 style: Split with the Llama-3 regex, ByteLevel without
	// regex, ignore_merges, BOS template after ByteLevel.
	llamaSpecials := []map[string]any{addedTok("<|begin_of_text|>", true), addedTok("<|end_of_text|>", true)}
	for i := 0; i < 6; i++ {
		llamaSpecials = append(llamaSpecials, addedTok(fmt.Sprintf("<|reserved_special_token_%d|>", i), true))
	}
	specs = append(specs, tokSpec{
		name: "llama3",
		json: map[string]any{
			"version": "1.0", "normalizer": nil,
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": llama3Pattern}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
			}},
			"post_processor": map[string]any{"type": "Sequence", "processors": []any{
				map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
				map[string]any{
					"type":   "TemplateProcessing",
					"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
					"pair":   []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
					"special_tokens": map[string]any{
						"<|begin_of_text|>": map[string]any{"id": "<|begin_of_text|>", "ids": []int{0}, "tokens": []string{"<|begin_of_text|>"}},
					},
				},
			}},
			"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
			"model":   map[string]any{"type": "BPE", "ignore_merges": true, "fuse_unk": false, "byte_fallback": false},
		},
		alphabet: append([]string{"<|begin_of_text|>"}, bl...),
		added:    llamaSpecials,
		nMerges:  900,
		specials: []string{"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_3|>", "<|reserved_special_token_5|>"},
	})

	// 3. Qwen2 style: NFC, the Qwen2 regex, merges as pairs, ChatML tokens.
	specs = append(specs, tokSpec{
		name: "qwen2",
		json: map[string]any{
			"version":    "1.0",
			"normalizer": map[string]any{"type": "NFC"},
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			}},
			"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			"model":          map[string]any{"type": "BPE", "byte_fallback": false},
		},
		alphabet:   bl,
		added:      []map[string]any{addedTok("<|endoftext|>", true), addedTok("<|im_start|>", true), addedTok("<|im_end|>", true), addedTok("<think>", false, "raw")},
		nMerges:    700,
		pairMerges: true,
		specials:   []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_start|>user\n", "<think>"},
	})

	// 4. SentencePiece style (Llama-2): Prepend + Replace normalizer, no
	// pre-tokenizer, byte_fallback, fuse_unk, decoder chain with Strip.
	var spAlpha []string
	spAlpha = append(spAlpha, "<unk>", "<s>", "</s>")
	for b := 0; b < 256; b++ {
		spAlpha = append(spAlpha, byteToken(byte(b)))
	}
	for r := rune(0x20); r < 0x7f; r++ {
		if r != ' ' {
			spAlpha = append(spAlpha, string(r))
		}
	}
	spAlpha = append(spAlpha, "▁", "é", "ü", "日", "本", "語")
	specs = append(specs, tokSpec{
		name: "sentencepiece",
		json: map[string]any{
			"version": "1.0",
			"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "Prepend", "prepend": "▁"},
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
			}},
			"pre_tokenizer": nil,
			"post_processor": map[string]any{
				"type":   "TemplateProcessing",
				"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"pair":   []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"special_tokens": map[string]any{
					"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}},
				},
			},
			"decoder": map[string]any{"type": "Sequence", "decoders": []any{
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
				map[string]any{"type": "ByteFallback"},
				map[string]any{"type": "Fuse"},
				map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
			}},
			"model": map[string]any{"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true},
		},
		alphabet: spAlpha,
		added:    []map[string]any{addedTok("<unk>", true), addedTok("<s>", true), addedTok("</s>", true), addedTok("[INST]", false, "normalized")},
		closed:   true,
		nMerges:  700,
		specials: []string{"<s>", "</s>", " </s>", "<unk>", "[INST]", " [INST] "},
	})

	// 5. Metaspace pre-tokenizer (prepend_scheme first), unk fusing without
	// byte fallback, Metaspace decoder.
	var msAlpha []string
	msAlpha = append(msAlpha, "<unk>", "<s>", "</s>", "▁")
	for r := rune(0x21); r < 0x7f; r++ {
		msAlpha = append(msAlpha, string(r))
	}
	specs = append(specs, tokSpec{
		name: "metaspace_unk",
		json: map[string]any{
			"version":        "1.0",
			"normalizer":     map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFKD"}, map[string]any{"type": "StripAccents"}}},
			"pre_tokenizer":  map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
			"post_processor": nil,
			"decoder":        map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
			"model":          map[string]any{"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": false},
		},
		alphabet: msAlpha,
		added:    []map[string]any{addedTok("<unk>", true), addedTok("<s>", true), addedTok("</s>", true)},
		closed:   true,
		nMerges:  500,
		specials: []string{"<s>", "</s>", " </s> "},
	})

	// 6. Normalizer chain NFKC + Lowercase + Replace (string and regex),
	// Digits and Punctuation pre-tokenizers, a continuing-subword prefix,
	// unk without fusing.
	var ncAlpha []string
	ncAlpha = append(ncAlpha, "[UNK]", "[CLS]", "[SEP]")
	for r := rune(0x21); r < 0x7f; r++ {
		if r < 'A' || r > 'Z' {
			ncAlpha = append(ncAlpha, string(r))
		}
	}
	specs = append(specs, tokSpec{
		name: "normalizer_chain",
		json: map[string]any{
			"version": "1.0",
			"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFKC"},
				map[string]any{"type": "Lowercase"},
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "``"}, "content": "\""},
				map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": `\s+`}, "content": " "},
				map[string]any{"type": "Strip", "strip_left": true, "strip_right": true},
			}},
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "WhitespaceSplit"},
				map[string]any{"type": "Digits", "individual_digits": true},
				map[string]any{"type": "Punctuation", "behavior": "Isolated"},
			}},
			"post_processor": map[string]any{"type": "RobertaProcessing", "sep": []any{"[SEP]", 2}, "cls": []any{"[CLS]", 1}, "trim_offsets": true, "add_prefix_space": false},
			"decoder": map[string]any{"type": "Sequence", "decoders": []any{
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "##"}, "content": ""},
				map[string]any{"type": "Fuse"},
			}},
			"model": map[string]any{"type": "BPE", "unk_token": "[UNK]", "fuse_unk": false, "continuing_subword_prefix": "##"},
		},
		alphabet: ncAlpha,
		added:    []map[string]any{addedTok("[UNK]", true), addedTok("[CLS]", true), addedTok("[SEP]", true), addedTok("[MASK]", true, "lstrip")},
		closed:   true,
		nMerges:  500,
		prefix:   "##",
		specials: []string{"[CLS]", "[SEP]", "[MASK]", "  [MASK]"},
	})

	// 7. Split with a general regex (regexp2) in every behavior, and the
	// Whitespace pre-tokenizer.
	specs = append(specs, tokSpec{
		name: "split_behaviors",
		json: map[string]any{
			"version":    "1.0",
			"normalizer": nil,
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `[.,;:!?]+`}, "behavior": "MergedWithPrevious", "invert": false},
				map[string]any{"type": "Split", "pattern": map[string]any{"String": "-"}, "behavior": "MergedWithNext", "invert": false},
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\p{N}+`}, "behavior": "Contiguous", "invert": false},
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\p{L}+`}, "behavior": "Removed", "invert": true},
				map[string]any{"type": "Whitespace"},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			}},
			"post_processor": nil,
			"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			"model":          map[string]any{"type": "BPE"},
		},
		alphabet: bl,
		added:    []map[string]any{addedTok("<|sep|>", true)},
		nMerges:  400,
		specials: []string{"<|sep|>"},
	})
	// 8. Metaspace pre-tokenizer without splitting (Llama-2 / Mistral
	// converted with legacy=false), byte fallback.
	specs = append(specs, tokSpec{
		name: "metaspace_always",
		json: map[string]any{
			"version":       "1.0",
			"normalizer":    nil,
			"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false},
			"post_processor": map[string]any{
				"type":   "TemplateProcessing",
				"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"pair":   []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"special_tokens": map[string]any{
					"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}},
				},
			},
			"decoder": map[string]any{"type": "Sequence", "decoders": []any{
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
				map[string]any{"type": "ByteFallback"},
				map[string]any{"type": "Fuse"},
				map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
			}},
			"model": map[string]any{"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true},
		},
		alphabet: spAlpha,
		added:    []map[string]any{addedTok("<unk>", true), addedTok("<s>", true), addedTok("</s>", true), addedTok("[/INST]", true, "rstrip")},
		nMerges:  600,
		closed:   true,
		specials: []string{"<s>", "</s>", " </s>", "[/INST]", "[/INST]  x"},
	})

	// 9. end_of_word_suffix with the BPE decoder, Digits (contiguous) and
	// Punctuation (merged with previous) after Whitespace.
	var sufAlpha []string
	sufAlpha = append(sufAlpha, "<unk>")
	for r := rune(0x21); r < 0x7f; r++ {
		sufAlpha = append(sufAlpha, string(r), string(r)+"</w>")
	}
	specs = append(specs, tokSpec{
		name: "word_suffix",
		json: map[string]any{
			"version":    "1.0",
			"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFD"}, map[string]any{"type": "Lowercase"}, map[string]any{"type": "StripAccents"}}},
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Whitespace"},
				map[string]any{"type": "Digits", "individual_digits": false},
				map[string]any{"type": "Punctuation", "behavior": "MergedWithPrevious"},
			}},
			"post_processor": map[string]any{"type": "BertProcessing", "sep": []any{"<unk>", 0}, "cls": []any{"<unk>", 0}},
			"decoder":        map[string]any{"type": "BPEDecoder", "suffix": "</w>"},
			"model":          map[string]any{"type": "BPE", "unk_token": "<unk>", "end_of_word_suffix": "</w>"},
		},
		alphabet: sufAlpha,
		added:    []map[string]any{addedTok("<unk>", true)},
		nMerges:  500,
		suffix:   "</w>",
		closed:   false,
		specials: []string{"<unk>"},
	})
	return specs
}
