package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// idTable maps ids to strings; dense ids use a slice, sparse ones a map.
type idTable struct {
	dense  []string
	hasID  []bool
	sparse map[int]string
}

func newIDTable(m map[string]int) idTable {
	maxID := -1
	for _, id := range m {
		if id > maxID {
			maxID = id
		}
	}
	var t idTable
	if maxID < 4*len(m)+4096 {
		t.dense = make([]string, maxID+1)
		t.hasID = make([]bool, maxID+1)
		for tok, id := range m {
			// Several tokens may share an id; keep a deterministic one.
			if !t.hasID[id] || tok < t.dense[id] {
				t.dense[id] = tok
				t.hasID[id] = true
			}
		}
		return t
	}
	t.sparse = make(map[int]string, len(m))
	for tok, id := range m {
		if old, ok := t.sparse[id]; !ok || tok < old {
			t.sparse[id] = tok
		}
	}
	return t
}

func (t *idTable) get(id int) (string, bool) {
	if t.sparse != nil {
		s, ok := t.sparse[id]
		return s, ok
	}
	if id < 0 || id >= len(t.dense) || !t.hasID[id] {
		return "", false
	}
	return t.dense[id], true
}

func (t *idTable) maxID() int {
	if t.sparse == nil {
		return len(t.dense) - 1
	}
	m := -1
	for id := range t.sparse {
		m = max(m, id)
	}
	return m
}

// merge is the rank of a pair of tokens and the id of their concatenation.
type merge struct {
	rank  int32
	newID int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeModel is a byte-pair-encoding model with the semantics of the Rust
// library's BPE (without dropout, which is only used in training).
type bpeModel struct {
	vocab        map[string]int
	vocabR       idTable
	merges       map[uint64]merge
	unkID        int // -1 when there is no usable unk token
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int32 // ids of <0xXX> tokens, -1 when missing
	hasAllBytes  bool

	mu    sync.RWMutex
	cache map[string][]int32
}

const (
	cacheCapacity = 50000
	cacheMaxWord  = 256
)

func (m *bpeModel) init() {
	m.hasAllBytes = true
	for b := 0; b < 256; b++ {
		id, ok := m.vocab[byteToken(byte(b))]
		if ok {
			m.byteIDs[b] = int32(id)
		} else {
			m.byteIDs[b] = -1
			m.hasAllBytes = false
		}
	}
	m.cache = make(map[string][]int32)
}

func byteToken(b byte) string {
	const hex = "0123456789ABCDEF"
	return "<0x" + string(hex[b>>4]) + string(hex[b&15]) + ">"
}

// tokenize appends the ids of word to dst.
func (m *bpeModel) tokenize(dst []int, word string) []int {
	if word == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[word]; ok {
			return append(dst, id)
		}
	}
	m.mu.RLock()
	ids, ok := m.cache[word]
	m.mu.RUnlock()
	if ok {
		for _, id := range ids {
			dst = append(dst, int(id))
		}
		return dst
	}
	ids = m.mergeWord(word)
	if len(word) < cacheMaxWord {
		m.mu.Lock()
		if len(m.cache) >= cacheCapacity {
			clear(m.cache)
		}
		m.cache[strings.Clone(word)] = ids
		m.mu.Unlock()
	}
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst
}

// symbol is one part of a word during merging, in a doubly linked list.
type symbol struct {
	id         int32
	prev, next int32
	gone       bool
}

type heapItem struct {
	rank  int32
	pos   int32
	newID int32
}

// mergeHeap is a binary min-heap on (rank, pos).
type mergeHeap []heapItem

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h *mergeHeap) push(x heapItem) {
	*h = append(*h, x)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() heapItem {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && s.less(r, l) {
			c = r
		}
		if !s.less(c, i) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}

// mergeWord splits word into characters and applies the merges, lowest
// rank first (leftmost first among equal ranks).
func (m *bpeModel) mergeWord(w string) []int32 {
	var symBuf [64]symbol
	syms := symBuf[:0]
	add := func(id int32) {
		n := int32(len(syms))
		if n > 0 {
			syms[n-1].next = n
		}
		syms = append(syms, symbol{id: id, prev: n - 1, next: -1})
	}
	unk := int32(-1)
	hasUnk := false
	var tmp []byte
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		ch := w[i : i+n]
		isFirst, isLast := i == 0, i+n == len(w)
		i += n
		s := ch
		if (m.prefix != "" && !isFirst) || (m.suffix != "" && isLast) {
			tmp = tmp[:0]
			if !isFirst {
				tmp = append(tmp, m.prefix...)
			}
			tmp = append(tmp, ch...)
			if isLast {
				tmp = append(tmp, m.suffix...)
			}
			s = string(tmp)
		}
		if id, ok := m.vocab[s]; ok {
			if hasUnk {
				add(unk)
				hasUnk = false
			}
			add(int32(id))
			continue
		}
		if m.byteFallback {
			all := true
			for k := 0; k < len(s); k++ {
				if m.byteIDs[s[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				// Rust does not flush a pending unk token here; it is emitted
				// after the bytes, when the next known character or the end
				// of the word comes.
				for k := 0; k < len(s); k++ {
					add(m.byteIDs[s[k]])
				}
				continue
			}
		}
		if m.unkID >= 0 {
			if hasUnk && !m.fuseUnk {
				add(unk)
			}
			unk, hasUnk = int32(m.unkID), true
		}
	}
	if hasUnk {
		add(unk)
	}
	if len(syms) > 1 && len(m.merges) > 0 {
		m.applyMerges(syms)
	}
	out := make([]int32, 0, len(syms))
	for i := 0; i >= 0 && i < len(syms); i = int(syms[i].next) {
		out = append(out, syms[i].id)
	}
	return out
}

func (m *bpeModel) applyMerges(syms []symbol) {
	var heapBuf [64]heapItem
	h := mergeHeap(heapBuf[:0])
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h.push(heapItem{mg.rank, int32(i), mg.newID})
		}
	}
	for len(h) > 0 {
		top := h.pop()
		cur := &syms[top.pos]
		if cur.gone || cur.next < 0 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		mg, ok := m.merges[pairKey(cur.id, right.id)]
		if !ok || mg.newID != top.newID {
			continue // stale entry
		}
		cur.id = top.newID
		cur.next = right.next
		syms[nextPos].gone = true
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h.push(heapItem{mg.rank, cur.prev, mg.newID})
			}
		}
		if cur.next >= 0 {
			if mg, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h.push(heapItem{mg.rank, top.pos, mg.newID})
			}
		}
	}
}
