package tokenizer

import (
	"fmt"
	"io"
	"reflect"
	"time"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Chat templates come from model folders downloaded from strangers, so
// rendering one is bounded: a template can neither read files (include,
// import, extends and from are refused) nor run long, recurse deeply or
// build huge strings. The engine (gonja) has no limits of its own; they are
// added from outside:
//
//   - range() is replaced by one that refuses more than MaxRange items, as
//     jinja2's sandbox does;
//   - every loop iteration, macro call, operator (+, *, ~), filter, string
//     method and range() is a step, counted against MaxSteps: the counters
//     stop any template at the same point on any machine, well before the
//     Timeout, which stays as a backstop;
//   - the parsed template is rewritten so that the body of every for loop
//     and macro runs under a guard that counts iterations and nesting depth,
//     checks the deadline and counts every byte the body writes;
//   - the operators that build strings or lists (+, *, ~) become calls that
//     check the size of their result before computing it;
//   - every filter and string method checks its size arguments first and
//     charges the size of its result (chatfilters.go);
//   - before parsing, the source's size, nesting and code per tag are checked
//     (chatsource.go): gonja's parser recurses without bound.
//
// A violation stops the render with a *TemplateLimitError.

// TemplateLimits bound one rendering of a chat template.
type TemplateLimits struct {
	MaxRange          int           // items one range() call may produce
	MaxLoopIterations int           // for-loop iterations in all
	MaxDepth          int           // nested loop bodies and macro calls
	MaxBytes          int64         // bytes of strings built and output written in all
	MaxSteps          int           // loop iterations, macro calls, operators, filters and methods in all
	Timeout           time.Duration // wall time of the render: a backstop behind the counters
}

// DefaultTemplateLimits are the limits ApplyChatTemplate uses unless
// ChatOptions.Limits says otherwise. Real templates stay far below them: a
// chat template loops over the messages and the tools, nests a few levels
// and writes the conversation a few times over (the real templates in
// testdata take at most 14,006 steps and 4.4 MB for 2,000 messages, 1 MiB of
// text). 100,000 steps take gonja a fraction of a second on one idle core,
// so the counters stop a template before the time limit, which stays as a
// backstop.
var DefaultTemplateLimits = TemplateLimits{
	MaxRange:          100_000,
	MaxLoopIterations: 50_000,
	MaxDepth:          200,
	MaxBytes:          32 << 20,
	MaxSteps:          100_000,
	Timeout:           time.Second,
}

// TemplateLimitError is the error of a template that went past one of its
// TemplateLimits or used a feature refused in chat templates.
type TemplateLimitError struct {
	Template string // where the template came from
	Limit    string // which limit, in words
	Steps    int    // steps done when it stopped (TemplateLimits.MaxSteps)
}

// Error implements error.
func (e *TemplateLimitError) Error() string {
	return fmt.Sprintf("tokenizer: chat template %s: %s", e.Template, e.Limit)
}

// budgetKey names the per-render budget in the template context; the space
// makes it a name no template can write.
const budgetKey = "mlxgo budget"

// budget is the state of one render.
type budget struct {
	limits     TemplateLimits
	template   string
	deadline   time.Time
	iterations int
	steps      int
	depth      int
	bytes      int64
	err        *TemplateLimitError // the first violation
}

func (b *budget) fail(format string, args ...any) error {
	if b.err == nil {
		b.err = &TemplateLimitError{Template: b.template, Limit: fmt.Sprintf(format, args...), Steps: b.steps}
	}
	return b.err
}

// charge counts n more bytes built or written.
func (b *budget) charge(n int64) error {
	if b.err != nil {
		return b.err
	}
	if n < 0 || n > b.limits.MaxBytes-b.bytes {
		return b.fail("strings built and output written exceed the limit of %d bytes", b.limits.MaxBytes)
	}
	b.bytes += n
	return b.checkTime()
}

// step counts one step: a loop iteration, macro call, operator, filter,
// method or range().
func (b *budget) step() error {
	if b.err != nil {
		return b.err
	}
	if b.steps++; b.steps > b.limits.MaxSteps {
		return b.fail("rendering exceeds the limit of %d steps", b.limits.MaxSteps)
	}
	return b.checkTime()
}

func (b *budget) checkTime() error {
	if b.err != nil {
		return b.err
	}
	if time.Now().After(b.deadline) {
		return b.fail("rendering exceeds the time limit of %v", b.limits.Timeout)
	}
	return nil
}

func budgetOf(ctx *exec.Context) *budget {
	if v, ok := ctx.Get(budgetKey); ok {
		if b, ok := v.(*budget); ok {
			return b
		}
	}
	return nil
}

// limitWriter counts the bytes written through it against the budget.
type limitWriter struct {
	w io.Writer
	b *budget
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if err := w.b.charge(int64(len(p))); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// guard runs the body of a loop or a macro under the budget.
type guard struct {
	loop bool // a for-loop body: counts an iteration
	body *nodes.Wrapper
}

func (g *guard) Position() *tokens.Token { return g.body.Location }
func (g *guard) String() string          { return "guard" }

// Execute implements exec.ControlStructure.
func (g *guard) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	b := budgetOf(r.Environment.Context)
	if b == nil {
		return fmt.Errorf("tokenizer: chat template rendered without limits")
	}
	if err := b.step(); err != nil {
		return err
	}
	if g.loop {
		if b.iterations++; b.iterations > b.limits.MaxLoopIterations {
			return b.fail("loops exceed the limit of %d iterations", b.limits.MaxLoopIterations)
		}
	}
	if b.depth++; b.depth > b.limits.MaxDepth {
		return b.fail("loops and macro calls nest deeper than the limit of %d", b.limits.MaxDepth)
	}
	defer func() { b.depth-- }()
	if _, ok := r.Output.(*limitWriter); !ok {
		// Macros and recursive loops write into buffers of their own.
		r.Output = &limitWriter{w: r.Output, b: b}
	}
	for _, n := range g.body.Nodes {
		if err := nodes.Walk(r, n); err != nil {
			return err
		}
	}
	return nil
}

// guardBody makes w's nodes run under a guard.
func guardBody(w *nodes.Wrapper, loop bool) {
	if w == nil {
		return
	}
	inner := &nodes.Wrapper{Location: w.Location, Nodes: w.Nodes, EndTag: w.EndTag, Trim: w.Trim, LStrip: w.LStrip}
	w.Nodes = []nodes.Node{&nodes.ControlStructureBlock{
		Location: w.Location, Name: "guard", ControlStructure: &guard{loop: loop, body: inner},
	}}
}

// listItemCost is what one item of a list built by a template counts
// against MaxBytes: gonja builds lists an item at a time through reflection.
const listItemCost = 64

// binopName is the function that the rewritten +, * and ~ call.
const binopName = "mlxgo binop"

var (
	exprType = reflect.TypeFor[nodes.Expression]()
	nodeType = reflect.TypeFor[nodes.Node]()
)

// boundTemplate rewrites a parsed template in place: loop and macro bodies
// run under guards, +, * and ~ call binop, and conditional expressions call
// condName with their branches' index in the list returned.
func boundTemplate(root *nodes.Template) []condBranches {
	seen := map[uintptr]bool{}
	var branches []condBranches
	rewrite := func(f reflect.Value) {
		if c, ok := operatorCall(f.Interface()); ok {
			f.Set(reflect.ValueOf(c))
		} else if c, ok := lazyConditional(f.Interface(), &branches); ok {
			f.Set(reflect.ValueOf(c))
		}
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
			switch n := v.Interface().(type) {
			case *controlStructures.ForControlStructure:
				guardBody(n.BodyWrapper, true)
			case *nodes.Macro:
				guardBody(n.Wrapper, false)
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[tokens.Token]() {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				if !v.Type().Field(i).IsExported() && f.CanAddr() {
					// gonja keeps some expressions in unexported fields
					// (those of {% set %}, for one): reach them too.
					f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
				}
				walk(f)
				if f.CanSet() && (f.Type() == exprType || f.Type() == nodeType) {
					rewrite(f)
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
				if e := v.Index(i); e.CanSet() && (e.Type() == exprType || e.Type() == nodeType) {
					rewrite(e)
				}
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value())
				if v.Type().Elem() == exprType {
					if c, ok := operatorCall(iter.Value().Interface()); ok {
						v.SetMapIndex(iter.Key(), reflect.ValueOf(c))
					} else if c, ok := lazyConditional(iter.Value().Interface(), &branches); ok {
						v.SetMapIndex(iter.Key(), reflect.ValueOf(c))
					}
				}
			}
		}
	}
	walk(reflect.ValueOf(root))
	return branches
}

// operatorCall turns a +, * or ~ expression into a call of binop.
func operatorCall(n any) (*nodes.Call, bool) {
	be, ok := n.(*nodes.BinaryExpression)
	if !ok {
		return nil, false
	}
	tok := be.Operator.Token
	switch tok.Type {
	case tokens.Addition, tokens.Multiply, tokens.Tilde:
	default:
		return nil, false
	}
	name := &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: binopName, Line: tok.Line, Col: tok.Col, Pos: tok.Pos}}
	return &nodes.Call{
		Location: tok,
		Func:     name,
		Args:     []nodes.Expression{be.Left, be.Right, &nodes.String{Location: tok, Val: tok.Val}},
		Kwargs:   map[string]nodes.Expression{},
	}, true
}

