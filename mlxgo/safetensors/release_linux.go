package safetensors

import (
	"syscall"
	"unsafe"
)

// dropPages gives back the memory pages wholly inside b, a part of a read-only
// file mapping: reading b afterwards faults the file's bytes in again.
func dropPages(b []byte) {
	if len(b) == 0 {
		return
	}
	page := uintptr(syscall.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo, hi := (p+page-1)&^(page-1), (p+uintptr(len(b)))&^(page-1)
	if hi > lo {
		_ = syscall.Madvise(b[lo-p:hi-p], 4 /* MADV_DONTNEED */)
	}
}
