package mx

import (
	"fmt"
	"math"
)

// Number is the set of Go element types arrays can be built from.
type Number interface {
	~float32 | ~float64 | ~int | ~int32 | ~int64 | ~uint8 | ~uint32 | ~bool
}

func dtypeOf[T Number]() Dtype {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return Float32
	case int, int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint32:
		return Uint32
	case bool:
		return Bool
	}
	panic(fmt.Sprintf("mx: unsupported element type %T", z))
}

// FromSlice returns an evaluated array holding data with the given shape (a 1-D array
// of len(data) when shape is omitted). float64 data becomes float32 and int data int32,
// as MLX does with Python floats and ints.
func FromSlice[T Number](data []T, shape ...int) *Array {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if numel(shape) != len(data) {
		panicf("FromSlice", "%d values cannot have shape %v", len(data), shape)
	}
	a := &Array{shape: cloneInts(shape), dtype: dtypeOf[T]()}
	a.alloc()
	switch d := any(data).(type) {
	case []float32:
		copy(viewAs[float32](a.raw()), d)
	case []float64:
		f := viewAs[float32](a.raw())
		for i, v := range d {
			f[i] = float32(v)
		}
	case []int:
		f := viewAs[int32](a.raw())
		for i, v := range d {
			f[i] = int32(v)
		}
	case []int32:
		copy(viewAs[int32](a.raw()), d)
	case []int64:
		copy(viewAs[int64](a.raw()), d)
	case []uint8:
		copy(a.raw(), d)
	case []uint32:
		copy(viewAs[uint32](a.raw()), d)
	case []bool:
		b := a.raw()
		for i, v := range d {
			if v {
				b[i] = 1
			}
		}
	}
	return a
}

// FromBytes returns an evaluated array whose elements are the little-endian bytes raw,
// which it copies.
func FromBytes(raw []byte, shape []int, dt Dtype) *Array {
	if numel(shape)*dt.Size() != len(raw) {
		panicf("FromBytes", "%d bytes cannot hold shape %v of %s", len(raw), shape, dt)
	}
	a := &Array{shape: cloneInts(shape), dtype: dt}
	a.alloc()
	copy(a.raw(), raw)
	return a
}

// fromExternal wraps memory the array does not own (a memory-mapped file); keep is held
// alive as long as the array's buffer is.
func fromExternal(raw []byte, shape []int, dt Dtype, keep any) *Array {
	a := &Array{shape: cloneInts(shape), dtype: dt}
	b := &buffer{bytes: raw, external: true, keep: keep}
	b.refs.Store(1)
	a.setBuffer(b, nil, 0)
	return a
}

// Bytes evaluates the array and returns a copy of its elements as little-endian bytes.
func (a *Array) Bytes() []byte {
	Eval(a)
	return append([]byte(nil), a.contiguous().raw()...)
}

// Scalar returns a 0-dimensional float32 array.
func Scalar(v float64) *Array { return FromSlice([]float32{float32(v)}).Reshape() }

// ScalarOf returns a 0-dimensional array of the given dtype.
func ScalarOf(v float64, dt Dtype) *Array { return Full(nil, v, dt) }

type fillPrim struct {
	name string
	fill func(out *Array)
}

func (p fillPrim) Name() string                         { return p.name }
func (p fillPrim) Eval(_ []*Array, out *Array)          { p.fill(out) }
func (p fillPrim) VJP(_ []*Array, _, _ *Array) []*Array { return nil }

func checkShape(op string, shape []int) []int {
	for _, d := range shape {
		if d < 0 {
			panicf(op, "negative dimension in shape %v", shape)
		}
	}
	return cloneInts(shape)
}

// Full returns a lazy array of the given shape filled with v.
func Full(shape []int, v float64, dt Dtype) *Array {
	return newArray(checkShape("Full", shape), dt, fillPrim{"Full", func(out *Array) {
		if dt.IsFloat() {
			o, commit := outFloats(out)
			for i := range o {
				o[i] = float32(v)
			}
			commit()
			return
		}
		o, commit := outInts(out)
		for i := range o {
			o[i] = int64(v)
		}
		commit()
	}})
}

// Zeros returns a lazy array of zeros.
func Zeros(shape []int, dt Dtype) *Array { return Full(shape, 0, dt) }

// Ones returns a lazy array of ones.
func Ones(shape []int, dt Dtype) *Array { return Full(shape, 1, dt) }

