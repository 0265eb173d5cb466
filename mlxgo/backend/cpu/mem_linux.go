package cpu

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/hugemem"
)

// On Linux, pool buffers (mapMin bytes and more) are cut one after another from
// regions of regionSize bytes that start on a 2 MiB boundary and ask for
// transparent huge pages, so that they share huge pages instead of each
// rounding up to one. A matrix product that reads a frozen weight a strip of
// columns at a time touches a new 4 KiB page on nearly every row: on 4 KiB pages
// those reads missed the TLB, and copying the strips took 17% of a training
// step's CPU time (4×128 tokens, smollm135 shape); on huge pages the step ran
// 1.2–1.5× faster. A freed buffer is unmapped on its own (Linux splits a huge
// page that it shares), so freed memory still goes back to the system at once.
// A buffer of half a region or more gets a mapping of its own, also on huge
// pages.

// regionSize is the address space one region reserves; only what buffers touch
// takes memory.
const regionSize = 64 << 20

// region is the space the next buffers are cut from: next, up to end.
var region struct {
	mu        sync.Mutex
	next, end unsafe.Pointer
}

// mapBytes returns n bytes of private anonymous memory outside the Go heap (its
// capacity is n rounded up to a 4 KiB page, which unmapBytes frees). It panics
// when the system has no more memory.
func mapBytes(n int) ([]byte, bool) {
	size := uintptr(n+4095) &^ 4095
	if size >= regionSize/2 {
		return unsafe.Slice((*byte)(mapHuge(size, n)), size)[:n], true
	}
	region.mu.Lock()
	if region.next == nil || uintptr(region.end)-uintptr(region.next) < size {
		if region.next != nil && region.end != region.next { // the old region's tail was never touched
			munmap(region.next, uintptr(region.end)-uintptr(region.next))
		}
		region.next = mapHuge(regionSize, n)
		region.end = unsafe.Add(region.next, regionSize)
	}
	p := region.next
	region.next = unsafe.Add(p, size)
	region.mu.Unlock()
	return unsafe.Slice((*byte)(p), size)[:n], true
}

// mapHuge maps size bytes (a multiple of 4 KiB) on huge pages (hugemem.Map); n is
// the buffer's size, for the error.
func mapHuge(size uintptr, n int) unsafe.Pointer {
	p, err := hugemem.Map(size)
	if err != nil {
		panic(fmt.Sprintf("cpu: cannot allocate %d bytes: %v", n, err))
	}
	return p
}

// unmapBytes returns a buffer from mapBytes to the system.
func unmapBytes(b []byte) {
	munmap(unsafe.Pointer(unsafe.SliceData(b)), uintptr(cap(b)))
}

func munmap(p unsafe.Pointer, size uintptr) {
	if err := hugemem.Unmap(p, size); err != nil {
		panic("cpu: munmap: " + err.Error())
	}
}
