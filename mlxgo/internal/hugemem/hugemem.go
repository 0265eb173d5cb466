//go:build linux

// Package hugemem maps anonymous memory on transparent huge pages (2 MiB) where Linux
// has them, for the CPU backend's buffers and the matrix kernels' timings, and reads a
// mapping's page figures back from /proc/self/smaps for tests.
package hugemem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Page is the size of a transparent huge page on x86-64 and arm64.
const Page = 2 << 20

// Map maps size bytes (a multiple of 4 KiB) of private anonymous memory starting on a
// huge-page boundary and asks Linux to back them with huge pages (only advice: without
// transparent huge pages the memory is plain pages). Unmap frees it, or any part of it
// on 4 KiB boundaries.
func Map(size uintptr) (unsafe.Pointer, error) {
	whole := size + Page
	p, err := unix.MmapPtr(-1, 0, nil, whole, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	head := -uintptr(p) & (Page - 1)
	if head > 0 {
		if err := Unmap(p, head); err != nil {
			return nil, err
		}
	}
	start := unsafe.Add(p, head)
	if tail := whole - head - size; tail > 0 {
		if err := Unmap(unsafe.Add(start, size), tail); err != nil {
			return nil, err
		}
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(start), size), unix.MADV_HUGEPAGE)
	return start, nil
}

// Unmap returns size bytes at p, from Map, to the system.
func Unmap(p unsafe.Pointer, size uintptr) error { return unix.MunmapPtr(p, size) }

// SmapsKiB returns the figure field (such as "Rss" or "AnonHugePages", in KiB) of the
// mapping that holds address a, from /proc/self/smaps, and false when it cannot be read.
func SmapsKiB(a uintptr, field string) (int, bool) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	in := false
	for s := bufio.NewScanner(f); s.Scan(); {
		line := s.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 {
			in = lo <= a && a < hi
			continue
		}
		if in && strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line)
			if len(fs) < 2 {
				return 0, false
			}
			v, err := strconv.Atoi(fs[1])
			return v, err == nil
		}
	}
	return 0, false
}

// MadviseOn reports whether Linux backs madvised memory with transparent huge pages.
func MadviseOn() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	s := string(b)
	return err == nil && (strings.Contains(s, "[always]") || strings.Contains(s, "[madvise]"))
}
