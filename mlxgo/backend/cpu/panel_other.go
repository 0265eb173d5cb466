//go:build !amd64

package cpu

// havePanel is false: panel64 runs its Go loops, and attention uses a BLAS
// library for its products.
var havePanel = false

func panel64Asm(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool) {
	panic("cpu: no panel64 kernel on this architecture")
}
