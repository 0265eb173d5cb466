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

func transposePanelAVX512(dst, src *float32, lds, kk int) {
	panic("blas: no transposePanelAVX512 on this architecture")
}

func copyStripAVX2(dst, src *float32, lds, rows int) {
	panic("blas: no copyStripAVX2 on this architecture")
}

func prefetchRows(src *float32, lds, rows, lines int) {}
