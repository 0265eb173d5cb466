package blas

import (
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/hugemem"
)

// hugeFloats returns n floats of memory on transparent huge pages where Linux
// has them, as the CPU backend holds its arrays (a weight read a strip of
// columns at a time runs slower on 4 KiB pages), and the function that frees
// it. The timings that choose between kernels use it, so that they see what
// a training step sees.
func hugeFloats(n int) ([]float32, func()) {
	size := uintptr(4*n+4095) &^ 4095
	p, err := hugemem.Map(size)
	if err != nil {
		return make([]float32, n), func() {}
	}
	return unsafe.Slice((*float32)(p), n), func() { _ = hugemem.Unmap(p, size) }
}
