package cpu

import "syscall"

// adviseHuge asks Linux to back b with transparent huge pages (fewer page faults and
// TLB misses on large arrays); it is only advice, so its error is ignored.
func adviseHuge(b []byte) { _ = syscall.Madvise(b, 14 /* MADV_HUGEPAGE */) }
