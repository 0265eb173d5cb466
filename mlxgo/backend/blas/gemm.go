package blas

import (
	"sync"
)

// Blocking of the pure-Go implementation (GotoBLAS style). op(B) is packed
// in kc×nc panels of nr-wide column strips, op(A) in mc×kc blocks of
// mr-high row strips; the micro-kernel multiplies one A strip by one B
// strip into an mr×nr register tile. An A strip (kc*mr floats) stays in L1
// while the B panel (kc*nc floats, 1 MiB) streams from L2, and C is
// updated along rows.
const (
	kcBlock = 256
	mcBlock = 128
	ncBlock = 1024
)

// parallelFlops is the product size (2*m*n*k) below which the Go
// implementation runs on a single goroutine.
const parallelFlops = 1 << 21

// maxWorkers bounds the goroutines of one product.
const maxWorkers = 256

// bufPool recycles packing buffers.
var bufPool sync.Pool

// getBuf returns a buffer of at least n floats.
func getBuf(n int) *[]float32 {
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// gemmArgs holds the operands of one product.
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// sgemmGo is the pure-Go Sgemm on checked arguments, with nw goroutines.
//
// Every element of C is accumulated in the same order whatever nw is: the
// k dimension is split into fixed kcBlock blocks that are added to C one
// after the other, and within a block the micro-kernel sums in index order.
// Goroutines only partition the rows or columns of C, so results are
// bit-for-bit independent of nw and of scheduling.
func sgemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int, nw int) {
	scaleC(m, n, beta, c, ldc)
	if m == 0 || n == 0 || k == 0 || alpha == 0 {
		return
	}
	if nw < 1 || 2*float64(m)*float64(n)*float64(k) < parallelFlops {
		nw = 1
	}
	g := &gemmArgs{transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc}
	if m == 1 {
		g.rowTimesB(nw)
		return
	}

	kcMax := min(k, kcBlock)
	ncMax := min(roundUp(n, nr), ncBlock)
	bpBuf := getBuf(kcMax * ncMax)
	defer bufPool.Put(bpBuf)
	bp := *bpBuf
	rowStrips := (m + mr - 1) / mr
	// More goroutines than strips of work would only cost buffers.
	nw = min(nw, max(rowStrips, ncMax/nr), maxWorkers)
	splitRows := nw == 1 || rowStrips >= 4*nw
	// A buffers, one per goroutine. When columns are split, every
	// goroutine packs all m rows (m is small then).
	apLen := min(roundUp(m, mr), mcBlock) * kcMax
	apBufs := make([]*[]float32, nw)
	for w := range apBufs {
		apBufs[w] = getBuf(apLen)
		defer bufPool.Put(apBufs[w])
	}

	var wg sync.WaitGroup
	for pc := 0; pc < k; pc += kcBlock {
		kb := min(kcBlock, k-pc)
		for jc := 0; jc < n; jc += ncBlock {
			nb := min(ncBlock, n-jc)
			colStrips := (nb + nr - 1) / nr
			if splitRows {
				g.packB(bp, pc, kb, jc, nb, 0, colStrips)
				for w := 0; w < nw; w++ {
					s0, s1 := split(rowStrips, nw, w)
					run := func() {
						g.compute(*apBufs[w], bp, pc, kb, jc, s0*mr, min(s1*mr, m), 0, colStrips)
					}
					if w == nw-1 {
						run()
					} else {
						wg.Go(run)
					}
				}
			} else {
				for w := 0; w < nw; w++ {
					s0, s1 := split(colStrips, nw, w)
					run := func() {
						g.packB(bp, pc, kb, jc, nb, s0, s1)
						g.compute(*apBufs[w], bp, pc, kb, jc, 0, m, s0, s1)
					}
					if w == nw-1 {
						run()
					} else {
						wg.Go(run)
					}
				}
			}
			wg.Wait()
		}
	}
}

// split returns the share [lo, hi) of n items for worker w of nw: a fixed
// partition into nearly equal contiguous ranges.
func split(n, nw, w int) (lo, hi int) {
	return n * w / nw, n * (w + 1) / nw
}

// roundUp rounds n up to a multiple of q.
func roundUp(n, q int) int { return (n + q - 1) / q * q }

// compute multiplies rows [i0, i1) of op(A) (columns pc..pc+kb) by column
// strips [s0, s1) of the packed panel bp (columns jc..) and adds the result
// times alpha to C. i0 is a multiple of mr.
func (g *gemmArgs) compute(ap, bp []float32, pc, kb, jc, i0, i1, s0, s1 int) {
	var acc [mr * nr]float32
	for ic := i0; ic < i1; ic += mcBlock {
		mb := min(mcBlock, i1-ic)
		g.packA(ap, ic, mb, pc, kb)
		rowStrips := (mb + mr - 1) / mr
		for r := 0; r < rowStrips; r++ {
			as := ap[r*kb*mr : (r+1)*kb*mr]
			i := ic + r*mr
			mh := min(mr, ic+mb-i)
			for s := s0; s < s1; s++ {
				kernel(as, bp[s*kb*nr:(s+1)*kb*nr], &acc)
				j := jc + s*nr
				g.store(&acc, i, j, mh, min(nr, g.n-j))
			}
		}
	}
}