// binopExprs evaluate the operator on values already computed.
var binopExprs = func() map[string]*nodes.BinaryExpression {
	m := map[string]*nodes.BinaryExpression{}
	for val, typ := range map[string]tokens.Type{"+": tokens.Addition, "*": tokens.Multiply, "~": tokens.Tilde} {
		m[val] = &nodes.BinaryExpression{
			Left:     &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "mlxgo left"}},
			Right:    &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "mlxgo right"}},
			Operator: &nodes.BinOperator{Token: &tokens.Token{Type: typ, Val: val}},
		}
	}
	return m
}()

// binop computes left op right after checking the size of the result.
func binop(e *exec.Evaluator, va *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil || len(va.Args) != 3 {
		return exec.AsValue(fmt.Errorf("tokenizer: chat template rendered without limits"))
	}
	if err := b.step(); err != nil {
		return exec.AsValue(err)
	}
	l, r, op := va.Args[0], va.Args[1], va.Args[2].String()
	var size int64
	switch {
	case op == "~":
		size = int64(len(l.String())) + int64(len(r.String()))
	case op == "+" && l.IsList():
		size = listItemCost * (int64(l.Len()) + int64(r.Len()))
	case op == "+" && !l.IsFloat() && !r.IsFloat() && (l.IsString() || r.IsString()):
		size = int64(len(l.String())) + int64(len(r.String()))
	case op == "*" && !l.IsFloat() && !r.IsFloat() && l.IsString():
		n := int64(r.Integer())
		if n < 0 {
			n = 0
			r = exec.AsValue(0) // Python: a negative count gives ""
		}
		size = mulSize(int64(len(l.String())), n)
	}
	if err := b.charge(size); err != nil {
		return exec.AsValue(err)
	}
	sub := &exec.Evaluator{
		Config: e.Config,
		Environment: &exec.Environment{
			Context:           exec.NewContext(map[string]any{"mlxgo left": l, "mlxgo right": r}),
			Filters:           e.Environment.Filters,
			Tests:             e.Environment.Tests,
			ControlStructures: e.Environment.ControlStructures,
			Methods:           e.Environment.Methods,
		},
		Loader: e.Loader,
	}
	return sub.Eval(binopExprs[op])
}

