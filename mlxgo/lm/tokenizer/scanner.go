package tokenizer

import "unicode/utf8"

// The split patterns of the GPT-2, Llama-3 and Qwen2 families, recognised
// verbatim in tokenizer.json and run by wordScanner instead of a regex engine.
const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Pattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// wordScanner is a hand-written matcher equivalent to one of the patterns
// above under backtracking (Oniguruma / Perl) semantics. All three patterns
// match at every position, so a scan yields contiguous words.
type wordScanner struct {
	// llamaStyle selects the Llama-3/Qwen2 alternatives: case-insensitive
	// contractions, an optional non-letter prefix before letters, punctuation
	// followed by newlines, and whitespace ending in newlines.
	llamaStyle bool
	// maxDigits is the longest run of digits in one word; 0 means unbounded
	// with an optional leading space (GPT-2).
	maxDigits int
}

func scannerFor(pattern string) *wordScanner {
	switch pattern {
	case gpt2Pattern:
		return &wordScanner{}
	case llama3Pattern:
		return &wordScanner{llamaStyle: true, maxDigits: 3}
	case qwen2Pattern:
		return &wordScanner{llamaStyle: true, maxDigits: 1}
	}
	return nil
}

// charClass is the category of a character as the patterns see it.
type charClass uint8

const (
	clsEnd charClass = iota // past the end of the text
	clsLetter
	clsNumber
	clsSpace   // whitespace other than \r and \n
	clsNewline // \r or \n
	clsOther
)

func classOf(s string, i int) (charClass, rune, int) {
	if i >= len(s) {
		return clsEnd, 0, 0
	}
	c := s[i]
	if c < utf8.RuneSelf {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			return clsLetter, rune(c), 1
		case '0' <= c && c <= '9':
			return clsNumber, rune(c), 1
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			return clsSpace, rune(c), 1
		case c == '\r' || c == '\n':
			return clsNewline, rune(c), 1
		}
		return clsOther, rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case isLetter(r):
		return clsLetter, r, n
	case isNumber(r):
		return clsNumber, r, n
	case isSpace(r):
		return clsSpace, r, n
	}
	return clsOther, r, n
}

func isWS(c charClass) bool { return c == clsSpace || c == clsNewline }

// contraction returns the length of a contraction ('s 't 're 've 'm 'll 'd)
// at s[i:], where s[i] == '\”, or 0.
func contraction(s string, i int, fold bool) int {
	j := i + 1
	if j >= len(s) {
		return 0
	}
	// one matches a single letter (ASCII, or its case-folding equivalents).
	one := func(j int, lower byte) int {
		if j >= len(s) {
			return 0
		}
		c := s[j]
		if c == lower {
			return 1
		}
		if !fold {
			return 0
		}
		if c == lower-'a'+'A' {
			return 1
		}
		// U+017F LATIN SMALL LETTER LONG S folds to 's'; U+212A KELVIN SIGN to 'k'.
		if lower == 's' && len(s)-j >= 2 && s[j] == 0xC5 && s[j+1] == 0xBF {
			return 2
		}
		return 0
	}
	if n := one(j, 's'); n > 0 {
		return 1 + n
	}
	if n := one(j, 't'); n > 0 {
		return 1 + n
	}
	if n := one(j, 'r'); n > 0 {
		if m := one(j+n, 'e'); m > 0 {
			return 1 + n + m
		}
	}
	if n := one(j, 'v'); n > 0 {
		if m := one(j+n, 'e'); m > 0 {
			return 1 + n + m
		}
	}
	if n := one(j, 'm'); n > 0 {
		return 1 + n
	}
	if n := one(j, 'l'); n > 0 {
		if m := one(j+n, 'l'); m > 0 {
			return 1 + n + m
		}
	}
	if n := one(j, 'd'); n > 0 {
		return 1 + n
	}
	return 0
}

// runOf returns the end of the run of characters starting at i whose class
// satisfies keep.
func runOf(s string, i int, keep func(charClass) bool) int {
	for i < len(s) {
		c, _, n := classOf(s, i)
		if !keep(c) {
			break
		}
		i += n
	}
	return i
}

func isLetterClass(c charClass) bool { return c == clsLetter }
func isNumberClass(c charClass) bool { return c == clsNumber }
func isOtherClass(c charClass) bool  { return c == clsOther }
func isNewlineClass(c charClass) bool {
	return c == clsNewline
}

// next returns the end of the word that starts at s[i:] (i < len(s)).
func (w *wordScanner) next(s string, i int) int {
	c0, _, n0 := classOf(s, i)
	if s[i] == '\'' {
		if n := contraction(s, i, w.llamaStyle); n > 0 {
			return i + n
		}
	}
	if w.llamaStyle {
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if c0 == clsLetter {
			return runOf(s, i, isLetterClass)
		}
		if c0 != clsNewline && c0 != clsNumber {
			if c1, _, _ := classOf(s, i+n0); c1 == clsLetter {
				return runOf(s, i+n0, isLetterClass)
			}
		}
		// \p{N}{1,maxDigits}
		if c0 == clsNumber {
			j := i + n0
			for k := 1; k < w.maxDigits; k++ {
				c, _, n := classOf(s, j)
				if c != clsNumber {
					break
				}
				j += n
			}
			return j
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		start := i
		if s[i] == ' ' {
			if c1, _, _ := classOf(s, i+1); c1 == clsOther {
				start = i + 1
			}
		}
		if c, _, _ := classOf(s, start); c == clsOther {
			j := runOf(s, start, isOtherClass)
			return runOf(s, j, isNewlineClass)
		}
		// From here on s[i] is whitespace.
		wsEnd := runOf(s, i, isWS)
		// \s*[\r\n]+ : the whitespace run up to its last newline (inclusive).
		lastNL := -1
		for j := i; j < wsEnd; {
			c, _, n := classOf(s, j)
			if c == clsNewline {
				lastNL = j + n
			}
			j += n
		}
		if lastNL >= 0 {
			return lastNL
		}
		return spaceTail(s, i, wsEnd)
	}
	// GPT-2: ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+'
	start := i
	c := c0
	if s[i] == ' ' {
		if c1, _, _ := classOf(s, i+1); c1 == clsLetter || c1 == clsNumber || c1 == clsOther {
			start, c = i+1, c1
		}
	}
	switch c {
	case clsLetter:
		return runOf(s, start, isLetterClass)
	case clsNumber:
		return runOf(s, start, isNumberClass)
	case clsOther:
		return runOf(s, start, isOtherClass)
	}
	return spaceTail(s, i, runOf(s, i, isWS))
}

// spaceTail implements '\s+(?!\S)|\s+' for a whitespace run s[i:wsEnd].
func spaceTail(s string, i, wsEnd int) int {
	if wsEnd >= len(s) {
		return wsEnd
	}
	// Give back the last whitespace character so the next word can take it,
	// unless the run is a single character.
	_, last := utf8.DecodeLastRuneInString(s[:wsEnd])
	if wsEnd-last > i {
		return wsEnd - last
	}
	return wsEnd
}
