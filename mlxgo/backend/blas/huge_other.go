//go:build !linux

package blas

// hugeFloats returns n floats of the Go heap (huge pages are asked for on
// Linux only) and a function that does nothing.
func hugeFloats(n int) ([]float32, func()) { return make([]float32, n), func() {} }
