package mx

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/half"
)

// Array is a lazy n-dimensional array. Until it is evaluated it holds its shape, dtype,
// the primitive that produces it and that primitive's inputs; after evaluation it holds
// its data and nothing else.
type Array struct {
	shape  []int
	dtype  Dtype
	prim   Primitive
	inputs []*Array

	slot    *dataSlot // nil until evaluated
	strides []int     // element strides of a view; nil means row-major contiguous
	offset  int       // element offset of a view into its buffer
	keep    bool      // keep data after an Eval that did not ask for it
}

// dataSlot links an array to its buffer; the array's cleanup releases the buffer when the
// array becomes unreachable, unless Eval already released it.
type dataSlot struct{ buf *buffer }

func releaseSlot(s *dataSlot) {
	if s.buf != nil {
		s.buf.release()
		s.buf = nil
	}
}

func newArray(shape []int, dt Dtype, p Primitive, inputs ...*Array) *Array {
	return &Array{shape: shape, dtype: dt, prim: p, inputs: inputs}
}

// setBuffer gives a its data; buf's reference is owned by a from now on.
func (a *Array) setBuffer(buf *buffer, strides []int, offset int) {
	if a.slot != nil {
		releaseSlot(a.slot)
	}
	s := &dataSlot{buf: buf}
	a.slot = s
	a.strides = strides
	a.offset = offset
	runtime.AddCleanup(a, releaseSlot, s)
}

// alloc gives a fresh contiguous storage for its elements.
func (a *Array) alloc() {
	a.setBuffer(pool.get(a.Size()*a.dtype.Size()), nil, 0)
}

// freeData drops a's data but keeps its primitive and inputs, so it can be recomputed.
func (a *Array) freeData() {
	if a.slot != nil {
		releaseSlot(a.slot)
		a.slot = nil
		a.strides, a.offset = nil, 0
	}
}

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

// Evaluated reports whether the array holds data.
func (a *Array) Evaluated() bool { return a.slot != nil }

// Inputs returns the arrays this one is computed from; an evaluated array has none.
func (a *Array) Inputs() []*Array { return a.inputs }

// Primitive returns the operation that produces the array, or nil for an evaluated one.
func (a *Array) Primitive() Primitive { return a.prim }

// Retain marks the array so that an Eval which computes it as an intermediate keeps its
// data (as if it had been passed to Eval) and returns the array.
func (a *Array) Retain() *Array { a.keep = true; return a }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func rowMajorStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// isContiguous reports whether an evaluated array's data is row-major and dense.
func (a *Array) isContiguous() bool {
	if a.strides == nil {
		return true
	}
	s := 1
	for i := len(a.shape) - 1; i >= 0; i-- {
		if a.shape[i] != 1 && a.strides[i] != s {
			return false
		}
		s *= a.shape[i]
	}
	return true
}

func (a *Array) stridesOrDefault() []int {
	if a.strides != nil {
		return a.strides
	}
	return rowMajorStrides(a.shape)
}

// raw returns the bytes of a contiguous evaluated array.
func (a *Array) raw() []byte {
	es := a.dtype.Size()
	return a.slot.buf.bytes[a.offset*es : (a.offset+a.Size())*es]
}

// contiguous returns an evaluated array with the same values laid out row-major: a itself
// when it already is, or a copy.
func (a *Array) contiguous() *Array {
	if a.isContiguous() {
		return a
	}
	c := scratch(a.shape, a.dtype)
	copyStrided(c.raw(), a)
	return c
}

// scratch returns an evaluated array for a kernel's temporary use: its memory comes from
// the Go heap, not the buffer pool, so it neither counts as active memory nor waits for a
// cleanup to be returned; it is garbage as soon as the kernel drops it.
func scratch(shape []int, dt Dtype) *Array {
	c := &Array{shape: shape, dtype: dt}
	n := numel(shape) * dt.Size()
	words := make([]uint64, (n+7)/8)
	var bs []byte
	if n > 0 {
		bs = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
	}
	c.slot = &dataSlot{buf: &buffer{bytes: bs, external: true, keep: words}}
	c.slot.buf.refs.Store(1)
	return c
}

