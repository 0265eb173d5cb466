//go:build unix && !linux

package cpu

import (
	"fmt"
	"syscall"
)

// mapBytes maps n bytes (it panics when the system has no more memory) of private
// anonymous memory, outside the Go heap (Linux's version is in mem_linux.go).
func mapBytes(n int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		panic(fmt.Sprintf("cpu: cannot allocate %d bytes: %v", n, err))
	}
	return b, true
}

// unmapBytes returns memory from mapBytes to the system.
func unmapBytes(b []byte) {
	if err := syscall.Munmap(b); err != nil {
		panic("cpu: munmap: " + err.Error())
	}
}
