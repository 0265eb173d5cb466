package mx

import (
	"fmt"
	"math"
	"runtime"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
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
	dt := dtypeOf[T]()
	buf := cpu.Alloc(numel(shape) * dt.Size())
	raw := buf.HostBytes()
	switch d := any(data).(type) {
	case []float32:
		copy(viewAs[float32](raw), d)
	case []float64:
		f := viewAs[float32](raw)
		for i, v := range d {
			f[i] = float32(v)
		}
	case []int:
		f := viewAs[int32](raw)
		for i, v := range d {
			f[i] = int32(v)
		}
	case []int32:
		copy(viewAs[int32](raw), d)
	case []int64:
		copy(viewAs[int64](raw), d)
	case []uint8:
		copy(raw, d)
	case []uint32:
		copy(viewAs[uint32](raw), d)
	case []bool:
		for i, v := range d {
			raw[i] = 0
			if v {
				raw[i] = 1
			}
		}
	}
	return fromStorage(cloneInts(shape), dt, buf)
}

// FromBytes returns an evaluated array whose elements are the little-endian bytes raw,
// which it copies.
func FromBytes(raw []byte, shape []int, dt Dtype) *Array {
	if numel(shape)*dt.Size() != len(raw) {
		panicf("FromBytes", "%d bytes cannot hold shape %v of %s", len(raw), shape, dt)
	}
	buf := cpu.Alloc(len(raw))
	copy(buf.HostBytes(), raw)
	return fromStorage(cloneInts(shape), dt, buf)
}

// fromExternal wraps memory the array does not own (a memory-mapped file); keep is held
// alive as long as the array's buffer is.
func fromExternal(raw []byte, shape []int, dt Dtype, keep any) *Array {
	return fromStorage(cloneInts(shape), dt, cpu.External(raw, keep))
}

// Bytes evaluates the array and returns a copy of its elements as little-endian bytes.
func (a *Array) Bytes() []byte {
	defer runtime.KeepAlive(a) // its memory is copied below
	b, mapped := a.HostBytes()
	if mapped {
		return append([]byte(nil), b...)
	}
	return b
}

// Scalar returns a 0-dimensional float32 array.
func Scalar(v float64) *Array { return FromSlice([]float32{float32(v)}).Reshape() }

// ScalarOf returns a 0-dimensional array of the given dtype.
func ScalarOf(v float64, dt Dtype) *Array { return Full(nil, v, dt) }

// fillPrim creates an array from its parameters alone (Full, Arange, Eye...).
type fillPrim struct{ op backend.Op }

func (p fillPrim) Op() backend.Op                       { return p.op }
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
	return newArray(checkShape("Full", shape), dt, fillPrim{backend.Full{Value: v}})
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
	return newArray([]int{n}, dt, fillPrim{backend.Arange{Start: start, Step: step}})
}

// Linspace returns n evenly spaced float32 values from start to stop inclusive.
func Linspace(start, stop float64, n int) *Array {
	return newArray([]int{n}, Float32, fillPrim{backend.Linspace{Start: start, Stop: stop}})
}

// Eye returns an n×m float32 matrix with ones on diagonal k.
func Eye(n, m, k int) *Array {
	return newArray([]int{n, m}, Float32, fillPrim{backend.Eye{K: k}})
}

// Tri returns an n×m float32 matrix with ones at and below diagonal k.
func Tri(n, m, k int) *Array {
	return newArray([]int{n, m}, Float32, fillPrim{backend.Tri{K: k}})
}
