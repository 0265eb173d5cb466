package blas

// Products with one side a LoRA rank wide (n or k of 4 to 63) are too narrow
// for the library's kernels, which ran them at 10–30 GFLOP/s on both CPUs of
// the README. sgemmNarrow turns each into a product the package's kernels
// compute, copying at most the narrow operand (a few KB):
//
//   - A·B or A·Bᵀ with n narrow (x·A, a LoRA factor's forward): the dot
//     products of A's rows with op(B)'s columns, dotTile4 on B's rows (on a
//     transposed copy of B when op(B) = B);
//   - A·Bᵀ with k narrow (h·Bᵀ with h = x·A): op(B) copied row by row, then
//     the panels;
//   - Aᵀ·op(B) with n narrow (a factor's gradient xᵀ·dH): the transposed
//     product op(B)ᵀ·A on the panels, whose output is the transpose of C.

// narrowMax is the widest n or k sgemmNarrow takes.
const narrowMax = 63

// sgemmNarrow computes C = op(A)·op(B) + beta·C when the product has a
// narrow side it handles, and reports whether it did.
func sgemmNarrow(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if !havePanel || !Panels() || alpha != 1 || (beta != 0 && beta != 1) {
		return false
	}
	acc := beta == 1
	switch {
	case !transA && n <= narrowMax && n%4 == 0 && k%16 == 0:
		bt, ldt := b, ldb
		if !transB { // op(B)'s columns as rows
			buf := getBuf(n * k)
			defer bufPool.Put(buf)
			bt, ldt = *buf, k
			transpose(bt, ldt, b, ldb, k, n)
		}
		dotRows(m, n, k, a, lda, bt, ldt, acc, c, ldc)
		return true
	case !transA && transB && k <= narrowMax && n%panelCols == 0:
		buf := getBuf(k * n)
		defer bufPool.Put(buf)
		transpose(*buf, n, b, ldb, n, k)
		sgemmPanels(false, false, m, n, k, a, lda, *buf, n, beta, c, ldc)
		return true
	case transA && n <= narrowMax && m%panelCols == 0:
		// Cᵀ (n×m) = op(B)ᵀ·A on the panels: op(B)ᵀ is B read transposed
		// when op(B) = B, and B itself when op(B) = Bᵀ; A (k×m) is row-major.
		buf := getBuf(n * m)
		defer bufPool.Put(buf)
		ct := *buf
		if acc {
			transpose(ct, m, c, ldc, m, n)
		}
		sgemmPanels(!transB, false, n, m, k, b, ldb, a, lda, beta, ct, m)
		transpose(c, ldc, ct, m, n, m)
		return true
	}
	return false
}

// transpose sets dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols,
// 16 columns of src at a time (16 rows of dst, which stay in cache while the
// rows of src go by).
func transpose(dst []float32, ldd int, src []float32, lds int, rows, cols int) {
	for j0 := 0; j0 < cols; j0 += 16 {
		j1 := min(cols, j0+16)
		for i := 0; i < rows; i++ {
			for j, v := range src[i*lds+j0 : i*lds+j1] {
				dst[(j0+j)*ldd+i] = v
			}
		}
	}
}

// dotRows sets C (m×n) to A·Bᵀ (+ C when acc), with B's n rows k long:
// dotTile4 on four rows of A at a time, split across threads by blocks of
// rows.
func dotRows(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	rows := func(i0, i1 int) {
		i4 := i0 + (i1-i0)/4*4
		for i := i0; i < i4; i += 4 {
			dotTile4(c[i*ldc:], ldc, a[i*lda:], lda, b, ldb, n/4, k, acc)
		}
		for i := i4; i < i1; i++ {
			dotRow(c[i*ldc:i*ldc+n], a[i*lda:i*lda+k], b, ldb, acc)
		}
	}
	nw := panelWorkers()
	if nw == 1 || 2*float64(m)*float64(n)*float64(k) < panelMinFlops {
		rows(0, m)
		return
	}
	blocks := (m + 63) / 64
	nw = min(nw, blocks)
	Parallel(nw, func(w int) {
		rows(64*(blocks*w/nw), min(m, 64*(blocks*(w+1)/nw)))
	})
}
