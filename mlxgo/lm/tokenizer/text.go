package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isLetter reports whether r is in Unicode category L (\p{L}).
func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

// isNumber reports whether r is in Unicode category N (\p{N}).
func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isSpace reports whether r has the Unicode White_Space property, which is
// what \s means for Oniguruma and Rust's regex crate, and what Rust's
// char::is_whitespace tests.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// isWordChar reports whether r matches \w of Rust's regex crate:
// Alphabetic, Mark, Decimal_Number, Connector_Punctuation or Join_Control.
func isWordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		r == 0x200C || r == 0x200D
}

// isPunct reports whether r is ASCII punctuation or in Unicode category P,
// the test of the Punctuation pre-tokenizer.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return '!' <= r && r <= '/' || ':' <= r && r <= '@' || '[' <= r && r <= '`' || '{' <= r && r <= '~'
	}
	return unicode.IsPunct(r)
}

// lowerFull lower-cases s character by character with the full (not
// context-sensitive) Unicode mapping, as Rust's char::to_lowercase does.
func lowerFull(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == 0x130 { // LATIN CAPITAL LETTER I WITH DOT ABOVE: the one multi-char lowercase mapping
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// validUTF8 returns s with every maximal invalid UTF-8 subsequence replaced
// by U+FFFD, the way Rust's String::from_utf8_lossy and the WHATWG decoder
// do. Valid input is returned unchanged without copying.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendLossy(make([]byte, 0, len(s)+8), s))
}

// lossyBytes converts b to a string the way String::from_utf8_lossy does.
func lossyBytes(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendLossy(make([]byte, 0, len(b)+8), string(b)))
}

const replacementChar = "\uFFFD"

// appendLossy appends s to dst, replacing each maximal subpart of an
// ill-formed sequence by one U+FFFD (Unicode §3.9, "U+FFFD Substitution of
// Maximal Subparts").
func appendLossy(dst []byte, s string) []byte {
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if c < 0x80 {
			dst = append(dst, c)
			i++
			continue
		}
		need := 0
		lo, hi := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F
		case c == 0xF0:
			need, lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F
		default:
			dst = append(dst, replacementChar...)
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < need; k++ {
			if j >= n {
				ok = false
				break
			}
			b := s[j]
			if k == 0 {
				if b < lo || b > hi {
					ok = false
					break
				}
			} else if b < 0x80 || b > 0xBF {
				ok = false
				break
			}
			j++
		}
		if ok {
			dst = append(dst, s[i:j]...)
		} else {
			dst = append(dst, replacementChar...)
		}
		i = j
	}
	return dst
}
