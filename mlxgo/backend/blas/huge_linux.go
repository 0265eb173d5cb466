package blas

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeFloats returns n floats of memory on transparent huge pages where Linux
// has them, as the CPU backend holds its arrays (a weight read a strip of
// columns at a time runs slower on 4 KiB pages), and the function that frees
// it. The timings that choose between kernels use it, so that they see what
// a training step sees.
func hugeFloats(n int) ([]float32, func()) {
	size := uintptr(4*n+hugePage-1) &^ (hugePage - 1)
	p, err := unix.MmapPtr(-1, 0, nil, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]float32, n), func() {}
	}
	head := -uintptr(p) & (hugePage - 1)
	start := unsafe.Add(p, head)
	_ = unix.Madvise(unsafe.Slice((*byte)(start), size), unix.MADV_HUGEPAGE)
	return unsafe.Slice((*float32)(start), n), func() { _ = unix.MunmapPtr(p, size+hugePage) }
}

// hugePage is the size of a transparent huge page on x86-64 and arm64.
const hugePage = 2 << 20
