package blas

import xcpu "golang.org/x/sys/cpu"

// panelKind names the instruction set of the kernels panel64 and dotTile4
// run: "AVX-512F" (panel_amd64.s), "AVX2" (panel_avx2_amd64.s, with FMA), or
// "" when the CPU has neither, and products go to the library.
var panelKind = func() string {
	switch {
	case xcpu.X86.HasAVX512F:
		return "AVX-512F"
	case xcpu.X86.HasAVX2 && xcpu.X86.HasFMA:
		return "AVX2"
	}
	return ""
}()

// panelKinds lists the kernels this CPU can run, for the tests.
func panelKinds() (kinds []string) {
	if xcpu.X86.HasAVX512F {
		kinds = append(kinds, "AVX-512F")
	}
	if xcpu.X86.HasAVX2 && xcpu.X86.HasFMA {
		kinds = append(kinds, "AVX2")
	}
	return kinds
}

// havePanel reports whether panel64 and dotTile4 run assembly.
var havePanel = panelKind != ""

// panel64Asm runs panel64 on the kernel of panelKind.
func panel64Asm(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool) {
	if panelKind == "AVX-512F" {
		panel64AVX512(c, ldc, a, as, ak, b, ldb, m, k, acc)
		return
	}
	panel64AVX2(c, ldc, a, as, ak, b, ldb, m, k, acc)
}

// dotTile4Asm runs dotTile4 on the kernel of panelKind.
func dotTile4Asm(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool) {
	if panelKind == "AVX-512F" {
		dotTile4AVX512(c, ldc, a, lda, b, ldb, quads, k, acc)
		return
	}
	dotTile4AVX2(c, ldc, a, lda, b, ldb, quads, k, acc)
}

// panel64AVX512 is panel64 for AVX-512F: six rows of c at a time in
// twenty-four registers, then four, then one row at a time.
//
//go:noescape
func panel64AVX512(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)

// dotTile4AVX512 is dotTile4 for AVX-512F.
//
//go:noescape
func dotTile4AVX512(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool)

// panel64AVX2 is panel64 for AVX2 and FMA: 32 columns at a time, two rows of
// c in eight registers, then one.
//
//go:noescape
func panel64AVX2(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)

// dotTile4AVX2 is dotTile4 for AVX2 and FMA: two rows at a time.
//
//go:noescape
func dotTile4AVX2(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool)

// transposePanelAVX512 sets dst (kk rows of 64 floats) to the transpose of
// the 64 rows of src (kk floats each, lds apart), kk a multiple of 16.
//
//go:noescape
func transposePanelAVX512(dst, src *float32, lds, kk int)

// prefetchRows asks for the first lines cache lines of rows rows of src
// (lds floats apart) to be brought into the second-level cache.
//
//go:noescape
func prefetchRows(src *float32, lds, rows, lines int)

// copyStripAVX2 copies rows rows of 64 floats (lds apart at src) to dst, one
// after another, prefetching 16 rows ahead.
//
//go:noescape
func copyStripAVX2(dst, src *float32, lds, rows int)
