package tokenizer

import (
	"strings"
)

// Tokenizer encodes text to token ids and decodes ids to text following a
// Hugging Face tokenizer.json, and renders chat templates. A Tokenizer is
// safe for concurrent use.
type Tokenizer struct {
	model   *bpeModel
	added   *addedVocab
	norm    normalizer
	pre     preTokenizer
	post    postProcessor
	decoder decoder

	bosID  int
	eosIDs []int
	padID  int

	bosToken string
	eosToken string
	padToken string
	unkToken string

	chatTemplate     string
	chatTemplateFile string // where chatTemplate was read, for errors
	hasTemplate      bool
}

// Encode returns the token ids of text. With addSpecial the post-processor
// adds the model's special tokens (for example a leading BOS), as the Rust
// library's encode(text, add_special_tokens=true) does. Added tokens that
// appear in text (such as "<|im_start|>") are always recognised.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	ids, _ := t.encode(text, addSpecial, false)
	return ids
}

// EncodeWithTokens is Encode that also returns the token strings, as the
// Rust library's Encoding.get_tokens does: vocabulary entries for model
// tokens, and the matched text for added tokens.
func (t *Tokenizer) EncodeWithTokens(text string, addSpecial bool) (ids []int, tokens []string) {
	ids, tokens = t.encode(text, addSpecial, true)
	if tokens == nil {
		tokens = []string{}
	}
	return ids, tokens
}

func (t *Tokenizer) encode(text string, addSpecial, wantTokens bool) ([]int, []string) {
	text = validUTF8(text)
	ids := make([]int, 0, len(text)/3+4)
	var toks []string
	if wantTokens {
		toks = make([]string, 0, cap(ids))
	}
	var buf [8]piece
	pieces := t.added.splitAdded(buf[:0], text, true, t.added.rawTrie, t.added.rawIDs)
	var sub []piece
	for _, p := range pieces {
		if p.id >= 0 {
			ids = append(ids, p.id)
			if wantTokens {
				toks = append(toks, p.text)
			}
			continue
		}
		s := p.text
		if t.norm != nil {
			s = t.norm.normalize(s)
		}
		if t.added.normTrie.empty() {
			ids, toks = t.encodeText(ids, toks, s, p.first, wantTokens)
			continue
		}
		sub = t.added.splitAdded(sub[:0], s, p.first, t.added.normTrie, t.added.normIDs)
		for _, q := range sub {
			if q.id >= 0 {
				ids = append(ids, q.id)
				if wantTokens {
					toks = append(toks, q.text)
				}
				continue
			}
			ids, toks = t.encodeText(ids, toks, q.text, q.first, wantTokens)
		}
	}
	if t.post != nil {
		ids, toks = t.post.process(ids, toks, addSpecial)
	}
	return ids, toks
}

// encodeText pre-tokenizes a normalized piece and runs the model.
func (t *Tokenizer) encodeText(ids []int, toks []string, s string, first, wantTokens bool) ([]int, []string) {
	if s == "" {
		return ids, toks
	}
	mark := len(ids)
	if t.pre == nil {
		ids = t.model.tokenize(ids, s)
	} else {
		t.pre.split(s, first, func(w string, _ bool) {
			ids = t.model.tokenize(ids, w)
		})
	}
	if wantTokens {
		for _, id := range ids[mark:] {
			tok, _ := t.model.vocabR.get(id)
			toks = append(toks, tok)
		}
	}
	return ids, toks
}

// Decode returns the text of ids. With skipSpecial, special tokens (added
// tokens marked "special") are left out. Unknown ids are ignored. Bytes that
// do not form UTF-8 come out as U+FFFD, as in the Rust library.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		tok, ok := t.idToToken(id)
		if !ok {
			continue
		}
		if skipSpecial && t.added.specials[tok] {
			continue
		}
		toks = append(toks, tok)
	}
	if t.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.decoder.decodeChain(toks), "")
}

func (t *Tokenizer) idToToken(id int) (string, bool) {
	if at, ok := t.added.byID[id]; ok {
		return at.content, true
	}
	return t.model.vocabR.get(id)
}

// IDToToken returns the token string of id, or "" when id is unknown.
func (t *Tokenizer) IDToToken(id int) string {
	s, _ := t.idToToken(id)
	return s
}

// TokenToID returns the id of a token string (an added token or a
// vocabulary entry).
func (t *Tokenizer) TokenToID(token string) (int, bool) {
	if id, ok := t.added.byContent[token]; ok {
		return id, true
	}
	id, ok := t.model.vocab[token]
	return id, ok
}

// VocabSize returns the size an embedding table needs: one more than the
// largest id of the vocabulary and the added tokens.
func (t *Tokenizer) VocabSize() int {
	m := t.model.vocabR.maxID()
	for id := range t.added.byID {
		m = max(m, id)
	}
	return m + 1
}

// BOSID returns the id of the beginning-of-sequence token named by
// tokenizer_config.json's bos_token, or -1 when there is none.
func (t *Tokenizer) BOSID() int { return t.bosID }

// EOSIDs returns the ids that end generation: tokenizer_config.json's
// eos_token followed by the eos_token_id values of generation_config.json
// and config.json, without duplicates. It may be empty.
func (t *Tokenizer) EOSIDs() []int { return append([]int(nil), t.eosIDs...) }

// PadID returns the id of tokenizer_config.json's pad_token, or -1.
func (t *Tokenizer) PadID() int { return t.padID }

// IsSpecial reports whether id is a special added token (one that Decode
// with skipSpecial leaves out).
func (t *Tokenizer) IsSpecial(id int) bool {
	at, ok := t.added.byID[id]
	return ok && t.added.specials[at.content]
}
