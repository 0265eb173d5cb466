package mx

import (
	"fmt"
	"math"
	"runtime"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

// Array is a lazy n-dimensional array. Until it is evaluated it holds its shape, dtype,
// the primitive that produces it and that primitive's inputs; after evaluation it holds
// its data — storage owned by the backend that computed it — and nothing else.
type Array struct {
	shape  []int
	dtype  Dtype
	prim   Primitive
	inputs []*Array

	node    *backend.Node // what kernels see: shape, dtype, storage (nil until evaluated), layout
	keep    bool          // keep data after an Eval that did not ask for it
	adopted bool          // the release of node is registered (adopt)
}

// NewArray returns a lazy array of the given shape and dtype computed by p from inputs.
// It is how ops defined outside mx enter the graph: p's Op is a descriptor that backends
// have kernels for (package cpu: cpu.Register), p's VJP its derivative, and the caller
// computes shape and dtype (the op's shape rule). The shape is not copied.
func NewArray(shape []int, dt Dtype, p Primitive, inputs ...*Array) *Array {
	if p == nil {
		panicf("NewArray", "nil primitive")
	}
	for i, in := range inputs {
		if in == nil {
			panicf("NewArray", "input %d of %s is nil", i, p.Op().Name())
		}
	}
	return newArray(shape, dt, p, inputs...)
}

func newArray(shape []int, dt Dtype, p Primitive, inputs ...*Array) *Array {
	return &Array{shape: shape, dtype: dt, prim: p, inputs: inputs, node: &backend.Node{Shape: shape, Dtype: dt}}
}

// fromStorage returns an evaluated array holding st row-major; it takes over the caller's
// reference.
func fromStorage(shape []int, dt Dtype, st backend.Storage) *Array {
	a := newArray(shape, dt, nil)
	a.node.Set(st)
	a.adopt()
	return a
}

// adopt registers the release of a's storage for when a becomes unreachable; it is
// called once a's node has been given storage, and again when an intermediate freed by
// one Eval is recomputed by another: the release is registered once, or two cleanups
// would free the node at once (runtime cleanups run concurrently) and hand its buffer
// to the pool twice.
func (a *Array) adopt() {
	if !a.adopted {
		a.adopted = true
		runtime.AddCleanup(a, releaseNode, a.node)
	}
}

func releaseNode(n *backend.Node) { n.Free() }

// freeData drops a's data but keeps its primitive and inputs, so it can be recomputed.
func (a *Array) freeData() { a.node.Free() }

// detach drops the primitive and inputs of an evaluated array, making it a leaf.
func (a *Array) detach() { a.prim, a.inputs = nil, nil }

// Shape returns the array's dimensions (do not modify the slice).
func (a *Array) Shape() []int { return a.shape }

// Dim returns the size of axis i; negative i counts from the end.
func (a *Array) Dim(i int) int { return a.shape[normAxis("Dim", i, len(a.shape))] }

// Ndim returns the number of dimensions.
func (a *Array) Ndim() int { return len(a.shape) }

// Dtype returns the element type.
func (a *Array) Dtype() Dtype { return a.dtype }

// Size returns the number of elements.
func (a *Array) Size() int { return numel(a.shape) }

// NBytes returns the size of the array's elements in bytes.
func (a *Array) NBytes() int { return a.Size() * a.dtype.Size() }

// Evaluated reports whether the array holds data. Like Inputs, Primitive and Retain, it
// first waits for an evaluation running now (an AsyncEval, another goroutine's Eval)
// that computes the array.
func (a *Array) Evaluated() bool { a.await(); return a.evaluated() }

func (a *Array) evaluated() bool { return a.node.Storage != nil }

// Inputs returns the arrays this one is computed from; an evaluated array has none.
func (a *Array) Inputs() []*Array { a.await(); return a.inputs }

// Primitive returns the operation that produces the array, or nil for an evaluated one.
func (a *Array) Primitive() Primitive { a.await(); return a.prim }

// Retain marks the array so that an Eval which computes it as an intermediate keeps its
// data (as if it had been passed to Eval) and returns the array.
func (a *Array) Retain() *Array { a.await(); a.keep = true; return a }

func numel(shape []int) int { return backend.Numel(shape) }

// HostBytes evaluates the array and returns its elements as row-major little-endian
// bytes: the array's memory itself when it is host memory laid out row-major (mapped
// true: read-only, valid while the array is alive and until a later Eval moves its
// storage to a device backend), a copy otherwise (a strided view, or storage of a
// device backend). It is the one path from an array's storage to the
// host; Bytes, Float32s, Item, printing and saving all go through it. Keep the array
// reachable while mapped bytes are in use (runtime.KeepAlive): the CPU backend's
// buffers of 1 MiB and more are returned to the system once the array is collected.
func (a *Array) HostBytes() (b []byte, mapped bool) {
	Eval(a)
	return cpu.HostBytes(a.node)
}

// hostNode returns a's values (evaluating it) as a row-major host node for cpu's
// converters, and whether its bytes are the array's own memory.
func hostNode(a *Array) (*backend.Node, bool) {
	b, mapped := a.HostBytes()
	return &backend.Node{Shape: a.shape, Dtype: a.dtype, Storage: cpu.External(b, nil)}, mapped
}

// floats returns a's values as float32; they may be a's own memory: do not modify.
func floats(a *Array) []float32 {
	n, _ := hostNode(a)
	return cpu.Floats(n)
}

// ints returns a copy of a's values as int64.
func ints(a *Array) []int64 {
	n, _ := hostNode(a)
	return cpu.Ints(n)
}

// Float32s evaluates the array and returns a copy of its values as float32, row-major.
func (a *Array) Float32s() []float32 {
	defer runtime.KeepAlive(a) // its memory is read below (the GC would release it)
	n, mapped := hostNode(a)
	f := cpu.Floats(n)
	if mapped && a.dtype == Float32 {
		return append([]float32(nil), f...)
	}
	return f
}

// Float64s evaluates the array and returns its values as float64, row-major.
func (a *Array) Float64s() []float64 {
	f := a.Float32s()
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// Ints evaluates the array and returns its values as int, row-major (floats truncate).
func (a *Array) Ints() []int {
	v := ints(a)
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Bools evaluates the array and returns its values as bool, row-major.
func (a *Array) Bools() []bool {
	v := ints(a)
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x != 0
	}
	return out
}

// Item evaluates a one-element array and returns its value as float64.
func (a *Array) Item() float64 {
	if a.Size() != 1 {
		panicf("Item", "array of shape %v has %d elements; Item needs exactly one", a.shape, a.Size())
	}
	defer runtime.KeepAlive(a) // its memory is read below
	if a.dtype.IsFloat() {
		return float64(floats(a)[0])
	}
	return float64(ints(a)[0])
}

// String evaluates the array and formats it in MLX's style.
func (a *Array) String() string {
	if a == nil {
		return "array(nil)"
	}
	defer runtime.KeepAlive(a) // its memory is read below
	Eval(a)
	var vals []string
	if a.dtype.IsFloat() {
		for _, v := range floats(a) {
			vals = append(vals, formatFloat(v))
		}
	} else if a.dtype == Bool {
		for _, v := range ints(a) {
			vals = append(vals, fmt.Sprint(v != 0))
		}
	} else {
		for _, v := range ints(a) {
			vals = append(vals, fmt.Sprint(v))
		}
	}
	return "array(" + nest(vals, a.shape) + ", dtype=" + a.dtype.String() + ")"
}

func formatFloat(v float32) string {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return fmt.Sprintf("%g", v)
}

func nest(vals []string, shape []int) string {
	if len(shape) == 0 {
		return vals[0]
	}
	n := shape[0]
	if n == 0 {
		return "[]"
	}
	step := len(vals) / n
	s := "["
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ", "
		}
		if len(shape) > 1 && n > 1 && i > 0 {
			s += "\n "
		}
		if i == 6 && n > 12 {
			s += "..., "
			i = n - 6
		}
		s += nest(vals[i*step:(i+1)*step], shape[1:])
	}
	return s + "]"
}
