package cpu

import (
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/internal/half"
)

// node is the kernels' name for backend.Node.
type node = backend.Node

// alloc gives out fresh contiguous pool storage for its elements.
func alloc(out *node) { out.Set(Alloc(out.NBytes())) }

// setView makes out a view of in's storage with the given strides and offset.
func setView(out, in *node, strides []int, offset int) {
	in.Storage.Retain()
	out.SetView(in.Storage, strides, offset)
}

// storageBytes returns all of n's storage on the host: the memory itself for host
// storage, a copy for another backend's.
func storageBytes(n *node) []byte {
	b, _ := backend.HostBytes(n.Storage)
	return b
}

// raw returns the bytes of a contiguous computed node.
func raw(n *node) []byte {
	es := n.Dtype.Size()
	return storageBytes(n)[n.Offset*es : (n.Offset+n.Size())*es]
}

// contiguous returns a computed node with the same values laid out row-major: n itself
// when it already is, or a scratch copy.
func contiguous(n *node) *node {
	if n.IsContiguous() {
		return n
	}
	c := scratch(n.Shape, n.Dtype)
	copyStrided(raw(c), n)
	return c
}

// scratch returns a computed node for a kernel's temporary use: its memory comes from
// the Go heap, not the pool, so it neither counts as active memory nor waits for a
// release; it is garbage as soon as the kernel drops it.
func scratch(shape []int, dt backend.Dtype) *node {
	return &node{Shape: shape, Dtype: dt, Storage: External(words(backend.Numel(shape)*dt.Size()), nil)}
}

// HostBytes returns the elements of a computed node as row-major little-endian bytes,
// and whether they are its storage itself (mapped: host storage already row-major)
// rather than a copy.
func HostBytes(n *backend.Node) (b []byte, mapped bool) {
	if hs, ok := n.Storage.(backend.HostStorage); ok && n.IsContiguous() {
		es := n.Dtype.Size()
		return hs.HostBytes()[n.Offset*es : (n.Offset+n.Size())*es], true
	}
	return raw(contiguous(n)), false
}

func viewAs[T any](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}

// Floats returns a computed node's values as float32, row-major: a view of its storage
// when it is contiguous host float32 (do not modify), a copy otherwise.
func Floats(n *backend.Node) []float32 { return floats(n) }

// Ints returns a copy of a computed node's values as int64, row-major (floats truncate).
func Ints(n *backend.Node) []int64 { return ints(n) }

func floats(a *node) []float32 {
	c := contiguous(a)
	b := raw(c)
	switch a.Dtype {
	case backend.Float32:
		return viewAs[float32](b)
	case backend.Float16:
		out := make([]float32, c.Size())
		h := viewAs[uint16](b)
		parallelFor(len(out), 1<<15, func(lo, hi int) { half.F16sToF32s(out[lo:hi], h[lo:hi]) })
		return out
	case backend.Bfloat16:
		out := make([]float32, c.Size())
		h := viewAs[uint16](b)
		parallelFor(len(out), 1<<15, func(lo, hi int) { half.BF16sToF32s(out[lo:hi], h[lo:hi]) })
		return out
	}
	ints := ints(c)
	out := make([]float32, len(ints))
	for i, v := range ints {
		out[i] = float32(v)
	}
	return out
}