// store adds alpha times the top-left mh×nw part of the tile acc to C at
// (i, j).
func (g *gemmArgs) store(acc *[mr * nr]float32, i, j, mh, nw int) {
	alpha := g.alpha
	if mh == mr && nw == nr {
		storeTile(g.c[i*g.ldc+j:], g.ldc, alpha, acc)
		return
	}
	for t := 0; t < mh; t++ {
		row := g.c[(i+t)*g.ldc+j : (i+t)*g.ldc+j+nw]
		tile := acc[t*nr : t*nr+nw]
		for u := range row {
			row[u] += alpha * tile[u]
		}
	}
}

// packA packs rows [i0, i0+mb) and columns [p0, p0+kb) of op(A) into ap as
// mr-high strips: element (i, p) of strip r goes to ap[r*kb*mr+p*mr+i].
// Rows past mb are zero.
func (g *gemmArgs) packA(ap []float32, i0, mb, p0, kb int) {
	a, lda := g.a, g.lda
	for r := 0; r*mr < mb; r++ {
		dst := ap[r*kb*mr : (r+1)*kb*mr]
		rows := min(mr, mb-r*mr)
		base := i0 + r*mr
		if !g.transA {
			// op(A)(i, p) = a[i*lda+p]: each row is contiguous.
			for t := 0; t < mr; t++ {
				if t >= rows {
					for p := 0; p < kb; p++ {
						dst[p*mr+t] = 0
					}
					continue
				}
				src := a[(base+t)*lda+p0 : (base+t)*lda+p0+kb]
				for p, v := range src {
					dst[p*mr+t] = v
				}
			}
			continue
		}
		// op(A)(i, p) = a[p*lda+i]: each column is contiguous.
		for p := 0; p < kb; p++ {
			d := dst[p*mr : p*mr+mr]
			src := a[(p0+p)*lda+base : (p0+p)*lda+base+rows]
			copy(d, src)
			for t := rows; t < mr; t++ {
				d[t] = 0
			}
		}
	}
}

// packB packs column strips [s0, s1) of the panel of op(B) with rows
// [p0, p0+kb) and columns [j0, j0+nb) into bp: element (p, j) of strip s
// goes to bp[s*kb*nr+p*nr+j]. Columns past nb are zero.
func (g *gemmArgs) packB(bp []float32, p0, kb, j0, nb, s0, s1 int) {
	b, ldb := g.b, g.ldb
	for s := s0; s < s1; s++ {
		dst := bp[s*kb*nr : (s+1)*kb*nr]
		cols := min(nr, nb-s*nr)
		base := j0 + s*nr
		if !g.transB {
			// op(B)(p, j) = b[p*ldb+j]: rows are contiguous.
			for p := 0; p < kb; p++ {
				d := dst[p*nr : p*nr+nr]
				src := b[(p0+p)*ldb+base : (p0+p)*ldb+base+cols]
				copy(d, src)
				for u := cols; u < nr; u++ {
					d[u] = 0
				}
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb+p]: columns are contiguous.
		for u := 0; u < nr; u++ {
			if u >= cols {
				for p := 0; p < kb; p++ {
					dst[p*nr+u] = 0
				}
				continue
			}
			src := b[(base+u)*ldb+p0 : (base+u)*ldb+p0+kb]
			for p, v := range src {
				dst[p*nr+u] = v
			}
		}
	}
}

// rowTimesB handles m == 1 (a vector times a matrix, the shape of one
// decoding step) without packing: packing would read and write all of B
// once more, and the product is bound by reading B. Columns of C are split
// among nw goroutines in fixed chunks; each element is accumulated in index
// order of k, so results do not depend on nw.
func (g *gemmArgs) rowTimesB(nw int) {
	x := g.a[:g.k]
	if g.transA { // op(A) is a column of A
		x = make([]float32, g.k)
		for p := range x {
			x[p] = g.a[p*g.lda]
		}
	}
	c := g.c[:g.n]
	const chunk = 256
	chunks := (g.n + chunk - 1) / chunk
	nw = min(nw, chunks, maxWorkers)
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		lo, hi := split(chunks, nw, w)
		j0, j1 := lo*chunk, min(hi*chunk, g.n)
		run := func() {
			if g.transB {
				// op(B)(p, j) = b[j*ldb+p]: column j of op(B) is contiguous.
				for j := j0; j < j1; j++ {
					c[j] += g.alpha * dot(x, g.b[j*g.ldb:j*g.ldb+g.k])
				}
				return
			}
			// op(B)(p, j) = b[p*ldb+j]: accumulate rows of B into c.
			cs := c[j0:j1]
			for p, xp := range x {
				axpy(g.alpha*xp, g.b[p*g.ldb+j0:p*g.ldb+j1], cs)
			}
		}
		if w == nw-1 {
			run()
		} else {
			wg.Go(run)
		}
	}
	wg.Wait()
}

// dot returns the dot product of x and y[:len(x)], summed in eight
// interleaved partial sums combined in a fixed order.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(x) >= 8 && len(y) >= 8 {
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
		x, y = x[8:], y[8:]
	}
	for i, v := range x {
		s0 += v * y[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// axpy adds alpha*x to y (len(y) == len(x)).
func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for len(x) >= 4 && len(y) >= 4 {
		y[0] += alpha * x[0]
		y[1] += alpha * x[1]
		y[2] += alpha * x[2]
		y[3] += alpha * x[3]
		x, y = x[4:], y[4:]
	}
	for i, v := range x {
		y[i] += alpha * v
	}
}
