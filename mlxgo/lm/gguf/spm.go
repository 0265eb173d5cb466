package gguf

import (
	"fmt"
	"regexp"
	"strings"
)

// SentencePiece-style tokenizers (Llama 2, Mistral v0.1, Gemma, Phi-3) are BPE with
// byte_fallback over text whose spaces are "▁". llama.cpp runs them as its "llama"
// (SPM) tokenizer model: starting from characters, it repeatedly joins the adjacent pair
// whose joined text is the token of highest score, and spells what is left over in byte
// tokens. Hugging Face lists, for such tokenizers, a merge for every split of a token into
// two tokens, ordered by the token's SentencePiece score; scoring each token by minus the
// rank of its first merge therefore makes llama.cpp join in Hugging Face's order.

// spmPrefix checks that the tokenizer turns spaces into "▁" as llama.cpp's SPM tokenizer
// does and reports whether it adds a "▁" in front of the text (add_space_prefix): the
// legacy normalizer Prepend("▁") + Replace(" ", "▁"), Replace alone (Gemma), or a
// Metaspace pre-tokenizer.
func spmPrefix(hf *hfTokenizer) (bool, error) {
	norms := []map[string]any{}
	if n := hf.Normalizer; n != nil {
		norms = append(norms, n)
		if n["type"] == "Sequence" {
			norms = nil
			list, _ := n["normalizers"].([]any)
			for _, e := range list {
				m, _ := e.(map[string]any)
				norms = append(norms, m)
			}
		}
	}
	prepend, replace := false, false
	for i, n := range norms {
		switch {
		case n["type"] == "Prepend" && n["prepend"] == "▁" && i == 0:
			prepend = true
		case n["type"] == "Replace" && isSpaceToMeta(n):
			replace = true
		default:
			return false, fmt.Errorf("normalizer %v: llama.cpp's SentencePiece tokenizer only replaces spaces by \"▁\" (and prepends one)", n["type"])
		}
	}
	p := hf.PreTokenizer
	switch {
	case p == nil && replace:
		return prepend, nil
	case p != nil && p["type"] == "Metaspace" && len(norms) == 0:
		if p["replacement"] != "▁" {
			return false, fmt.Errorf("pre_tokenizer.replacement %v: llama.cpp's SentencePiece tokenizer writes spaces as \"▁\"", p["replacement"])
		}
		if scheme, ok := p["prepend_scheme"].(string); ok {
			return scheme != "never", nil
		}
		return p["add_prefix_space"] != false, nil
	case p != nil:
		return false, fmt.Errorf("pre_tokenizer %v: llama.cpp's SentencePiece tokenizer splits no words (Metaspace alone is read)", p["type"])
	}
	return false, fmt.Errorf("normalizer: spaces are not replaced by \"▁\", as a SentencePiece-style (byte_fallback) tokenizer must")
}

// isSpaceToMeta reports whether a Replace normalizer turns " " into "▁".
func isSpaceToMeta(n map[string]any) bool {
	pat, _ := n["pattern"].(map[string]any)
	return pat != nil && pat["String"] == " " && n["content"] == "▁"
}

var byteToken = regexp.MustCompile(`^<0x[0-9A-Fa-f]{2}>$`)

// isByteToken reports whether s is a byte-fallback token such as <0x0A>.
func isByteToken(s string) bool { return byteToken.MatchString(s) }

// spmScores gives each token minus the rank of the first merge that makes it; tokens no
// merge makes (characters) score below all of those, in id order, and control, byte and
// unused tokens 0, as SentencePiece models have them.
func spmScores(tokens []string, types []int32, merges []string) []float32 {
	rank := map[string]int{}
	for i, m := range merges {
		joined := strings.Replace(m, " ", "", 1)
		if _, ok := rank[joined]; !ok {
			rank[joined] = i
		}
	}
	scores := make([]float32, len(tokens))
	for id, s := range tokens {
		if types[id] != tokNormal {
			continue
		}
		if r, ok := rank[s]; ok {
			scores[id] = -float32(r)
		} else {
			scores[id] = -float32(len(merges) + id)
		}
	}
	return scores
}
