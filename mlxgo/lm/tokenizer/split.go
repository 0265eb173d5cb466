package tokenizer

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// span is a part of a string: a pattern match or the text between two
// matches. A pattern's spans cover the whole string in order.
type span struct {
	start, end int
	match      bool
}

// pattern finds the matches of a Split, Replace or similar component.
type pattern interface {
	// spans appends to dst the spans covering s; empty s gives one empty
	// non-matching span.
	spans(dst []span, s string) []span
}

// compilePattern builds the matcher of a tokenizer.json pattern object
// ({"String": "..."} or {"Regex": "..."}).
func compilePattern(literal string, isRegex bool) (pattern, error) {
	if !isRegex {
		return literalPattern(literal), nil
	}
	if sc := scannerFor(literal); sc != nil {
		return scanPattern{sc}, nil
	}
	re, err := regexp2.Compile(literal, regexp2.None)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = 10 * time.Second
	return &regexPattern{re: re}, nil
}

// literalPattern matches a fixed string.
type literalPattern string

func (p literalPattern) spans(dst []span, s string) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	lit := string(p)
	if lit == "" {
		return append(dst, span{0, len(s), false})
	}
	prev := 0
	for i := 0; i <= len(s)-len(lit); {
		k := strings.Index(s[i:], lit)
		if k < 0 {
			break
		}
		st := i + k
		if st > prev {
			dst = append(dst, span{prev, st, false})
		}
		dst = append(dst, span{st, st + len(lit), true})
		prev = st + len(lit)
		i = prev
	}
	if prev < len(s) {
		dst = append(dst, span{prev, len(s), false})
	}
	return dst
}

// scanPattern runs a hand-written word scanner; every word is a match.
type scanPattern struct{ sc *wordScanner }

func (p scanPattern) spans(dst []span, s string) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	for i := 0; i < len(s); {
		j := p.sc.next(s, i)
		dst = append(dst, span{i, j, true})
		i = j
	}
	return dst
}

// regexPattern runs a general regular expression with regexp2.
type regexPattern struct{ re *regexp2.Regexp }

func (p *regexPattern) spans(dst []span, s string) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	idx, err := p.re.FindAllStringIndex(s, -1)
	if err != nil {
		// A timeout or backtracking limit: treat the text as one non-match.
		return append(dst, span{0, len(s), false})
	}
	prev := 0
	for _, m := range idx {
		if m[0] != prev {
			dst = append(dst, span{prev, m[0], false})
		}
		dst = append(dst, span{m[0], m[1], true})
		prev = m[1]
	}
	if prev != len(s) {
		dst = append(dst, span{prev, len(s), false})
	}
	return dst
}

// charPattern matches single characters that satisfy a predicate.
type charPattern func(rune) bool

func (p charPattern) spans(dst []span, s string) []span {
	if s == "" {
		return append(dst, span{0, 0, false})
	}
	last := 0
	for i, r := range s {
		if p(r) {
			if last < i {
				dst = append(dst, span{last, i, false})
			}
			n := utf8.RuneLen(r)
			if n < 0 {
				n = 1
			}
			dst = append(dst, span{i, i + n, true})
			last = i + n
		}
	}
	if last < len(s) {
		dst = append(dst, span{last, len(s), false})
	}
	return dst
}

// splitBehavior says what happens to the matches when splitting.
type splitBehavior int

const (
	behaviorRemoved splitBehavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return behaviorRemoved, nil
	case "Isolated":
		return behaviorIsolated, nil
	case "MergedWithPrevious":
		return behaviorMergedWithPrevious, nil
	case "MergedWithNext":
		return behaviorMergedWithNext, nil
	case "Contiguous":
		return behaviorContiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q (want Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)", s)
}

// splitSpans applies behavior to spans (already inverted if asked) and
// calls emit for every resulting non-empty piece of s.
func splitSpans(s string, spans []span, behavior splitBehavior, emit func(string)) {
	switch behavior {
	case behaviorIsolated:
		for _, sp := range spans {
			if sp.end > sp.start {
				emit(s[sp.start:sp.end])
			}
		}
	case behaviorRemoved:
		for _, sp := range spans {
			if !sp.match && sp.end > sp.start {
				emit(s[sp.start:sp.end])
			}
		}
	case behaviorContiguous:
		// Runs of spans with the same flag become one piece.
		have := false
		var cur span
		prevMatch := false
		for _, sp := range spans {
			if have && sp.match == prevMatch {
				cur.end = sp.end
			} else {
				if have && cur.end > cur.start {
					emit(s[cur.start:cur.end])
				}
				cur, have = sp, true
			}
			prevMatch = sp.match
		}
		if have && cur.end > cur.start {
			emit(s[cur.start:cur.end])
		}
	case behaviorMergedWithPrevious:
		have := false
		var cur span
		prevMatch := false
		for _, sp := range spans {
			if sp.match && !prevMatch && have {
				cur.end = sp.end
			} else {
				if have && cur.end > cur.start {
					emit(s[cur.start:cur.end])
				}
				cur, have = sp, true
			}
			prevMatch = sp.match
		}
		if have && cur.end > cur.start {
			emit(s[cur.start:cur.end])
		}
	case behaviorMergedWithNext:
		// Walk backwards: a match that does not follow another match (in
		// reverse order) is glued to the piece after it.
		var out []span
		prevMatch := false
		for k := len(spans) - 1; k >= 0; k-- {
			sp := spans[k]
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = sp.start
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
		for k := len(out) - 1; k >= 0; k-- {
			if out[k].end > out[k].start {
				emit(s[out[k].start:out[k].end])
			}
		}
	}
}
