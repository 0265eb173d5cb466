package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// Message is one chat message: "role", "content" and any other fields a
// template reads (such as "tool_calls" or "name").
type Message map[string]any

// ChatOptions are the inputs of ApplyChatTemplate besides the messages.
type ChatOptions struct {
	// AddGenerationPrompt asks the template to end with the header of an
	// assistant turn.
	AddGenerationPrompt bool
	// Tools are JSON-schema tool descriptions, passed as "tools"; nil
	// passes None.
	Tools []map[string]any
	// Extra holds further template variables (for example
	// "enable_thinking"); they override the standard ones.
	Extra map[string]any
	// Limits bound the render; nil means DefaultTemplateLimits.
	Limits *TemplateLimits
}

// HasChatTemplate reports whether Load found a chat template.
func (t *Tokenizer) HasChatTemplate() bool { return t.hasTemplate }

// ChatTemplate returns the chat template source ("" when there is none).
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// SetChatTemplate replaces the chat template used by ApplyChatTemplate.
func (t *Tokenizer) SetChatTemplate(source string) {
	t.chatTemplate, t.hasTemplate, t.chatTemplateFile = source, true, ""
}

// TemplateError is the error of a template that called raise_exception.
type TemplateError struct {
	Message string // the argument of raise_exception
}

// Error implements error.
func (e *TemplateError) Error() string {
	return "tokenizer: chat template raised an exception: " + e.Message
}

// ApplyChatTemplate renders messages with the chat template the way
// transformers' apply_chat_template(tokenize=False) does: Jinja2 with
// trim_blocks and lstrip_blocks, the variables messages, tools,
// add_generation_prompt, bos_token, eos_token, pad_token and unk_token (the
// special tokens only when tokenizer_config.json names them), a tojson
// filter like json.dumps(ensure_ascii=False), and the globals
// raise_exception (which makes this return a *TemplateError) and
// strftime_now.
func (t *Tokenizer) ApplyChatTemplate(messages []Message, opts ChatOptions) (string, error) {
	if !t.hasTemplate {
		return "", errors.New("tokenizer: no chat template (neither chat_template.jinja nor tokenizer_config.json's chat_template)")
	}
	limits := DefaultTemplateLimits
	if opts.Limits != nil {
		limits = *opts.Limits
	}
	return renderTemplate(t.chatTemplate, t.chatTemplateFile, t.chatVars(messages, opts), limits)
}

// chatVars builds the template variables of ApplyChatTemplate.
func (t *Tokenizer) chatVars(messages []Message, opts ChatOptions) map[string]any {
	vars := map[string]any{
		"add_generation_prompt": opts.AddGenerationPrompt,
	}
	msgs := make([]any, len(messages))
	for i, m := range messages {
		msgs[i] = normalizeValue(map[string]any(m))
	}
	vars["messages"] = msgs
	if opts.Tools != nil {
		tools := make([]any, len(opts.Tools))
		for i, x := range opts.Tools {
			tools[i] = normalizeValue(x)
		}
		vars["tools"] = tools
	} else {
		vars["tools"] = nil
	}
	for name, val := range map[string]string{
		"bos_token": t.bosToken, "eos_token": t.eosToken, "pad_token": t.padToken, "unk_token": t.unkToken,
	} {
		if val != "" {
			vars[name] = val
		}
	}
	for k, v := range opts.Extra {
		vars[k] = normalizeValue(v)
	}
	return vars
}

var (
	chatEnvOnce sync.Once
	chatEnv     *exec.Environment
	chatConfig  *config.Config
	tplCache    sync.Map // source -> *chatTemplate
)

// refusedInChat are the tags that would read other templates: a chat
// template is one source, and must not read files.
var refusedInChat = []string{"include", "import", "from", "extends"}