func viewAs[T any](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}

// floats returns a contiguous float32 copy or view of an evaluated array's values.
func floats(a *Array) []float32 {
	c := a.contiguous()
	b := c.raw()
	switch a.dtype {
	case Float32:
		return viewAs[float32](b)
	case Float16:
		out := make([]float32, c.Size())
		half.F16sToF32s(out, viewAs[uint16](b))
		return out
	case Bfloat16:
		out := make([]float32, c.Size())
		half.BF16sToF32s(out, viewAs[uint16](b))
		return out
	}
	ints := ints(c)
	out := make([]float32, len(ints))
	for i, v := range ints {
		out[i] = float32(v)
	}
	return out
}

// ints returns a contiguous int64 copy of an evaluated array's values.
func ints(a *Array) []int64 {
	c := a.contiguous()
	b := c.raw()
	out := make([]int64, c.Size())
	switch a.dtype {
	case Bool, Uint8:
		for i, v := range b {
			out[i] = int64(v)
		}
	case Uint32:
		for i, v := range viewAs[uint32](b) {
			out[i] = int64(v)
		}
	case Int32:
		for i, v := range viewAs[int32](b) {
			out[i] = int64(v)
		}
	case Int64:
		copy(out, viewAs[int64](b))
	default:
		for i, v := range floats(c) {
			out[i] = int64(v)
		}
	}
	return out
}

// outFloats allocates out and returns a float32 slice to write its values into, and a
// commit function that stores them in out's dtype.
func outFloats(out *Array) ([]float32, func()) {
	out.alloc()
	if out.dtype == Float32 {
		return viewAs[float32](out.raw()), func() {}
	}
	tmp := make([]float32, out.Size())
	return tmp, func() { storeFloats(out, tmp) }
}

// outInts is outFloats for integer and bool outputs.
func outInts(out *Array) ([]int64, func()) {
	out.alloc()
	if out.dtype == Int64 {
		return viewAs[int64](out.raw()), func() {}
	}
	tmp := make([]int64, out.Size())
	return tmp, func() { storeInts(out, tmp) }
}

func storeFloats(out *Array, v []float32) {
	b := out.raw()
	switch out.dtype {
	case Float32:
		copy(viewAs[float32](b), v)
	case Float16:
		half.F32sToF16s(viewAs[uint16](b), v)
	case Bfloat16:
		half.F32sToBF16s(viewAs[uint16](b), v)
	default:
		iv := make([]int64, len(v))
		for i, f := range v {
			iv[i] = int64(f)
		}
		storeInts(out, iv)
	}
}

func storeInts(out *Array, v []int64) {
	b := out.raw()
	switch out.dtype {
	case Bool:
		for i, x := range v {
			if x != 0 {
				b[i] = 1
			} else {
				b[i] = 0
			}
		}
	case Uint8:
		for i, x := range v {
			b[i] = uint8(x)
		}
	case Uint32:
		d := viewAs[uint32](b)
		for i, x := range v {
			d[i] = uint32(x)
		}
	case Int32:
		d := viewAs[int32](b)
		for i, x := range v {
			d[i] = int32(x)
		}
	case Int64:
		copy(viewAs[int64](b), v)
	default:
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		storeFloats(out, f)
	}
}

// Float32s evaluates the array and returns its values as float32, row-major.
func (a *Array) Float32s() []float32 {
	Eval(a)
	f := floats(a)
	if a.dtype == Float32 && a.isContiguous() {
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
	Eval(a)
	v := ints(a)
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Bools evaluates the array and returns its values as bool, row-major.
func (a *Array) Bools() []bool {
	Eval(a)
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
	Eval(a)
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