// ZerosLike returns zeros with a's shape and dtype.
func ZerosLike(a *Array) *Array { return Zeros(a.shape, a.dtype) }

// OnesLike returns ones with a's shape and dtype.
func OnesLike(a *Array) *Array { return Ones(a.shape, a.dtype) }

// FullLike returns an array with a's shape and dtype filled with v.
func FullLike(a *Array, v float64) *Array { return Full(a.shape, v, a.dtype) }

// Arange returns start, start+step, ... up to (not including) stop. The dtype is int32
// when all three are whole numbers, else float32, as in MLX.
func Arange(start, stop, step float64) *Array {
	if step == 0 {
		panicf("Arange", "step must not be zero")
	}
	n := int(math.Ceil((stop - start) / step))
	if n < 0 {
		n = 0
	}
	dt := Float32
	if start == math.Trunc(start) && stop == math.Trunc(stop) && step == math.Trunc(step) {
		dt = Int32
	}
	return newArray([]int{n}, dt, fillPrim{"Arange", func(out *Array) {
		o, commit := outFloats64(out)
		for i := range o {
			o[i] = start + float64(i)*step
		}
		commit()
	}})
}

// outFloats64 lets generators compute in float64 and store in any dtype.
func outFloats64(out *Array) ([]float64, func()) {
	tmp := make([]float64, out.Size())
	return tmp, func() {
		if out.dtype.IsFloat() {
			o, c := outFloats(out)
			for i, v := range tmp {
				o[i] = float32(v)
			}
			c()
			return
		}
		o, c := outInts(out)
		for i, v := range tmp {
			o[i] = int64(v)
		}
		c()
	}
}

// Linspace returns n evenly spaced float32 values from start to stop inclusive.
func Linspace(start, stop float64, n int) *Array {
	return newArray([]int{n}, Float32, fillPrim{"Linspace", func(out *Array) {
		o, commit := outFloats64(out)
		for i := range o {
			if n == 1 {
				o[i] = start
			} else {
				o[i] = start + (stop-start)*float64(i)/float64(n-1)
			}
		}
		commit()
	}})
}

// Eye returns an n×m float32 matrix with ones on diagonal k.
func Eye(n, m, k int) *Array {
	return newArray([]int{n, m}, Float32, fillPrim{"Eye", func(out *Array) {
		o, commit := outFloats64(out)
		for i := 0; i < n; i++ {
			if j := i + k; j >= 0 && j < m {
				o[i*m+j] = 1
			}
		}
		commit()
	}})
}

// Tri returns an n×m float32 matrix with ones at and below diagonal k.
func Tri(n, m, k int) *Array {
	return newArray([]int{n, m}, Float32, fillPrim{"Tri", func(out *Array) {
		o, commit := outFloats64(out)
		for i := 0; i < n; i++ {
			for j := 0; j < m && j <= i+k; j++ {
				o[i*m+j] = 1
			}
		}
		commit()
	}})
}

// copyStrided copies the elements of evaluated view a into contiguous dst, row-major.
func copyStrided(dst []byte, a *Array) {
	switch a.dtype.Size() {
	case 1:
		gather(viewAs[uint8](dst), viewAs[uint8](a.slot.buf.bytes), a)
	case 2:
		gather(viewAs[uint16](dst), viewAs[uint16](a.slot.buf.bytes), a)
	case 4:
		gather(viewAs[uint32](dst), viewAs[uint32](a.slot.buf.bytes), a)
	case 8:
		gather(viewAs[uint64](dst), viewAs[uint64](a.slot.buf.bytes), a)
	}
}

func gather[T any](dst, src []T, a *Array) {
	n := len(a.shape)
	if len(dst) == 0 {
		return
	}
	if n == 0 {
		dst[0] = src[a.offset]
		return
	}
	st := a.strides
	idx := make([]int, n)
	inner, innerStride := a.shape[n-1], st[n-1]
	off := a.offset
	for o := 0; o < len(dst); o += inner {
		p := off
		for j := 0; j < inner; j++ {
			dst[o+j] = src[p]
			p += innerStride
		}
		for d := n - 2; d >= 0; d-- {
			idx[d]++
			off += st[d]
			if idx[d] < a.shape[d] {
				break
			}
			off -= st[d] * idx[d]
			idx[d] = 0
		}
	}
}
