package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// decoder turns tokens back into text, one step of a chain.
type decoder interface {
	decodeChain(tokens []string) []string
}

type byteLevelDec struct{}

func (byteLevelDec) decodeChain(tokens []string) []string {
	n := 0
	for _, t := range tokens {
		n += len(t)
	}
	buf := make([]byte, 0, n)
	for _, t := range tokens {
		mark := len(buf)
		ok := true
		for _, r := range t {
			b, found := runeToByte[r]
			if !found {
				ok = false
				break
			}
			buf = append(buf, b)
		}
		if !ok {
			buf = append(buf[:mark], t...)
		}
	}
	return []string{lossyBytes(buf)}
}

type byteFallbackDec struct{}

func parseByteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v := 0
	for _, c := range []byte(t[3:5]) {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= int(c - '0')
		case 'a' <= c && c <= 'f':
			v |= int(c-'a') + 10
		case 'A' <= c && c <= 'F':
			v |= int(c-'A') + 10
		default:
			return 0, false
		}
	}
	return byte(v), true
}

func (byteFallbackDec) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, replacementChar)
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if b, ok := parseByteToken(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDec struct{}

func (fuseDec) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

type stripDec struct {
	content     rune
	start, stop int
}

func (d stripDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for k, t := range tokens {
		rs := []rune(t)
		startCut := 0
		for i := 0; i < d.start && i < len(rs); i++ {
			if rs[i] != d.content {
				break
			}
			startCut = i + 1
		}
		stopCut := len(rs)
		for i := 0; i < d.stop; i++ {
			idx := len(rs) - i - 1
			if idx < 0 || rs[idx] != d.content {
				break
			}
			stopCut = idx
		}
		if startCut > stopCut {
			startCut = stopCut
		}
		out[k] = string(rs[startCut:stopCut])
	}
	return out
}

type replaceDec struct {
	pat     pattern
	content string
}

func (d replaceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for k, t := range tokens {
		out[k] = replaceAll(d.pat, t, d.content)
	}
	return out
}

type metaspaceDec struct {
	replacement rune
	scheme      prependScheme
}

func (d metaspaceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for k, t := range tokens {
		if !strings.ContainsRune(t, d.replacement) {
			out[k] = t
			continue
		}
		var b strings.Builder
		for _, r := range t {
			if r == d.replacement {
				if k == 0 && d.scheme != prependNever {
					continue
				}
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
		out[k] = b.String()
	}
	return out
}

type bpeDec struct{ suffix string }

func (d bpeDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for k, t := range tokens {
		rep := " "
		if k == len(tokens)-1 {
			rep = ""
		}
		if d.suffix == "" {
			out[k] = t
			continue
		}
		out[k] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return out
}

type sequenceDec []decoder

func (d sequenceDec) decodeChain(tokens []string) []string {
	for _, x := range d {
		tokens = x.decodeChain(tokens)
	}
	return tokens
}
