package tokenizer

import (
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Jinja's conditional expression, `A if C else B`, may stand wherever an
// expression may: `(x if c else y)`, `f(a if c else b)`, `{% set v = a if c
// else b %}`. gonja parses it only as the whole of a {{ }} tag, so real
// templates that use it elsewhere (Gemma 3's, for one) do not parse. Before
// parsing, rewriteConditionals turns every conditional expression into a
// call, condFuncSource(C, A, B); after parsing, lazyConditionals turns each
// such call into one of condName that evaluates only the branch C chooses, as
// Python does (`messages[0] if messages else none` must not index an empty
// list).

// condFuncSource is the name the rewritten source calls.
const condFuncSource = "__mlxgo_cond"

// condName is the function the syntax tree calls after lazyConditionals; the
// space makes it a name no template can write.
const condName = "mlxgo cond"

// rewriteConditionals rewrites the conditional expressions in the tags of a
// template source. Text, comments and raw blocks are left as they are; the
// newlines of a tag are kept, so errors name the same lines.
func rewriteConditionals(src string) string {
	if !strings.Contains(src, "else") {
		return src
	}
	var out strings.Builder
	i := 0
	for i < len(src) {
		j := strings.Index(src[i:], "{")
		if j < 0 || i+j+1 >= len(src) {
			break
		}
		j += i
		kind := src[j+1]
		if kind != '{' && kind != '%' && kind != '#' {
			out.WriteString(src[i : j+1])
			i = j + 1
			continue
		}
		closeTag := string([]byte{map[byte]byte{'{': '}', '%': '%', '#': '#'}[kind], '}'})
		end := tagEnd(src, j+2, closeTag)
		if end < 0 {
			break
		}
		out.WriteString(src[i : j+2])
		body := src[j+2 : end]
		if kind == '#' {
			out.WriteString(body)
			i = end
			continue
		}
		lead, code, trail := splitTrim(body)
		out.WriteString(lead)
		if kind == '{' {
			out.WriteString(rewriteRegion(code))
		} else {
			out.WriteString(rewriteStatement(code))
		}
		out.WriteString(trail)
		i = end
		if kind == '%' && strings.HasPrefix(strings.TrimSpace(code), "raw") {
			// Copy the raw block's content as it is.
			k := strings.Index(src[i:], "endraw")
			if k < 0 {
				break
			}
			k = strings.LastIndex(src[:i+k], "{%")
			if k < i {
				k = i
			}
			out.WriteString(src[i:k])
			i = k
		}
	}
	out.WriteString(src[i:])
	return out.String()
}

// tagEnd returns the index of closeTag ending the tag whose code starts at
// from, skipping string literals; -1 when there is none.
func tagEnd(src string, from int, closeTag string) int {
	if closeTag == "#}" {
		if k := strings.Index(src[from:], "#}"); k >= 0 {
			return from + k
		}
		return -1
	}
	return scanCode(src, from, func(k, depth int) bool {
		return depth == 0 && src[k] == closeTag[0] && k+1 < len(src) && src[k+1] == '}'
	})
}

// splitTrim splits a tag's body into its whitespace-control marks and
// spaces on either side, and its code.
func splitTrim(body string) (lead, code, trail string) {
	l := len(body) - len(strings.TrimLeft(body, "-+ \t\r\n"))
	r := len(strings.TrimRight(body, "-+ \t\r\n"))
	if r < l {
		return body, "", ""
	}
	return body[:l], body[l:r], body[r:]
}

// rewriteStatement rewrites the expressions of a {% %} tag: after `set
// name =`, the whole right-hand side; after if, elif and other keywords, the
// rest (a for loop's own `if` filter has no else and stays).
func rewriteStatement(code string) string {
	word := code
	if k := strings.IndexAny(code, " \t\r\n("); k >= 0 {
		word = code[:k]
	}
	rest := code[len(word):]
	if word == "set" {
		if k := topLevelAssign(rest); k >= 0 {
			return word + rest[:k+1] + rewriteRegion(rest[k+1:])
		}
	}
	return word + rewriteRegion(rest)
}

// topLevelAssign returns the index of the first `=` of an assignment (not
// ==, !=, <=, >=) outside brackets and strings, or -1.
func topLevelAssign(s string) int {
	return scanCode(s, 0, func(k, depth int) bool {
		return depth == 0 && s[k] == '=' && (k+1 == len(s) || s[k+1] != '=') &&
			(k == 0 || strings.IndexByte("=!<>", s[k-1]) < 0)
	})
}

// rewriteRegion rewrites an expression region: the code of a tag or what is
// inside one pair of brackets. Its top-level parts, separated by commas and
// colons, are rewritten one by one; the brackets inside each are rewritten
// as regions of their own.
func rewriteRegion(s string) string {
	var out, part strings.Builder
	quote := byte(0)
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case quote != 0:
			if c == '\\' && k+1 < len(s) {
				part.WriteByte(c)
				k++
				c = s[k]
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[' || c == '{':
			if e := closingBracket(s, k); e > k {
				part.WriteByte(c)
				part.WriteString(rewriteRegion(s[k+1 : e]))
				k, c = e, s[e]
			}
		case c == ',' || c == ':':
			out.WriteString(rewritePart(part.String()))
			out.WriteByte(c)
			part.Reset()
			continue
		}
		part.WriteByte(c)
	}
	out.WriteString(rewritePart(part.String()))
	return out.String()
}

// closingBracket returns the index of the bracket closing the one at open,
// skipping strings; -1 when it is not closed.
func closingBracket(s string, open int) int {
	return scanCode(s, open, func(k, depth int) bool {
		return depth == 1 && strings.IndexByte(")]}", s[k]) >= 0
	})
}

// rewritePart rewrites one top-level expression (brackets inside it already
// rewritten): `A if C else B` becomes `__mlxgo_cond(C, A, B)`, with B
// rewritten in turn (conditionals chain to the right).
func rewritePart(s string) string {
	if k := topLevelAssign(s); k >= 0 {
		// A keyword argument or default, name=value: the value is the expression.
		return s[:k+1] + rewritePart(s[k+1:])
	}
	i := topLevelWord(s, "if", 0)
	if i < 0 || strings.TrimSpace(s[:i]) == "" {
		return s
	}
	e := topLevelWord(s, "else", i+2)
	if e < 0 {
		return s
	}
	a, c, b := s[:i], s[i+2:e], rewritePart(s[e+4:])
	lead := a[:len(a)-len(strings.TrimLeft(a, " \t\r\n"))]
	return lead + condFuncSource + "(" + c + ", " + strings.TrimLeft(a, " \t\r\n") + ", " + strings.TrimLeft(b, " \t\r\n") + ")"
}

// topLevelWord returns the index of word as a whole word in s at or after
// from, outside strings and brackets; -1 when absent.
func topLevelWord(s, word string, from int) int {
	return scanCode(s, 0, func(k, depth int) bool {
		return depth == 0 && k >= from && strings.HasPrefix(s[k:], word) &&
			(k == 0 || !isNameByte(s[k-1])) && (k+len(word) == len(s) || !isNameByte(s[k+len(word)]))
	})
}

// scanCode walks s from index from and calls visit for every byte outside string
// literals ('…' or "…", with backslash escapes; the quotes themselves are not
// visited), with depth the number of brackets open before it (never below 0). It
// returns the first index where visit returns true, or -1: the one walk behind every
// "outside strings and brackets" search of the template rewriting and checks.
func scanCode(s string, from int, visit func(k, depth int) bool) int {
	depth, quote := 0, byte(0)
	for k := from; k < len(s); k++ {
		c := s[k]
		switch {
		case quote != 0 && c == '\\':
			k++
			continue
		case quote != 0:
			if c == quote {
				quote = 0
			}
			continue
		case c == '\'' || c == '"':
			quote = c
			continue
		}
		if visit(k, depth) {
			return k
		}
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// condBranches are the two branches of one conditional expression.
type condBranches struct{ then, els nodes.Expression }

// lazyConditional turns a call of condFuncSource with three arguments into
// a call of condName with the condition and the index of its branches in
// *branches; ok is false for any other node.
func lazyConditional(n any, branches *[]condBranches) (*nodes.Call, bool) {
	call, ok := n.(*nodes.Call)
	if !ok || len(call.Args) != 3 || len(call.Kwargs) != 0 {
		return nil, false
	}
	name, ok := call.Func.(*nodes.Name)
	if !ok || name.Name.Val != condFuncSource {
		return nil, false
	}
	tok := name.Name
	*branches = append(*branches, condBranches{call.Args[1], call.Args[2]})
	return &nodes.Call{
		Location: call.Location,
		Func:     &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: condName, Line: tok.Line, Col: tok.Col, Pos: tok.Pos}},
		Args:     []nodes.Expression{call.Args[0], &nodes.Integer{Location: tok, Val: len(*branches) - 1}},
		Kwargs:   map[string]nodes.Expression{},
	}, true
}

// condFunc is the function condName names in a render of a template whose
// conditionals are branches: it evaluates the branch the condition chooses.
func condFunc(branches []condBranches) func(*exec.Evaluator, *exec.VarArgs) *exec.Value {
	return func(e *exec.Evaluator, va *exec.VarArgs) *exec.Value {
		if len(va.Args) != 2 || !va.Args[1].IsInteger() || va.Args[1].Integer() >= len(branches) {
			return exec.AsValue(fmt.Errorf("tokenizer: %s called with arguments %v", condName, va.Args))
		}
		if b := budgetOf(e.Environment.Context); b == nil {
			return exec.AsValue(fmt.Errorf("tokenizer: chat template rendered without limits"))
		} else if err := b.step(); err != nil {
			return exec.AsValue(err)
		}
		br := branches[va.Args[1].Integer()]
		if va.Args[0].IsTrue() {
			return e.Eval(br.then)
		}
		return e.Eval(br.els)
	}
}

// generationBlock is transformers' {% generation %} tag (its
// AssistantTracker extension), which marks the assistant's part of a
// template (SmolLM3's, for one) and renders its body in a scope of its own,
// as jinja2 renders a call block.
type generationBlock struct{ body *nodes.Wrapper }

func (g *generationBlock) Position() *tokens.Token { return g.body.Position() }
func (g *generationBlock) String() string          { return "generation" }

// Execute implements exec.ControlStructure.
func (g *generationBlock) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	return r.Inherit().ExecuteWrapper(g.body)
}

func parseGeneration(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	body, _, err := p.WrapUntil("endgeneration")
	if err != nil {
		return nil, err
	}
	if !args.Stream().End() {
		return nil, args.Error("generation takes no arguments", nil)
	}
	return &generationBlock{body: body}, nil
}
