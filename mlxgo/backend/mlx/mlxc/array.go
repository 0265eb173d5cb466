package mlxc

import (
	"fmt"
	"unsafe"
)

// Dtype is mlx-c's mlx_dtype.
type Dtype int32

// MLX's element types, in mlx_dtype order.
const (
	Bool Dtype = iota
	Uint8
	Uint16
	Uint32
	Uint64
	Int8
	Int16
	Int32
	Int64
	Float16
	Float32
	Float64
	Bfloat16
	Complex64
)

var dtypeNames = [...]string{"bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
	"int32", "int64", "float16", "float32", "float64", "bfloat16", "complex64"}

func (d Dtype) String() string {
	if d >= 0 && int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("mlx_dtype(%d)", int32(d))
}

// Array is an mlx_array handle. It is owned by whoever created it and released with
// [Ctx.Free]; the zero Array is "no array" (mlx-c's null).
type Array uintptr

// ints32 converts Go ints to the int32 array mlx-c takes, with its pointer (nil when
// empty).
func ints32(v []int) ([]int32, *int32) {
	if len(v) == 0 {
		return nil, nil
	}
	r := make([]int32, len(v))
	for i, x := range v {
		r[i] = int32(x)
	}
	return r, &r[0]
}

// FromBytes returns a new MLX array holding a copy of data (little-endian elements of
// dtype dt, row-major) with the given shape.
func (c *Ctx) FromBytes(data []byte, shape []int, dt Dtype) Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	sz := c.DtypeSize(dt)
	if len(data) != n*sz {
		panic(fmt.Sprintf("mlxc: FromBytes: %d bytes for shape %v %s (want %d)", len(data), shape, dt, n*sz))
	}
	var p unsafe.Pointer
	var one [8]byte
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	} else {
		p = unsafe.Pointer(&one[0]) // mlx-c reads nothing for an empty array
	}
	s, sp := ints32(shape)
	a := c.l.f.arrayNewData(p, sp, int32(len(s)), int32(dt))
	c.check(0, "mlx_array_new_data")
	return c.made(a)
}

// Scalar returns a new float32 scalar array.
func (c *Ctx) Scalar(v float32) Array {
	a := c.l.f.arrayNewF32(v)
	c.check(0, "mlx_array_new_float32")
	return c.made(a)
}

// DtypeSize is the number of bytes of one element of dt.
func (c *Ctx) DtypeSize(dt Dtype) int {
	switch dt {
	case Bool, Uint8, Int8:
		return 1
	case Uint16, Int16, Float16, Bfloat16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	}
	return 8
}

// Shape returns a's shape.
func (c *Ctx) Shape(a Array) []int {
	n := int(c.l.f.arrayNdim(uintptr(a)))
	if n == 0 {
		return []int{}
	}
	p := c.l.f.arrayShape(uintptr(a))
	s := unsafe.Slice((*int32)(p), n)
	out := make([]int, n)
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// Dtype returns a's element type.
func (c *Ctx) Dtype(a Array) Dtype { return Dtype(c.l.f.arrayDtype(uintptr(a))) }

// Free releases a (no-op for the zero Array).
func (c *Ctx) Free(a Array) {
	if a != 0 {
		c.check(c.l.f.arrayFree(uintptr(a)), "mlx_array_free")
	}
}

// Eval evaluates arrays together with one mlx_eval.
func (c *Ctx) Eval(arrays ...Array) {
	if len(arrays) == 0 {
		return
	}
	v := c.l.f.vectorArrayNewData((*uintptr)(unsafe.Pointer(&arrays[0])), uintptr(len(arrays)))
	c.check(0, "mlx_vector_array_new_data")
	defer c.l.f.vectorArrayFree(v)
	c.check(c.l.f.eval(v), "mlx_eval")
}

// CopyTo evaluates a and copies its elements, row-major, into dst, which must hold
// exactly a's bytes. It returns the number of bytes copied.
func (c *Ctx) CopyTo(dst []byte, a Array) int {
	c.check(c.l.f.arrayEval(uintptr(a)), "mlx_array_eval")
	var row bool
	c.check(c.l.f.arrayRowContig(&row, uintptr(a)), "_mlx_array_is_row_contiguous")
	src := a
	if !row {
		src = Array(0)
		c.check(c.l.f.contiguous((*uintptr)(&src), uintptr(a), false, c.l.stream), "mlx_contiguous")
		defer c.l.f.arrayFree(uintptr(src))
		c.check(c.l.f.arrayEval(uintptr(src)), "mlx_array_eval")
	}
	n := int(c.l.f.arrayNbytes(uintptr(src)))
	if n != len(dst) {
		panic(fmt.Sprintf("mlxc: CopyTo: %d bytes into a buffer of %d", n, len(dst)))
	}
	if n == 0 {
		return 0
	}
	p := c.l.f.arrayDataU8(uintptr(src))
	c.check(0, "mlx_array_data_uint8")
	copy(dst, unsafe.Slice((*byte)(p), n))
	return n
}

// Bytes evaluates a and returns a copy of its elements, row-major.
func (c *Ctx) Bytes(a Array) []byte {
	n := 1
	for _, d := range c.Shape(a) {
		n *= d
	}
	b := make([]byte, n*c.DtypeSize(c.Dtype(a)))
	c.CopyTo(b, a)
	return b
}

// Memory reports MLX's active, peak and cached bytes.
func (c *Ctx) Memory() (active, peak, cache int) {
	var a, p, k uintptr
	c.check(c.l.f.getActiveMemory(&a), "mlx_get_active_memory")
	c.check(c.l.f.getPeakMemory(&p), "mlx_get_peak_memory")
	c.check(c.l.f.getCacheMemory(&k), "mlx_get_cache_memory")
	return int(a), int(p), int(k)
}

// ResetPeakMemory starts peak memory accounting afresh.
func (c *Ctx) ResetPeakMemory() { c.check(c.l.f.resetPeakMemory(), "mlx_reset_peak_memory") }

// SetCacheLimit sets the most bytes MLX keeps cached for reuse and returns the previous
// limit.
func (c *Ctx) SetCacheLimit(limit int) int {
	var old uintptr
	c.check(c.l.f.setCacheLimit(&old, uintptr(limit)), "mlx_set_cache_limit")
	return int(old)
}

// SetMemoryLimit sets MLX's memory limit in bytes and returns the previous one.
func (c *Ctx) SetMemoryLimit(limit int) int {
	var old uintptr
	c.check(c.l.f.setMemoryLimit(&old, uintptr(limit)), "mlx_set_memory_limit")
	return int(old)
}

// ClearCache releases MLX's cached buffers.
func (c *Ctx) ClearCache() { c.check(c.l.f.clearCache(), "mlx_clear_cache") }
