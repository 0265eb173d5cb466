package blas

// spinPause tells the CPU that the caller is polling (x86 PAUSE): the core
// slows the loop down and leaves its resources to a sibling thread.
//
//go:noescape
func spinPause()
