package tokenizer

import (
	"fmt"
	"strings"
)

// Limits on a template's source, checked before gonja parses it: its parser
// recurses once per nesting level (a 200 KB template of nested brackets
// overflowed the Go stack, which no recover catches) and slows down steeply
// with nested parentheses; long chains of operators or attributes inside one
// tag recurse too, and evaluate in time quadratic in their length. Real chat
// templates stay far below: their longest tag has about a hundred bytes of
// code.
const (
	maxTemplateSource  = 1 << 20 // bytes
	maxTemplateNesting = 64      // brackets inside tags plus nested blocks
	maxTagCode         = 1024    // bytes of one tag outside its string literals
)

// blockOpeners are the tags that need an end tag.
var blockOpeners = map[string]bool{"if": true, "for": true, "macro": true, "call": true, "filter": true,
	"block": true, "with": true, "raw": true, "autoescape": true, "generation": true}

// checkSource refuses a template source too long or nested too deeply to
// parse safely; the reason is returned as a limit description.
func checkSource(src string) string {
	if len(src) > maxTemplateSource {
		return fmt.Sprintf("the source is %d bytes, past the limit of %d", len(src), maxTemplateSource)
	}
	blocks, deepest := 0, 0
	for i := 0; i+1 < len(src); i++ {
		if src[i] != '{' || (src[i+1] != '{' && src[i+1] != '%' && src[i+1] != '#') {
			continue
		}
		kind := src[i+1]
		closeTag := string([]byte{map[byte]byte{'{': '}', '%': '%', '#': '#'}[kind], '}'})
		end := strings.Index(src[i+2:], closeTag)
		if end < 0 { // unclosed: gonja still parses to the end before it complains
			end = len(src) - (i + 2)
		}
		body := src[i+2 : i+2+end]
		i += end + 3
		if kind == '#' {
			continue
		}
		if kind == '%' {
			word := strings.Fields(strings.Trim(body, "-+ \t\r\n"))
			if len(word) > 0 {
				switch w := word[0]; {
				case blockOpeners[w] || (w == "set" && !strings.Contains(body, "=")):
					blocks++
				case strings.HasPrefix(w, "end"):
					blocks = max(blocks-1, 0)
				}
			}
		}
		code := 0
		scanCode(body, 0, func(k, depth int) bool {
			code++
			if strings.IndexByte("([{", body[k]) >= 0 {
				deepest = max(deepest, blocks+depth+1)
			}
			return false
		})
		deepest = max(deepest, blocks)
		if code > maxTagCode {
			return fmt.Sprintf("a tag at byte %d holds %d bytes of code, past the limit of %d", i-end-3, code, maxTagCode)
		}
	}
	if deepest > maxTemplateNesting {
		return fmt.Sprintf("blocks and brackets nest %d deep, past the limit of %d", deepest, maxTemplateNesting)
	}
	return ""
}