func chatEnvironment() (*exec.Environment, *config.Config) {
	chatEnvOnce.Do(func() {
		filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
		_ = filters.Replace("tojson", filterToJSON)
		boundFilters(filters)
		ctx := exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
		ctx.Set("strftime_now", func(format string) string { return strftime(time.Now(), format) })
		ctx.Set("range", boundedRange)
		ctx.Set(binopName, binop)
		structures := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures)
		_ = structures.Register("generation", parseGeneration)
		for _, name := range refusedInChat {
			_ = structures.Replace(name, func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
				return nil, p.Error(fmt.Sprintf("%q is not allowed in a chat template (it would read another file)", name), p.Current())
			})
		}
		chatEnv = &exec.Environment{
			Context:           ctx,
			Filters:           filters,
			Tests:             builtins.Tests,
			ControlStructures: structures,
			Methods:           builtins.Methods,
		}
		chatConfig = config.New()
		chatConfig.TrimBlocks = true
		chatConfig.LeftStripBlocks = true
	})
	return chatEnv, chatConfig
}

// chatTemplate is a compiled chat template, its syntax tree rewritten by
// boundTemplate.
type chatTemplate struct {
	tpl    *exec.Template
	loader loaders.Loader
	cond   func(*exec.Evaluator, *exec.VarArgs) *exec.Value // condName
}

// compileTemplate parses source once (cached). gonja's parser can panic on
// malformed input (`{% if 0 is %}` dereferences a missing token); that becomes
// a parse error.
func compileTemplate(source string) (ct *chatTemplate, err error) {
	defer func() {
		if r := recover(); r != nil {
			ct, err = nil, fmt.Errorf("chat template does not parse: %v", r)
		}
	}()
	if v, ok := tplCache.Load(source); ok {
		return v.(*chatTemplate), nil
	}
	env, cfg := chatEnvironment()
	const name = "/chat_template"
	loader, err := loaders.NewMemoryLoader(map[string]string{name: rewriteConditionals(source)})
	if err != nil {
		return nil, err
	}
	tpl, err := exec.NewTemplate(name, cfg, loader, env)
	if err != nil {
		return nil, fmt.Errorf("chat template does not parse: %v", err)
	}
	ct = &chatTemplate{tpl: tpl, loader: loader, cond: condFunc(boundTemplate(tpl.Root()))}
	tplCache.Store(source, ct)
	return ct, nil
}

// renderTemplate renders a Jinja template source with vars under limits;
// name says where the template came from, for errors.
func renderTemplate(source, name string, vars map[string]any, limits TemplateLimits) (out string, err error) {
	if name == "" {
		name = "(set with SetChatTemplate)"
	}
	if why := checkSource(source); why != "" {
		return "", &TemplateLimitError{Template: name, Limit: why}
	}
	ct, err := compileTemplate(source)
	if err != nil {
		return "", fmt.Errorf("tokenizer: %s: %v", name, err)
	}
	b := &budget{limits: limits, template: name, deadline: time.Now().Add(limits.Timeout)}
	var raised *TemplateError
	env, cfg := chatEnvironment()
	data := env.Context.Inherit()
	for k, v := range vars {
		data.Set(k, v)
	}
	data.Set(budgetKey, b)
	data.Set(condName, ct.cond)
	data.Set("raise_exception", func(msg string) (string, error) {
		raised = &TemplateError{Message: msg}
		return "", raised
	})
	methods := env.Methods
	methods.Str = boundStrMethods(env.Methods.Str, b)
	var buf bytes.Buffer
	r := exec.NewRenderer(&exec.Environment{
		Context:           data,
		Filters:           env.Filters,
		Tests:             env.Tests,
		ControlStructures: env.ControlStructures,
		Methods:           methods,
	}, &limitWriter{w: &buf, b: b}, cfg, ct.loader, ct.tpl)
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("tokenizer: chat template %s failed: %v", name, r)
		}
	}()
	err = r.Execute()
	switch {
	case raised != nil:
		return "", raised
	case b.err != nil:
		return "", b.err
	case err != nil:
		return "", fmt.Errorf("tokenizer: chat template %s failed: %v", name, err)
	}
	return buf.String(), nil
}

