package blas

import xcpu "golang.org/x/sys/cpu"

// havePanel reports whether panel64 runs its AVX-512 kernel (panel_amd64.s);
// elsewhere products go to the library.
var havePanel = xcpu.X86.HasAVX512F

// panel64Asm is panel64 for AVX-512F: four rows of c at a time in sixteen
// registers, then one row at a time.
//
//go:noescape
func panel64Asm(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)

// dotTile4Asm is dotTile4 for AVX-512F.
//
//go:noescape
func dotTile4Asm(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool)
