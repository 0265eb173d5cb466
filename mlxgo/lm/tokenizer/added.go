package tokenizer

import (
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	content    string
	id         int
	special    bool
	singleWord bool
	lstrip     bool
	rstrip     bool
	normalized bool
}

// trie finds added tokens with leftmost-longest semantics (the earliest
// match, and the longest one among those starting there), like the
// Aho-Corasick automaton of the Rust library.
type trie struct {
	nodes []trieNode
	first [256]bool
}

type trieNode struct {
	edges []trieEdge
	value int // index of the pattern ending here, or -1
}

type trieEdge struct {
	b    byte
	next int32
}

func newTrie() *trie {
	return &trie{nodes: []trieNode{{value: -1}}}
}

func (t *trie) insert(pat string, value int) {
	if pat == "" {
		return
	}
	t.first[pat[0]] = true
	n := 0
	for i := 0; i < len(pat); i++ {
		b := pat[i]
		next := -1
		for _, e := range t.nodes[n].edges {
			if e.b == b {
				next = int(e.next)
				break
			}
		}
		if next < 0 {
			t.nodes = append(t.nodes, trieNode{value: -1})
			next = len(t.nodes) - 1
			t.nodes[n].edges = append(t.nodes[n].edges, trieEdge{b, int32(next)})
		}
		n = next
	}
	if t.nodes[n].value < 0 { // the first of duplicate patterns wins
		t.nodes[n].value = value
	}
}

func (t *trie) empty() bool { return len(t.nodes) == 1 }

// longestAt returns the value and end of the longest pattern that starts at
// s[i:], or -1.
func (t *trie) longestAt(s string, i int) (int, int) {
	n, best, end := 0, -1, -1
	for j := i; j < len(s); j++ {
		next := -1
		for _, e := range t.nodes[n].edges {
			if e.b == s[j] {
				next = int(e.next)
				break
			}
		}
		if next < 0 {
			break
		}
		n = next
		if v := t.nodes[n].value; v >= 0 {
			best, end = v, j+1
		}
	}
	return best, end
}

// addedVocab holds the added tokens and the two matchers of the Rust
// library: one run on the raw text for tokens with normalized=false, one
// run on normalized text for tokens with normalized=true.
type addedVocab struct {
	byContent map[string]int      // content -> id
	byID      map[int]*addedToken // id -> token (last definition wins)
	specials  map[string]bool     // contents of special tokens
	rawTrie   *trie               // non-normalized tokens
	rawIDs    []int               // pattern index -> id
	normTrie  *trie               // normalized tokens (patterns normalized)
	normIDs   []int               // pattern index -> id
}

// buildAddedVocab registers tokens the way the Rust library's add_tokens
// does when it reads tokenizer.json: an id from the vocabulary when the
// content is known, otherwise the next free id after the model vocabulary.
func buildAddedVocab(tokens []addedToken, model *bpeModel, norm normalizer) *addedVocab {
	av := &addedVocab{
		byContent: map[string]int{},
		byID:      map[int]*addedToken{},
		specials:  map[string]bool{},
	}
	var specialList, plainList []*addedToken
	for i := range tokens {
		t := &tokens[i]
		if t.special && t.content != "" && !av.specials[t.content] {
			specialList = append(specialList, t)
			av.specials[t.content] = true
		}
	}
	nextID := len(model.vocab)
	type key struct {
		content                                         string
		special, singleWord, lstrip, rstrip, normalized bool
	}
	existing := map[key]bool{}
	for i := range tokens {
		t := &tokens[i]
		k := key{t.content, t.special, t.singleWord, t.lstrip, t.rstrip, t.normalized}
		if t.content == "" || existing[k] {
			continue
		}
		id, ok := av.byContent[t.content]
		if !ok {
			id, ok = model.vocab[t.content]
		}
		if !ok {
			id = nextID
			nextID++
		}
		av.byContent[t.content] = id
		tc := *t
		tc.id = id
		av.byID[id] = &tc
		t.id = id
		if !av.specials[t.content] {
			plainList = append(plainList, t)
		}
		existing[k] = true
	}
	av.rawTrie, av.normTrie = newTrie(), newTrie()
	for _, t := range append(append([]*addedToken{}, specialList...), plainList...) {
		id := av.byContent[t.content]
		if t.normalized {
			pat := t.content
			if norm != nil {
				pat = norm.normalize(pat)
			}
			av.normTrie.insert(pat, len(av.normIDs))
			av.normIDs = append(av.normIDs, id)
		} else {
			av.rawTrie.insert(t.content, len(av.rawIDs))
			av.rawIDs = append(av.rawIDs, id)
		}
	}
	return av
}

// piece is a part of the input on its way through the pipeline: either an
// added token already (id >= 0) or text still to be tokenized.
type piece struct {
	text  string
	id    int
	first bool // starts at the beginning of the input
}

// splitAdded cuts text at the added tokens found by t and appends the parts
// to dst.
func (av *addedVocab) splitAdded(dst []piece, text string, first bool, t *trie, ids []int) []piece {
	if text == "" {
		return dst
	}
	if t.empty() {
		return append(dst, piece{text: text, id: -1, first: first})
	}
	startOffset := 0
	i := 0
	for i < len(text) {
		if !t.first[text[i]] {
			i++
			continue
		}
		v, end := t.longestAt(text, i)
		if v < 0 {
			i++
			continue
		}
		start, stop := i, end
		i = end // the automaton resumes after this match even when it is discarded
		id := ids[v]
		tok := av.byID[id]
		if tok.singleWord {
			startSpace := start == 0 || !endsWithWord(text[:start])
			stopSpace := stop == len(text) || !startsWithWord(text[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.lstrip {
			ns := start
			for ns > 0 {
				r, n := utf8.DecodeLastRuneInString(text[:ns])
				if !isSpace(r) {
					break
				}
				ns -= n
			}
			start = max(ns, startOffset)
		}
		if tok.rstrip {
			for stop < len(text) {
				r, n := utf8.DecodeRuneInString(text[stop:])
				if !isSpace(r) {
					break
				}
				stop += n
			}
		}
		if startOffset < start {
			dst = append(dst, piece{text: text[startOffset:start], id: -1, first: first && startOffset == 0})
		}
		dst = append(dst, piece{text: text[start:stop], id: id})
		startOffset = stop
		if i < stop {
			i = stop
		}
	}
	if startOffset < len(text) {
		dst = append(dst, piece{text: text[startOffset:], id: -1, first: first && startOffset == 0})
	}
	return dst
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}
