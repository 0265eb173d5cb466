//go:build !amd64

package blas

// havePanel is false: products go to the library.
var havePanel = false

// panelKind is empty: no kernels of the package's own.
var panelKind = ""

func panel64Asm(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool) {
	panic("blas: no panel64 kernel on this architecture")
}

func dotTile4Asm(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool) {
	panic("blas: no dotTile4 kernel on this architecture")
}

// panelKinds is empty: no kernels to test.
func panelKinds() []string { return nil }

func transpose16AVX512(dst *float32, ldd int, src *float32, lds int) {
	panic("blas: no transpose16AVX512 on this architecture")
}

func copyStripAVX2(dst, src *float32, lds, rows int) {
	panic("blas: no copyStripAVX2 on this architecture")
}
