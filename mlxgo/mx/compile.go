package mx

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// Compile returns a compiled version of f, as MLX's mx.compile: the first call with
// given input shapes and dtypes traces f into a graph, simplifies it (identical ops on
// identical inputs are computed once, equal scalar constants shared) and fuses chains of
// elementwise ops — unary, binary with broadcasting, type casts, Where — into single
// kernels that make one pass over memory. Later calls with the same shapes and dtypes
// replay that graph without running f's Go code; new shapes trace again. A compiled
// function keeps the graphs of its 32 most recently used signatures.
//
// The compiled function is as lazy as f: it returns unevaluated arrays. It composes with
// Grad, ValueAndGrad and VJP both ways (a fused op's gradient is the gradient of the ops
// it fused), with Vmap both ways (a fused op batches through its ops' batching rules)
// and with Checkpoint. Calling it while another compiled function is being traced simply
// runs f.
//
// f must compute its outputs from its inputs with array ops and must not evaluate them
// (Item, Eval, printing) while it is traced. Anything else it reads is baked into the
// trace: arrays it captures are constants (use CompileWith and State to read state that
// changes, such as model parameters), Go values are frozen at their traced value, and
// random numbers drawn from the global key repeat at every call unless RandomState is
// among the state (CompileWith).
func Compile(f func(inputs []*Array) []*Array) func(inputs []*Array) []*Array {
	return CompileWith(f, CompileOptions{})
}

// State is a pytree of arrays that a compiled function reads or writes besides its
// arguments, such as a model's parameters, an optimizer's state or RandomState: MLX's
// inputs= and outputs= of mx.compile.
type State struct {
	// Get returns the state's current pytree (maps, slices, structs of *Array).
	Get func() any
	// Set installs a pytree of the structure Get returns.
	Set func(tree any)
}

// CompileOptions name the state a compiled function reads and writes.
type CompileOptions struct {
	// Inputs are read by the function: their arrays are inputs of the compiled graph, so
	// every call sees their current values (and shapes are part of the cache key).
	Inputs []State
	// Outputs are written by the function: after every call each is Set to the arrays
	// the function left in it, computed by the compiled graph.
	Outputs []State
}

// CompileWith is Compile with state the function reads (opts.Inputs) and writes
// (opts.Outputs), as MLX's mx.compile(f, inputs=state, outputs=state): while f is
// traced, each input state holds placeholders in place of its arrays.
func CompileWith(f func(inputs []*Array) []*Array, opts CompileOptions) func(inputs []*Array) []*Array {
	for _, s := range append(slices.Clip(opts.Inputs), opts.Outputs...) {
		if s.Get == nil || s.Set == nil {
			panicf("CompileWith", "a State needs both Get and Set")
		}
	}
	c := &compiler{f: f, opts: opts, cache: map[string]*compiled{}}
	return c.call
}

// tracing counts the traces in progress; a compiled function called during one runs its
// Go code (as MLX's does on tracer inputs).
var tracing atomic.Int32

// maxCompiledGraphs bounds the graphs a compiled function keeps: a training run whose
// batches have many different lengths traces again the lengths it has not seen lately
// rather than holding a graph for every length.
const maxCompiledGraphs = 32

// compiler is one compiled function: f and its traced graphs by input signature.
type compiler struct {
	f     func([]*Array) []*Array
	opts  CompileOptions
	mu    sync.Mutex
	cache map[string]*compiled
	calls int // calls so far; a graph's lastUse is the number of its latest call
}

// evictOldest drops the graph used least recently.
func (c *compiler) evictOldest() {
	oldest := ""
	for k, e := range c.cache {
		if oldest == "" || e.lastUse < c.cache[oldest].lastUse {
			oldest = k
		}
	}
	delete(c.cache, oldest)
}

func (c *compiler) call(inputs []*Array) []*Array {
	if slices.Contains(inputs, nil) {
		panicf("Compile", "nil input")
	}
	if tracing.Load() > 0 {
		return c.f(inputs) // inside a trace: the outer compile sees f's ops
	}
	all := append([]*Array(nil), inputs...)
	trees := make([]any, len(c.opts.Inputs))
	for i, s := range c.opts.Inputs {
		trees[i] = s.Get()
		all = append(all, collectArrays(trees[i])...)
	}
	e := c.graph(inputs, all, trees)
	outs := e.replay(all)
	for i, s := range c.opts.Outputs {
		res := outs[e.stateOut[i] : e.stateOut[i]+len(e.markers[i])]
		byMarker := make(map[*Array]*Array, len(res))
		for j, m := range e.markers[i] {
			byMarker[m] = res[j]
		}
		s.Set(MapArrays(e.trees[i], func(m *Array) *Array { return byMarker[m] }))
	}
	return outs[:e.nOut]
}

// graph returns the compiled graph for the inputs' signature, tracing f if it has none.
func (c *compiler) graph(inputs, all []*Array, trees []any) *compiled {
	key := signature(len(inputs), all)
	c.mu.Lock()
	defer c.mu.Unlock() // also when f panics while traced
	e, ok := c.cache[key]
	if !ok {
		if len(c.cache) == maxCompiledGraphs {
			c.evictOldest()
		}
		e = c.trace(inputs, all, trees)
		c.cache[key] = e
	}
	c.calls++
	e.lastUse = c.calls
	return e
}

// signature is the cache key of a call: the number of arguments and every input's
// dtype and shape.
func signature(nArgs int, all []*Array) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", nArgs)
	for _, a := range all {
		fmt.Fprintf(&b, "|%d%v", a.dtype, a.shape)
	}
	return b.String()
}

// trace runs f on placeholders of the inputs (input state included) and compiles the
// graph it builds.
func (c *compiler) trace(inputs, all []*Array, trees []any) *compiled {
	tracing.Add(1)
	defer tracing.Add(-1)
	ph := make([]*Array, len(all))
	byReal := make(map[*Array]*Array, len(all))
	for i, a := range all {
		ph[i] = newArray(cloneInts(a.shape), a.dtype, tracerPrim{})
		if _, dup := byReal[a]; !dup {
			byReal[a] = ph[i]
		}
	}
	for i, s := range c.opts.Inputs {
		s.Set(MapArrays(trees[i], func(a *Array) *Array { return byReal[a] }))
	}
	defer func() { // the input state gets its real arrays back, whatever f did
		for i, s := range c.opts.Inputs {
			s.Set(trees[i])
		}
	}()
	outs := c.f(ph[:len(inputs)])
	e := &compiled{nOut: len(outs)}
	for _, s := range c.opts.Outputs {
		t := s.Get()
		e.stateOut = append(e.stateOut, len(outs))
		var markers []*Array
		e.trees = append(e.trees, MapArrays(t, func(a *Array) *Array {
			outs = append(outs, a)
			m := &Array{}
			markers = append(markers, m)
			return m
		}))
		e.markers = append(e.markers, markers)
	}
	e.build(ph, outs)
	e.simplify()
	e.fuse()
	return e
}

// tracerPrim stands for an input of a function being traced; it has no data.
type tracerPrim struct{}

// compileInput is the descriptor of a traced function's input; no backend runs it.
type compileInput struct{}

func (compileInput) Name() string { return "CompileInput" }

func (tracerPrim) Op() backend.Op                       { return compileInput{} }
func (tracerPrim) VJP(_ []*Array, _, _ *Array) []*Array { return nil }

func isTracer(a *Array) bool {
	_, ok := a.prim.(tracerPrim)
	return ok
}