func ints(a *node) []int64 {
	c := contiguous(a)
	b := raw(c)
	out := make([]int64, c.Size())
	switch a.Dtype {
	case backend.Bool, backend.Uint8:
		for i, v := range b {
			out[i] = int64(v)
		}
	case backend.Uint32:
		for i, v := range viewAs[uint32](b) {
			out[i] = int64(v)
		}
	case backend.Int32:
		for i, v := range viewAs[int32](b) {
			out[i] = int64(v)
		}
	case backend.Int64:
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
// donate gives in's storage to out when in is a donor (backend.Node.Donor) of out's
// dtype and size, row-major from the start of a pool buffer it alone holds, and reports
// whether it did. The kernel then writes its output over its input: only kernels whose
// output element i depends on input element i alone (and not on ones written before
// it) may donate.
func donate(out, in *node) bool {
	if !in.Donor || in.Dtype != out.Dtype || in.Offset != 0 || !in.IsContiguous() {
		return false
	}
	b, ok := in.Storage.(*Buffer)
	if !ok || b.external || b.refs.Load() != 1 || len(b.bytes) != out.NBytes() {
		return false
	}
	b.Retain()
	out.Set(b)
	return true
}

// outFloatsFrom is outFloats, writing over in's memory when in may be donated (donate).
func outFloatsFrom(out, in *node) ([]float32, func()) {
	if out.Dtype == backend.Float32 && donate(out, in) {
		return viewAs[float32](raw(out)), func() {}
	}
	return outFloats(out)
}

func outFloats(out *node) ([]float32, func()) {
	alloc(out)
	if out.Dtype == backend.Float32 {
		return viewAs[float32](raw(out)), func() {}
	}
	tmp := make([]float32, out.Size())
	return tmp, func() { storeFloats(out, tmp) }
}

// outInts is outFloats for integer and bool outputs.
func outInts(out *node) ([]int64, func()) {
	alloc(out)
	if out.Dtype == backend.Int64 {
		return viewAs[int64](raw(out)), func() {}
	}
	tmp := make([]int64, out.Size())
	return tmp, func() { storeInts(out, tmp) }
}

// outFloats64 lets generators compute in float64 and store in any dtype.
func outFloats64(out *node) ([]float64, func()) {
	tmp := make([]float64, out.Size())
	return tmp, func() {
		if out.Dtype.IsFloat() {
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

func storeFloats(out *node, v []float32) {
	b := raw(out)
	switch out.Dtype {
	case backend.Float32:
		copy(viewAs[float32](b), v)
	case backend.Float16:
		h := viewAs[uint16](b)
		parallelFor(len(v), 1<<15, func(lo, hi int) { half.F32sToF16s(h[lo:hi], v[lo:hi]) })
	case backend.Bfloat16:
		h := viewAs[uint16](b)
		parallelFor(len(v), 1<<15, func(lo, hi int) { half.F32sToBF16s(h[lo:hi], v[lo:hi]) })
	default:
		iv := make([]int64, len(v))
		for i, f := range v {
			iv[i] = int64(f)
		}
		storeInts(out, iv)
	}
}

func storeInts(out *node, v []int64) {
	b := raw(out)
	switch out.Dtype {
	case backend.Bool:
		for i, x := range v {
			if x != 0 {
				b[i] = 1
			} else {
				b[i] = 0
			}
		}
	case backend.Uint8:
		for i, x := range v {
			b[i] = uint8(x)
		}
	case backend.Uint32:
		d := viewAs[uint32](b)
		for i, x := range v {
			d[i] = uint32(x)
		}
	case backend.Int32:
		d := viewAs[int32](b)
		for i, x := range v {
			d[i] = int32(x)
		}
	case backend.Int64:
		copy(viewAs[int64](b), v)
	default:
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		storeFloats(out, f)
	}
}

// copyStrided copies the elements of computed view a into contiguous dst, row-major.
func copyStrided(dst []byte, a *node) {
	src := storageBytes(a)
	switch a.Dtype.Size() {
	case 1:
		gather(viewAs[uint8](dst), viewAs[uint8](src), a)
	case 2:
		gather(viewAs[uint16](dst), viewAs[uint16](src), a)
	case 4:
		gather(viewAs[uint32](dst), viewAs[uint32](src), a)
	case 8:
		gather(viewAs[uint64](dst), viewAs[uint64](src), a)
	}
}

// gather copies the elements of the strided view a of src into contiguous dst, row-major.
// Rows (runs along the last axis) are split across cores; a row of unit stride is one
// copy.
func gather[T any](dst, src []T, a *node) {
	n := len(a.Shape)
	if len(dst) == 0 {
		return
	}
	if n == 0 {
		dst[0] = src[a.Offset]
		return
	}
	st := a.Strides
	inner, innerStride := a.Shape[n-1], st[n-1]
	rows := len(dst) / inner
	parallelFor(rows, max(1, 1<<14/max(inner, 1)), func(lo, hi int) {
		// The offset of row lo, from its index along the outer axes.
		idx := make([]int, n)
		off := a.Offset
		for d, r := n-2, lo; d >= 0; d-- {
			idx[d] = r % a.Shape[d]
			r /= a.Shape[d]
			off += idx[d] * st[d]
		}
		for o := lo * inner; o < hi*inner; o += inner {
			if innerStride == 1 {
				copy(dst[o:o+inner], src[off:off+inner])
			} else {
				p := off
				for j := 0; j < inner; j++ {
					dst[o+j] = src[p]
					p += innerStride
				}
			}
			for d := n - 2; d >= 0; d-- {
				idx[d]++
				off += st[d]
				if idx[d] < a.Shape[d] {
					break
				}
				off -= st[d] * idx[d]
				idx[d] = 0
			}
		}
	})
}

// rowsOf returns a float32 view of a's storage and the storage offset of each of its
// rows (runs along the last axis) when a is float32 host storage whose last axis has
// unit stride, so a kernel can read a transposed or sliced input in place; otherwise
// ok is false.
func rowsOf(a *node) (data []float32, rowOff func(r int) int, ok bool) {
	n := a.Ndim()
	if a.Dtype != backend.Float32 || n == 0 {
		return nil, nil, false
	}
	if _, host := a.Storage.(backend.HostStorage); !host {
		return nil, nil, false
	}
	st := a.StridesOrDefault()
	if st[n-1] != 1 && a.Shape[n-1] != 1 {
		return nil, nil, false
	}
	shape := a.Shape[:n-1]
	return viewAs[float32](storageBytes(a)), func(r int) int {
		off := a.Offset
		for d := len(shape) - 1; d >= 0; d-- {
			off += r % shape[d] * st[d]
			r /= shape[d]
		}
		return off
	}, true
}
