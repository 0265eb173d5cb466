package tokenizer

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a piece of text before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type unicodeNormalizer struct{ form norm.Form }

func (n unicodeNormalizer) normalize(s string) string {
	if isASCII(s) {
		return s // every normalization form leaves ASCII alone
	}
	return n.form.String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(s string) string { return lowerFull(s) }

type stripNormalizer struct{ left, right bool }

func (n stripNormalizer) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, isSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, isSpace)
	}
	return s
}

type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsMark(r) {
			return -1
		}
		return r
	}, s)
}

type prependNormalizer struct{ prefix string }

func (n prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return n.prefix + s
}

type replaceNormalizer struct {
	pat     pattern
	content string
}

func (n replaceNormalizer) normalize(s string) string {
	return replaceAll(n.pat, s, n.content)
}

// replaceAll substitutes content for every match of pat in s.
func replaceAll(pat pattern, s, content string) string {
	if lit, ok := pat.(literalPattern); ok {
		if s == "" {
			return s
		}
		return strings.ReplaceAll(s, string(lit), content)
	}
	spans := pat.spans(nil, s)
	var b strings.Builder
	b.Grow(len(s))
	for _, sp := range spans {
		if sp.match {
			b.WriteString(content)
		} else {
			b.WriteString(s[sp.start:sp.end])
		}
	}
	return b.String()
}

// byteLevelNormalizer maps every byte to its printable stand-in, like the
// ByteLevel pre-tokenizer does without splitting.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(s string) string { return byteLevelMap(s) }

type sequenceNormalizer []normalizer

func (n sequenceNormalizer) normalize(s string) string {
	for _, x := range n {
		s = x.normalize(s)
	}
	return s
}