// mulSize is a*b, saturated instead of overflowing.
func mulSize(a, b int64) int64 {
	if a != 0 && b > (1<<62)/a {
		return 1 << 62
	}
	return a * b
}

// boundedRange is range() refusing more than MaxRange items.
func boundedRange(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil {
		return exec.AsValue(fmt.Errorf("tokenizer: chat template rendered without limits"))
	}
	if err := b.step(); err != nil {
		return exec.AsValue(err)
	}
	args := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return exec.AsValue(fmt.Errorf("range: arguments must be integers"))
		}
		args[i] = a.Integer()
	}
	start, stop, step := 0, 0, 1
	switch len(args) {
	case 1:
		stop = args[0]
	case 2:
		start, stop = args[0], args[1]
	case 3:
		start, stop, step = args[0], args[1], args[2]
	default:
		return exec.AsValue(fmt.Errorf("range: expected 1 to 3 arguments, got %d", len(args)))
	}
	if step == 0 {
		return exec.AsValue(fmt.Errorf("range: step must not be zero"))
	}
	n := int64(0)
	if step > 0 && stop > start {
		n = (int64(stop) - int64(start) + int64(step) - 1) / int64(step)
	} else if step < 0 && stop < start {
		n = (int64(start) - int64(stop) - int64(step) - 1) / -int64(step)
	}
	if n > int64(b.limits.MaxRange) {
		return exec.AsValue(b.fail("range() of %d items exceeds the limit of %d", n, b.limits.MaxRange))
	}
	// A list, not gonja's channel: filters such as length, join and
	// reverse see its items, as in Python.
	out := make([]int, n)
	for i := range out {
		out[i] = start + i*step
	}
	return exec.AsValue(out)
}

// fits counts the step of a filter or method (what) and fails when n more
// bytes would exceed the budget, charging nothing.
func (b *budget) fits(what string, n int64) error {
	if err := b.step(); err != nil {
		return err
	}
	if n > b.limits.MaxBytes-b.bytes {
		return b.fail("%s would build about %d bytes, past the limit of %d bytes", what, n, b.limits.MaxBytes)
	}
	return nil
}
