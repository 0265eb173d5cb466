package gguf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// llama.cpp token types (tokenizer.ggml.token_type).
const (
	tokNormal      int32 = 1
	tokUnknown     int32 = 2
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
	tokByte        int32 = 6
)

// Pre-tokenizer regular expressions of Hugging Face tokenizers and the
// tokenizer.ggml.pre names llama.cpp gives the same splitting.
var preTokenizers = map[string]string{
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      "qwen2",
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:                                          "gpt-2",
}

// hfTokenizer is the part of tokenizer.json the GGUF vocabulary is built from.
type hfTokenizer struct {
	Normalizer   map[string]any `json:"normalizer"`
	PreTokenizer map[string]any `json:"pre_tokenizer"`
	Decoder      map[string]any `json:"decoder"`
	Model        hfModel        `json:"model"`
	Added        []hfAddedToken `json:"added_tokens"`
}

type hfModel struct {
	Type         string            `json:"type"`
	ByteFallback bool              `json:"byte_fallback"`
	UnkToken     *string           `json:"unk_token"`
	Vocab        map[string]int    `json:"vocab"`
	Merges       []json.RawMessage `json:"merges"`
}

type hfAddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// vocabMeta returns the tokenizer.* metadata of the tokenizer in dir for a model of
// vocabSize embeddings: byte-level BPE as llama.cpp's "gpt2" tokenizer model with its
// pre-tokenizer name and merges, or SentencePiece-style BPE (byte_fallback, "▁" for
// spaces) as its "llama" model with scores; then tokens, token types, special ids,
// add-BOS/EOS flags and the chat template. Tokenizers llama.cpp would split or decode
// differently are refused.
func vocabMeta(dir string, tok *tokenizer.Tokenizer, vocabSize int, bosFromConfig []int) ([]kv, error) {
	path := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var hf hfTokenizer
	if err := json.Unmarshal(data, &hf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	merges, err := hfMerges(&hf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	spm := hf.Model.Type == "BPE" && hf.Model.ByteFallback
	var meta []kv
	if spm {
		prefix, err := spmPrefix(&hf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		meta = []kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.pre", "default"}, {"tokenizer.ggml.add_space_prefix", prefix}}
	} else {
		pre, err := preName(&hf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		meta = []kv{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", pre}}
	}
	if tok.VocabSize() > vocabSize {
		return nil, fmt.Errorf("%s: the tokenizer has %d ids but the model only %d embeddings", path, tok.VocabSize(), vocabSize)
	}
	added := map[int]hfAddedToken{}
	for _, a := range hf.Added {
		added[a.ID] = a
	}
	unk := ""
	if hf.Model.UnkToken != nil {
		unk = *hf.Model.UnkToken
	}
	tokens := make([]string, vocabSize)
	types := make([]int32, vocabSize)
	for id := range vocabSize {
		s, ok := tok.IDToToken(id), tok.IDToToken(id) != ""
		switch a, isAdded := added[id]; {
		case !ok:
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), tokUnused
		case spm && s == unk:
			tokens[id], types[id] = s, tokUnknown
		case isAdded && a.Special:
			tokens[id], types[id] = s, tokControl
		case isAdded:
			tokens[id], types[id] = s, tokUserDefined
		case spm && isByteToken(s):
			tokens[id], types[id] = s, tokByte
		default:
			tokens[id], types[id] = s, tokNormal
		}
	}
	meta = append(meta, kv{"tokenizer.ggml.tokens", tokens}, kv{"tokenizer.ggml.token_type", types})
	if spm {
		meta = append(meta, kv{"tokenizer.ggml.scores", spmScores(tokens, types, merges)})
	} else {
		meta = append(meta, kv{"tokenizer.ggml.merges", merges})
	}
	bos := tok.BOSID()
	if bos < 0 {
		if len(bosFromConfig) > 0 {
			bos = bosFromConfig[0]
		}
	}
	if bos >= 0 {
		meta = append(meta, kv{"tokenizer.ggml.bos_token_id", uint32(bos)})
	}
	if eos := tok.EOSIDs(); len(eos) > 0 {
		meta = append(meta, kv{"tokenizer.ggml.eos_token_id", uint32(eos[0])})
	}
	if id := slices.Index(tokens, unk); spm && unk != "" && id >= 0 {
		meta = append(meta, kv{"tokenizer.ggml.unknown_token_id", uint32(id)})
	}
	if pad := tok.PadID(); pad >= 0 {
		meta = append(meta, kv{"tokenizer.ggml.padding_token_id", uint32(pad)})
	}
	addBOS, addEOS := addedSpecials(tok)
	meta = append(meta, kv{"tokenizer.ggml.add_bos_token", addBOS}, kv{"tokenizer.ggml.add_eos_token", addEOS})
	if tok.HasChatTemplate() {
		meta = append(meta, kv{"tokenizer.chat_template", tok.ChatTemplate()})
	}
	return meta, nil
}

// hfMerges returns model.merges as "left right" strings.
func hfMerges(hf *hfTokenizer) ([]string, error) {
	merges := make([]string, 0, len(hf.Model.Merges))
	for i, m := range hf.Model.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(m, &s) == nil:
		case json.Unmarshal(m, &pair) == nil && len(pair) == 2:
			s = pair[0] + " " + pair[1]
		default:
			return nil, fmt.Errorf("model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", i)
		}
		merges = append(merges, s)
	}
	return merges, nil
}

// preName checks that the tokenizer is byte-level BPE as llama.cpp implements it and
// returns the tokenizer.ggml.pre name of its splitting regular expression.
func preName(hf *hfTokenizer) (string, error) {
	if hf.Model.Type != "BPE" {
		return "", fmt.Errorf("model.type %q: only byte-level BPE tokenizers are exported (llama.cpp's gpt2 tokenizer model)", hf.Model.Type)
	}
	if n := hf.Normalizer; n != nil && n["type"] != "NFC" {
		return "", fmt.Errorf("normalizer %v: llama.cpp applies no normalizer to byte-level BPE", n["type"])
	}
	if d := hf.Decoder; d == nil || d["type"] != "ByteLevel" {
		return "", fmt.Errorf("decoder: expected ByteLevel (byte-level BPE), got %v", d)
	}
	p := hf.PreTokenizer
	if p == nil {
		return "", fmt.Errorf("pre_tokenizer: missing; llama.cpp needs a byte-level pre-tokenizer")
	}
	var pattern string
	switch p["type"] {
	case "ByteLevel":
		if p["add_prefix_space"] == true {
			return "", fmt.Errorf("pre_tokenizer.add_prefix_space: llama.cpp does not add a prefix space to byte-level BPE")
		}
		if p["use_regex"] == false {
			return "", fmt.Errorf("pre_tokenizer.use_regex false: llama.cpp always splits byte-level BPE with a regular expression")
		}
		pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	case "Sequence":
		seq, _ := p["pretokenizers"].([]any)
		var kinds []string
		for _, e := range seq {
			m, _ := e.(map[string]any)
			kinds = append(kinds, fmt.Sprint(m["type"]))
			if m["type"] == "Split" {
				if pm, ok := m["pattern"].(map[string]any); ok {
					pattern, _ = pm["Regex"].(string)
				}
			}
		}
		if !slices.Equal(kinds, []string{"Split", "ByteLevel"}) {
			return "", fmt.Errorf("pre_tokenizer: a Sequence of %s; llama.cpp's byte-level pre-tokenizers are Split then ByteLevel", strings.Join(kinds, ", "))
		}
	default:
		return "", fmt.Errorf("pre_tokenizer.type %v: not a byte-level pre-tokenizer llama.cpp has", p["type"])
	}
	name, ok := preTokenizers[pattern]
	if !ok {
		return "", fmt.Errorf("pre_tokenizer: the regular expression %q matches none of llama.cpp's pre-tokenizers mlxgo knows (gpt-2, llama-bpe, qwen2)", pattern)
	}
	return name, nil
}

// addedSpecials reports whether encoding with special tokens adds BOS in front and EOS at
// the end, as the tokenizer's post-processor does.
func addedSpecials(tok *tokenizer.Tokenizer) (bos, eos bool) {
	plain, with := tok.Encode("a", false), tok.Encode("a", true)
	if len(with) > len(plain) {
		bos = with[0] != plain[0]
		eos = with[len(with)-1] != plain[len(plain)-1]
	}
	return bos, eos
}
