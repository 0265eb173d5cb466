package cpu

// Attention's matrix products have one dimension of 64 (a head's width, or a
// block of 64 keys) and are small: a library call packs its operands again for
// each, and runs them at 40–50% of its rate on large ones. panel64 is the one
// product they need, for outputs 64 columns wide, with the operands read where
// they are.

// panelCols is the width of the output of panel64.
const panelCols = 64

// panel64 computes, for each row i < m of c,
//
//	c[i·ldc : i·ldc+64] = (c's row if acc, else 0) + Σ_{x<k} a[i·as + x·ak] · b[x·ldb : x·ldb+64]
//
// so a is read with any strides (a row-major matrix, or the transpose of one)
// and b is k rows of 64. The sum over x runs in order (the assembly fuses each
// multiply-add). It panics if a slice is too short.
func panel64(c []float32, ldc int, a []float32, as, ak int, b []float32, ldb, m, k int, acc bool) {
	if m <= 0 {
		return
	}
	if len(c) < (m-1)*ldc+panelCols || (k > 0 && (len(a) < (m-1)*as+(k-1)*ak+1 || len(b) < (k-1)*ldb+panelCols)) {
		panic("cpu: panel64 operands too short")
	}
	if havePanel {
		panel64Asm(&c[0], ldc, &a[0], as, ak, &b[0], ldb, m, k, acc)
		return
	}
	panel64Go(c, ldc, a, as, ak, b, ldb, m, k, acc)
}

// panel64Go is panel64 in Go: the reference of the assembly, and what runs
// on CPUs without it.
func panel64Go(c []float32, ldc int, a []float32, as, ak int, b []float32, ldb, m, k int, acc bool) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+panelCols]
		if !acc {
			clear(row)
		}
		for x := 0; x < k; x++ {
			ax := a[i*as+x*ak]
			br := b[x*ldb : x*ldb+panelCols]
			for j := range row {
				row[j] += ax * br[j]
			}
		}
	}
}

// packPanels writes the transpose of the n rows of d floats of src (row j at
// src[j·ld:]), times s, as panels of 64 columns: column j of the transpose
// lands in panel j/64, row x of it at dst[(j/64)·d·64 + x·64 + j%64]. The
// last panel is padded with zeros. dst holds ceil(n/64)·d·64 floats.
func packPanels(dst, src []float32, n, d, ld int, s float32) {
	np := (n + panelCols - 1) / panelCols
	clear(dst[:np*d*panelCols])
	for j := 0; j < n; j++ {
		p := dst[(j/panelCols)*d*panelCols+j%panelCols:]
		row := src[j*ld : j*ld+d]
		for x, v := range row {
			p[x*panelCols] = v * s
		}
	}
}