// normalizeValue converts JSON-decoded values to what templates expect:
// json.Number becomes an int64 or a float64, a float64 with an integral
// value becomes an int64 (encoding/json decodes every number as float64,
// where Python's json.loads gives an int), named map and slice types become
// map[string]any and []any.
func normalizeValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int64:
		return v
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)) {
			return int64(x)
		}
		return v
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case Message:
		return normalizeValue(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case []Message:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	return v
}

// filterToJSON is transformers' tojson: json.dumps(x, ensure_ascii=False,
// indent=None, separators=None, sort_keys=False).
func filterToJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	opts := jsonOpts{itemSep: ", ", keySep: ": ", indent: -1}
	bud := budgetOf(e.Environment.Context)
	if bud != nil {
		opts.limit = int(bud.limits.MaxBytes - bud.bytes)
	}
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	args := map[string]*exec.Value{}
	for i, a := range params.Args {
		if i >= len(names) {
			return exec.AsValue(errors.New("tojson: too many arguments"))
		}
		args[names[i]] = a
	}
	for k, a := range params.KwArgs {
		args[k] = a
	}
	for k, a := range args {
		switch k {
		case "ensure_ascii":
			opts.ascii = a.IsTrue()
		case "indent":
			switch {
			case a.IsNil():
			case a.IsInteger() && a.Integer() > maxJSONIndent:
				return exec.AsValue(tooBig(bud, fmt.Sprintf("tojson: indent %d is past the limit of %d", a.Integer(), maxJSONIndent)))
			case a.IsInteger():
				opts.indent = max(a.Integer(), 0)
				opts.indentStr = strings.Repeat(" ", opts.indent)
			case a.IsString() && len(a.String()) > maxJSONIndent:
				return exec.AsValue(tooBig(bud, fmt.Sprintf("tojson: indent of %d characters is past the limit of %d", len(a.String()), maxJSONIndent)))
			case a.IsString():
				opts.indent = 0
				opts.indentStr = a.String()
			default:
				return exec.AsValue(fmt.Errorf("tojson: indent must be an integer or a string"))
			}
		case "separators":
			if !a.IsNil() {
				if !a.IsList() || a.Len() != 2 {
					return exec.AsValue(errors.New("tojson: separators must be a pair of strings"))
				}
				opts.customSep = true
				opts.itemSep, opts.keySep = a.Index(0).String(), a.Index(1).String()
			}
		case "sort_keys":
			opts.sortKeys = a.IsTrue()
		default:
			return exec.AsValue(fmt.Errorf("tojson: unexpected argument %q", k))
		}
	}
	if opts.indentStr != "" || (opts.indent >= 0) {
		if !opts.customSep {
			opts.itemSep = ","
		}
	}
	var b strings.Builder
	if err := writePyJSON(&b, in.Interface(), opts, 0); err != nil {
		return exec.AsValue(err)
	}
	return exec.AsSafeValue(b.String())
}

// tooBig reports a limit of tojson through the render's budget.
func tooBig(b *budget, msg string) error {
	if b == nil {
		return errors.New(msg)
	}
	return b.fail("%s", msg)
}

// maxJSONIndent bounds tojson's indent (chat templates use 2 or 4).
const maxJSONIndent = 1000

type jsonOpts struct {
	limit     int // bytes the output may reach; 0: no limit
	ascii     bool
	indent    int // -1: no newlines
	indentStr string
	itemSep   string
	keySep    string
	customSep bool
	sortKeys  bool
}

func (o jsonOpts) newline(b *strings.Builder, level int) {
	if o.indent < 0 {
		return
	}
	b.WriteByte('\n')
	for i := 0; i < level; i++ {
		b.WriteString(o.indentStr)
	}
}

