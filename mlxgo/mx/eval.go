package mx

import (
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// Primitive is an operation in the graph: an op descriptor (package backend: name and
// parameters, the data a backend's kernel needs) and the op's vector-Jacobian product.
// Its shape and dtype rule is the function that builds it (Matmul, RMSNorm, ...; for an
// op defined outside mx, the caller of [NewArray]). Kernels live in the backends.
type Primitive interface {
	// Op returns the descriptor backends execute.
	Op() backend.Op
	// VJP returns, for each input, the product of the output cotangent with the
	// Jacobian (nil where an input gets no gradient). It builds lazy arrays.
	VJP(inputs []*Array, out, cotangent *Array) []*Array
}

// KernelCount returns how many primitives have been executed since the program started:
// building a graph does not change it, evaluating one does.
func KernelCount() uint64 { return kernelCount.Load() }

var (
	evalMu      sync.Mutex
	kernelCount atomic.Uint64
	// inFlight is the set of arrays the running evaluation computes, nil when none
	// runs. Evaluated, Inputs, Primitive and Retain wait for that evaluation to end;
	// the transforms refuse to walk a graph through one of them (see the package
	// documentation, Concurrency).
	inFlight atomic.Pointer[map[*Array]bool]
)

// await waits for the running evaluation when it computes a.
func (a *Array) await() {
	if m := inFlight.Load(); m != nil && (*m)[a] {
		evalMu.Lock()
		evalMu.Unlock() //nolint:staticcheck // an empty critical section: waiting is the point
	}
}

// refuseInFlight panics when a is being computed by a running evaluation: a graph
// walk (a transform) through it would race with that evaluation and could see the
// array half detached, giving wrong gradients silently.
func refuseInFlight(op string, a *Array) {
	if m := inFlight.Load(); m != nil && (*m)[a] {
		panicf(op, "the graph goes through an array (op %s, shape %v) that an evaluation running "+
			"now is computing: an unevaluated array was shared with another goroutine, or a graph "+
			"given to AsyncEval was used before its wait; evaluate arrays (mx.Eval) before sharing them", opName(a), a.shape)
	}
}

// Eval evaluates every array found in its arguments, which may be arrays or any pytree
// of them (maps, slices, structs with exported fields, pointers). The arrays passed keep
// their data and are detached from the graph; intermediates are released as soon as no
// pending kernel needs them.
func Eval(trees ...any) {
	outs := collectArrays(trees...)
	evalMu.Lock()
	defer evalMu.Unlock()
	evalArrays(outs)
}

// AsyncEval starts evaluating the arrays in trees in the background and returns a
// function that waits for it. Any later Eval (or Item, printing...) waits as well.
func AsyncEval(trees ...any) (wait func()) {
	outs := collectArrays(trees...)
	evalMu.Lock()
	started := false
	defer func() {
		if !started { // topoSort panicked
			evalMu.Unlock()
		}
	}()
	// The arrays count as in flight from the return of AsyncEval, not from whenever
	// the goroutine starts.
	tape, computed := topoSort(outs)
	inFlight.Store(&computed)
	done := make(chan struct{})
	started = true
	go func() {
		defer close(done)
		defer evalMu.Unlock()
		evalTape(outs, tape, computed)
	}()
	return func() { <-done }
}

// evalArrays is Eval without the lock.
func evalArrays(outs []*Array) {
	tape, computed := topoSort(outs)
	evalTape(outs, tape, computed)
}

// evalTape evaluates outs, given their tape and its set (topoSort), under the lock.
func evalTape(outs, tape []*Array, computed map[*Array]bool) {
	defer inFlight.Store(nil)
	if len(tape) == 0 {
		return
	}
	inFlight.Store(&computed)
	requested := make(map[*Array]bool, len(outs))
	for _, o := range outs {
		requested[o] = true
	}
	tape = schedule(tape, requested)
	uses := make(map[*Array]int, len(tape))
	for _, a := range tape {
		for _, in := range a.inputs {
			if !in.evaluated() {
				uses[in]++
			}
		}
	}
	nIn := 0
	for _, a := range tape {
		nIn += len(a.inputs)
	}
	// lastUse is the step that reads an intermediate last: it may donate its storage.
	lastUse := make(map[*Array]int, len(uses))
	for i, a := range tape {
		for _, in := range a.inputs {
			if _, ok := uses[in]; ok {
				lastUse[in] = i
			}
		}
	}
	steps := make([]backend.Step, len(tape))
	ins := make([]*backend.Node, 0, nIn) // one block for every step's inputs
	for i, a := range tape {
		lo := len(ins)
		var donate []bool
		for j, in := range a.inputs {
			ins = append(ins, in.node)
			if last, ok := lastUse[in]; ok && last == i && !requested[in] && !in.keep && !slices.Contains(a.inputs[:j], in) && !slices.Contains(a.inputs[j+1:], in) {
				if donate == nil {
					donate = make([]bool, len(a.inputs))
				}
				donate[j] = true
			}
		}
		steps[i] = backend.Step{Op: a.prim.Op(), Inputs: ins[lo:len(ins):len(ins)], Out: a.node, Keep: requested[a] || a.keep, Donate: donate}
	}
	defer opErrors()
	current().Run(steps, func(i int) {
		tape[i].adopt()
		kernelCount.Add(1)
		for _, in := range tape[i].inputs {
			n, ok := uses[in]
			if !ok {
				continue
			}
			if n--; n > 0 {
				uses[in] = n
				continue
			}
			delete(uses, in)
			if !requested[in] && !in.keep {
				in.freeData()
			}
		}
	})
	for _, a := range tape {
		if a.evaluated() && (requested[a] || a.keep) {
			a.detach()
		}
	}
}

// topoSort returns the unevaluated arrays reachable from outs, inputs before users,
// and the same arrays as a set.
func topoSort(outs []*Array) ([]*Array, map[*Array]bool) {
	var tape []*Array
	visited := map[*Array]bool{}
	type frame struct {
		a *Array
		i int
	}
	var stack []frame
	for _, o := range outs {
		if o == nil || o.evaluated() || visited[o] {
			continue
		}
		visited[o] = true
		stack = append(stack, frame{o, 0})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i < len(top.a.inputs) {
				in := top.a.inputs[top.i]
				top.i++
				if !in.evaluated() && !visited[in] {
					visited[in] = true
					stack = append(stack, frame{in, 0})
				}
				continue
			}
			if top.a.prim == nil {
				panicf("Eval", "array of shape %v has neither data nor a primitive", top.a.shape)
			}
			if isTracer(top.a) {
				panicf("Eval", "an array that depends on the input of a function being compiled cannot be evaluated while it is traced (Item, Eval, printing); a compiled function must stay lazy")
			}
			tape = append(tape, top.a)
			stack = stack[:len(stack)-1]
		}
	}
	return tape, visited
}

var arrayType = reflect.TypeOf((*Array)(nil))

// collectArrays returns every *Array leaf in the given pytrees, in a stable order.
func collectArrays(trees ...any) []*Array {
	var out []*Array
	for _, t := range trees {
		walkArrays(reflect.ValueOf(t), func(a *Array) { out = append(out, a) })
	}
	return out
}

// walkArrays calls f on every *Array reachable from v through pointers, interfaces,
// slices, arrays, maps (in sorted key order) and exported struct fields.
func walkArrays(v reflect.Value, f func(*Array)) {
	if !v.IsValid() {
		return
	}
	if v.Type() == arrayType {
		if !v.IsNil() {
			f(v.Interface().(*Array))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkArrays(v.Elem(), f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkArrays(v.Index(i), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sortValues(keys)
		for _, k := range keys {
			walkArrays(v.MapIndex(k), f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				walkArrays(v.Field(i), f)
			}
		}
	}
}
