package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Names of gonja's filters and string methods (v2.9.1), each wrapped by
// boundFilters and boundStrMethods.
var (
	filterNames = strings.Fields(`abs attr batch capitalize center default d dictsort e escape
		filesizeformat first float forceescape format groupby indent int join items last length
		count list lower map max min pprint random rejectattr reject replace reverse round safe
		selectattr select slice sort string striptags sum title tojson trim truncate unique upper
		urlencode urlize wordcount wordwrap xmlattr`)
	strMethodNames = strings.Fields(`capitalize capwords casefold center count encode endswith
		expandtabs find format format_map isalnum isalpha isascii isdecimal isdigit islower
		isnumeric isprintable isspace istitle isupper join ljust lower lstrip partition
		removeprefix removesuffix replace rfind rjust rpartition rsplit rstrip split splitlines
		startswith strip swapcase title upper zfill`)
)

// preSize estimates, before running it, how many bytes a filter or string
// method named name builds from in and args; -1 when it cannot grow its
// input much beyond what it is given.
func preSize(name string, in *exec.Value, va *exec.VarArgs) int64 {
	args := va.Args
	inLen := int64(0)
	if in.IsString() {
		inLen = int64(len(in.String()))
	}
	// Widths, counts and indents: no argument may ask for more bytes than
	// the budget holds.
	var widest int64
	for _, a := range args {
		if a.IsInteger() {
			widest = max(widest, int64(a.Integer()))
		}
	}
	for _, a := range va.KwArgs {
		if a.IsInteger() {
			widest = max(widest, int64(a.Integer()))
		}
	}
	switch name {
	case "join":
		// filter: in is the list, args[0] the separator; method: in is the
		// separator, args[0] the list.
		list, sep := in, ""
		if len(args) > 0 {
			sep = args[0].String()
		}
		if in.IsString() && len(args) > 0 {
			list, sep = args[0], in.String()
		}
		if !list.IsList() && !list.IsDict() {
			return inLen
		}
		total := int64(0)
		list.Iterate(func(_, _ int, k, _ *exec.Value) bool {
			total += int64(len(k.String())) + int64(len(sep))
			return total < 1<<40
		}, func() {})
		return total
	case "replace":
		if len(args) < 2 || !in.IsString() {
			return inLen
		}
		old, repl := args[0].String(), args[1].String()
		n := int64(strings.Count(in.String(), old))
		return inLen + mulSize(n, int64(len(repl)))
	case "indent":
		lines := int64(strings.Count(in.String(), "\n") + 1)
		w := widest
		if len(args) > 0 && args[0].IsString() {
			w = int64(len(args[0].String()))
		}
		return inLen + mulSize(lines, w)
	case "wordwrap":
		wrap := int64(1)
		if len(args) > 2 {
			wrap = int64(len(args[2].String()))
		}
		return inLen + mulSize(inLen, wrap)
	case "expandtabs":
		return inLen + mulSize(int64(strings.Count(in.String(), "\t")), widest)
	case "format", "format_map":
		return inLen + formatWidth(in.String()) + widest
	}
	return inLen + widest
}

// formatWidth is the largest number written in a format string: the widest
// field a %-format or str.format can pad to.
func formatWidth(s string) int64 {
	var widest, n int64
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = min(n*10+int64(s[i]-'0'), 1<<50)
			continue
		}
		widest, n = max(widest, n), 0
	}
	return widest
}

// resultSize is the size charged for a filter or method result.
func resultSize(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x))
	case *exec.Value:
		if x.IsString() {
			return int64(len(x.String()))
		}
		if x.IsList() {
			return listItemCost * int64(x.Len())
		}
	}
	return 0
}

// boundFilters wraps every filter of fs with preSize and resultSize checks.
func boundFilters(fs *exec.FilterSet) {
	for _, name := range filterNames {
		f, ok := fs.Get(name)
		if !ok {
			continue
		}
		_ = fs.Replace(name, func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
			b := budgetOf(e.Environment.Context)
			if b == nil {
				return exec.AsValue(fmt.Errorf("tokenizer: chat template rendered without limits"))
			}
			if err := b.fits("filter "+name, preSize(name, in, params)); err != nil {
				return exec.AsValue(err)
			}
			out := f(e, in, params)
			if err := b.charge(resultSize(out)); err != nil {
				return exec.AsValue(err)
			}
			return out
		})
	}
}

// pyStrip are str.strip, lstrip and rstrip without arguments.
var pyStrip = map[string]func(string, func(rune) bool) string{
	"strip": strings.TrimFunc, "lstrip": strings.TrimLeftFunc, "rstrip": strings.TrimRightFunc,
}

// boundStrMethods is gonja's string methods, each checked like a filter
// against b (methods see no context, so the set is made for each render).
func boundStrMethods(ms *exec.MethodSet[string], b *budget) *exec.MethodSet[string] {
	out := map[string]exec.Method[string]{}
	for _, name := range strMethodNames {
		m, ok := ms.Get(name)
		if !ok {
			continue
		}
		out[name] = func(self string, selfValue *exec.Value, args *exec.VarArgs) (any, error) {
			if err := b.fits("method "+name, preSize(name, selfValue, args)); err != nil {
				return nil, err
			}
			if trim, ok := pyStrip[name]; ok && len(args.Args) == 0 && len(args.KwArgs) == 0 {
				// gonja's default cutset is the rune ' ', which it then refuses;
				// Python strips whitespace.
				return trim(self, unicode.IsSpace), nil
			}
			if name == "replace" && len(args.Args) == 2 && args.KwArgs["count"] == nil {
				// gonja requires count; Python's str.replace defaults it to -1, all.
				args = &exec.VarArgs{Args: append(slices.Clone(args.Args), exec.AsValue(-1)), KwArgs: args.KwArgs}
			}
			res, err := m(self, selfValue, args)
			if err == nil {
				err = b.charge(resultSize(res))
			}
			return res, err
		}
	}
	return exec.NewMethodSet(out)
}