// writePyJSON serializes v like Python's json.dumps.
func writePyJSON(b *strings.Builder, v any, o jsonOpts, level int) error {
	if level > 100 {
		return errors.New("tojson: value nested too deeply")
	}
	if o.limit > 0 && b.Len() > o.limit {
		return fmt.Errorf("tojson: output past the limit of %d bytes", o.limit)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return nil
	case *exec.Value:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		return writePyJSON(b, x.Interface(), o, level)
	case exec.Dict:
		return writePyDict(b, x.Pairs, o, level)
	case *exec.Dict:
		return writePyDict(b, x.Pairs, o, level)
	case string:
		writePyString(b, x, o.ascii)
		return nil
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		return nil
	case json.Number:
		b.WriteString(x.String())
		return nil
	case float64:
		b.WriteString(pyFloat(x))
		return nil
	case float32:
		b.WriteString(pyFloat(float64(x)))
		return nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
		return nil
	case reflect.Float32, reflect.Float64:
		b.WriteString(pyFloat(rv.Float()))
		return nil
	case reflect.String:
		writePyString(b, rv.String(), o.ascii)
		return nil
	case reflect.Bool:
		return writePyJSON(b, rv.Bool(), o, level)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return writePyJSON(b, rv.Elem().Interface(), o, level)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("[]")
			return nil
		}
		if rv.Len() == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			o.newline(b, level+1)
			if err := writePyJSON(b, rv.Index(i).Interface(), o, level+1); err != nil {
				return err
			}
		}
		o.newline(b, level)
		b.WriteByte(']')
		return nil
	case reflect.Map:
		keys := rv.MapKeys()
		pairs := make([]*exec.Pair, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, &exec.Pair{Key: exec.AsValue(k.Interface()), Value: exec.AsValue(rv.MapIndex(k).Interface())})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].Key.String() < pairs[j].Key.String() })
		return writePyDict(b, pairs, o, level)
	}
	return fmt.Errorf("tojson: cannot serialize %T", v)
}

func writePyDict(b *strings.Builder, pairs []*exec.Pair, o jsonOpts, level int) error {
	if len(pairs) == 0 {
		b.WriteString("{}")
		return nil
	}
	if o.sortKeys {
		pairs = append([]*exec.Pair(nil), pairs...)
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].Key.String() < pairs[j].Key.String() })
	}
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(o.itemSep)
		}
		o.newline(b, level+1)
		k := p.Key
		switch {
		case k.IsString():
			writePyString(b, k.String(), o.ascii)
		case k.IsBool():
			if k.Bool() {
				writePyString(b, "true", o.ascii)
			} else {
				writePyString(b, "false", o.ascii)
			}
		case k.IsNil():
			writePyString(b, "null", o.ascii)
		case k.IsInteger():
			writePyString(b, strconv.Itoa(k.Integer()), o.ascii)
		case k.IsFloat():
			writePyString(b, pyFloat(k.Float()), o.ascii)
		default:
			return fmt.Errorf("tojson: keys must be str, int, float, bool or None")
		}
		b.WriteString(o.keySep)
		if err := writePyJSON(b, p.Value, o, level+1); err != nil {
			return err
		}
	}
	o.newline(b, level)
	b.WriteByte('}')
	return nil
}

// pyFloat formats f like Python's float.__repr__ (as json.dumps does).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	es := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(es, "e")
	e, _ := strconv.Atoi(exp)
	if e >= -4 && e < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	// Python writes at least two exponent digits: 1e-05, 1e+16.
	sign := "+"
	if e < 0 {
		sign, e = "-", -e
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, e)
}

func writePyString(b *strings.Builder, s string, ascii bool) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (ascii && r >= 0x7f && r < 0x10000):
				if r == 0x7f && ascii {
					b.WriteRune(r)
					continue
				}
				b.WriteString(`\u`)
				b.WriteByte(hex[r>>12&15])
				b.WriteByte(hex[r>>8&15])
				b.WriteByte(hex[r>>4&15])
				b.WriteByte(hex[r&15])
			case ascii && r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				for _, x := range []rune{r1, r2} {
					b.WriteString(`\u`)
					b.WriteByte(hex[x>>12&15])
					b.WriteByte(hex[x>>8&15])
					b.WriteByte(hex[x>>4&15])
					b.WriteByte(hex[x&15])
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// strftime formats t with the C/Python directives that chat templates use.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%02d", h)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
