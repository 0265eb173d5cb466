package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// preTokenizer cuts a normalized piece into words. first reports whether the
// piece starts the input text (used by Metaspace's "first" scheme); emit
// receives every non-empty word in order, with its own first flag.
type preTokenizer interface {
	split(s string, first bool, emit func(w string, first bool))
}

// byteToRune is GPT-2's reversible map from bytes to printable characters.
var (
	byteToRune [256]rune
	byteToUTF8 [256]string
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		byteToUTF8[b] = string(byteToRune[b])
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelMap replaces every byte of s by its stand-in character.
func byteLevelMap(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteString(byteToUTF8[s[i]])
	}
	return b.String()
}

// appendByteLevel appends the stand-in characters of s to dst.
func appendByteLevel(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, byteToUTF8[s[i]]...)
	}
	return dst
}

type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
	sc             *wordScanner
}

func (p *byteLevelPre) split(s string, first bool, emit func(string, bool)) {
	if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if !p.useRegex {
		emit(byteLevelMap(s), first)
		return
	}
	var buf [128]byte
	for i := 0; i < len(s); {
		j := p.sc.next(s, i)
		w := s[i:j]
		if 2*len(w) <= len(buf) {
			emit(string(appendByteLevel(buf[:0], w)), first)
		} else {
			emit(byteLevelMap(w), first)
		}
		first = false
		i = j
	}
}

type splitPre struct {
	pat      pattern
	behavior splitBehavior
	invert   bool
}

func (p *splitPre) split(s string, first bool, emit func(string, bool)) {
	if sp, ok := p.pat.(scanPattern); ok && !p.invert && p.behavior == behaviorIsolated {
		for i := 0; i < len(s); {
			j := sp.sc.next(s, i)
			emit(s[i:j], first)
			first = false
			i = j
		}
		return
	}
	spans := p.pat.spans(make([]span, 0, 16), s)
	if p.invert {
		for k := range spans {
			spans[k].match = !spans[k].match
		}
	}
	splitSpans(s, spans, p.behavior, func(w string) {
		emit(w, first)
		first = false
	})
}

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

type metaspacePre struct {
	replacement rune
	rep         string
	scheme      prependScheme
	splitWords  bool
}

func (p *metaspacePre) split(s string, first bool, emit func(string, bool)) {
	s = strings.ReplaceAll(s, " ", p.rep)
	switch p.scheme {
	case prependAlways:
		if !strings.HasPrefix(s, p.rep) {
			s = p.rep + s
		}
	case prependFirst:
		if !strings.HasPrefix(s, p.rep) && first {
			s = p.rep + s
		}
	}
	if !p.splitWords {
		emit(s, first)
		return
	}
	// Split before every replacement character (MergedWithNext).
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == p.replacement && i > start {
			emit(s[start:i], first)
			first = false
			start = i
		}
		i += n
	}
	if start < len(s) {
		emit(s[start:], first)
	}
}

type charSplitPre struct {
	pred     func(rune) bool
	behavior splitBehavior
}

func (p *charSplitPre) split(s string, first bool, emit func(string, bool)) {
	spans := charPattern(p.pred).spans(make([]span, 0, 16), s)
	splitSpans(s, spans, p.behavior, func(w string) {
		emit(w, first)
		first = false
	})
}

// whitespacePre keeps runs of \w characters and runs of characters that are
// neither \w nor whitespace (the regex \w+|[^\w\s]+), dropping whitespace.
type whitespacePre struct{}

func (whitespacePre) split(s string, first bool, emit func(string, bool)) {
	const (
		kSpace = iota
		kWord
		kOther
	)
	kind := func(r rune) int {
		switch {
		case isWordChar(r):
			return kWord
		case isSpace(r):
			return kSpace
		}
		return kOther
	}
	start, cur := 0, kSpace
	for i, r := range s {
		k := kind(r)
		if k != cur {
			if cur != kSpace && i > start {
				emit(s[start:i], first)
				first = false
			}
			start, cur = i, k
		}
	}
	if cur != kSpace && len(s) > start {
		emit(s[start:], first)
	}
}

type sequencePre []preTokenizer

func (p sequencePre) split(s string, first bool, emit func(string, bool)) {
	p.run(0, s, first, emit)
}

func (p sequencePre) run(k int, s string, first bool, emit func(string, bool)) {
	if k == len(p) {
		emit(s, first)
		return
	}
	p[k].split(s, first, func(w string, f bool) {
		p.run(k+1, w, f, emit)
	})
}
