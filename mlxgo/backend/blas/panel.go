package blas

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Products whose output is a multiple of 64 columns wide run on kernels of this
// package where they have their assembly (AVX-512F, or AVX2 with FMA: panelKind):
//   - op(B) stored row by row (a linear layer's input gradient dY·W, and
//     attention's products once kᵀ and vᵀ are laid out so): panel64, six rows
//     by 64 columns of C in registers (then four, then one), the sum along k in
//     order, A read in place whether transposed or not;
//   - A·Bᵀ (a linear layer's forward x·Wᵀ): from 128 rows and a depth of 256,
//     B's 64 rows of a panel are copied transposed and panel64 computes it;
//     smaller ones with k a multiple of 16 run on dotTile4, the dot products of
//     four rows of A with four rows of B at a time, each as 16 partial sums
//     added up at the end.
//
// On one core of the Zen 4 of the README, panel64 runs 512×576×1536 at 170–190
// GFLOP/s where OpenBLAS 0.3.21 runs it at 179 with its SkylakeX kernels and
// 90–101 with its Haswell ones, and attention's 512×64×64 at 130–215 against
// 105–116 and 58–75 (BenchmarkPanel64, BenchmarkPanel64Linear). On the Xeon of
// the README, attention's products run at 1.6× OpenBLAS's and a linear layer's
// at 0.8–1.1×: so products of a linear layer's size (k and n from
// panelPackMinK) go to the kernels only where a one-off timing on this machine,
// at this thread count, finds them faster than the library (linearPanels,
// remembered beside the library's choice). MLXGO_GEMM_PANELS=off (read once)
// or UsePanels(false) sends every product to the library, MLXGO_GEMM_PANELS=all
// every product the kernels can compute to them, untimed.

// panelCols is the width of the output of panel64.
const panelCols = 64

// panelRows is the granularity of a split product's rows: its blocks are
// panelRows rows × 64 columns, shared out in column-panel order.
const panelRows = 128

// panelDepth is the longest stretch of k one call of panel64 covers: its rows
// of B (64 floats each, 256 KB at most) then stay in the second-level cache
// while the kernel goes over the rows of A. A longer sum goes on in C, in
// the same order.
const panelDepth = 1024

// panelPackMinK is the shortest k for which a tile copies its columns of B
// together first (attention's products, k = 64, read B from a layout made
// for them).
const panelPackMinK = 256

// panelMinFlops is the product size (2·m·n·k) from which sgemmPanels (and
// dotRows) split a product across threads: below it (80 µs on one core) the
// wait for a second thread to wake costs more than it saves. At 2 MFLOP, the
// LoRA factors' products (4.7 MFLOP at 512 tokens) were split: on the 2 cores
// of the README, h·Bᵀ 512×576×8 took 53 µs instead of 30 on one thread, and
// xᵀ·dH 576×8×512 79 instead of 73 (medians of interleaved runs).
const panelMinFlops = 1 << 24

var panelsOn atomic.Bool

// panelsAll is set by MLXGO_GEMM_PANELS=all: linear layers' products run on
// the kernels too, untimed.
var panelsAll bool

var panelEnv = sync.OnceFunc(func() {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("MLXGO_GEMM_PANELS"))) {
	case "off", "0", "false", "no":
		panelsOn.Store(false)
	case "all":
		panelsOn.Store(havePanel)
		panelsAll = true
	default:
		panelsOn.Store(havePanel)
	}
})

// UsePanels turns the package's own kernels for products 64 columns wide on
// or off (they are on by default where the CPU has AVX-512F or AVX2 with FMA,
// and cannot be turned on elsewhere) and returns the previous setting. It is
// meant for comparisons and tests: call it between products.
func UsePanels(on bool) (was bool) {
	panelEnv()
	return panelsOn.Swap(on && havePanel)
}

// Panels reports whether products run on the package's own kernels where they
// can (see UsePanels).
func Panels() bool {
	panelEnv()
	return panelsOn.Load()
}

// panelProduct reports whether Sgemm runs this product on panel64 (op(B) = B)
// or dotTile4 (A·Bᵀ).
func panelProduct(transA, transB bool, n, k int, alpha, beta float32) bool {
	if !panelForm(transA, transB, n, k, alpha, beta) || !Panels() {
		return false
	}
	if k < panelPackMinK || n < panelPackMinK { // attention's products: a head wide, or a head deep
		return true
	}
	nn, nt := linearPanels()
	return transB && nt || !transB && nn
}

// panelForm reports whether the package's kernels can compute this product:
// alpha 1, beta 0 or 1, 64 columns at a time, and op(B) = B or A·Bᵀ with k a
// multiple of 16.
func panelForm(transA, transB bool, n, k int, alpha, beta float32) bool {
	return n%panelCols == 0 && alpha == 1 && (beta == 0 || beta == 1) && (!transB || !transA && k%16 == 0)
}

// linearChoice is linearPanels's finding and why.
var linearChoice = sync.OnceValue(func() (c struct {
	nn, nt bool
	why    string
}) {
	l := load()
	if l == nil {
		c.nn, c.nt, c.why = true, true, "no library"
		return
	}
	if panelEnv(); panelsAll {
		c.nn, c.nt, c.why = true, true, "MLXGO_GEMM_PANELS=all"
		return
	}
	// The key names the kernels' version and the rule: a change is timed again.
	key := cacheKey([]*library{l}) + "|panels-huge-paired-cold"
	if e, ok := readCache()[key]; ok {
		c.nn, c.nt = strings.Contains(e.Kind, "NN"), strings.Contains(e.Kind, "NT")
		c.why = fmt.Sprintf("%s, measured %s", e.Why, e.When)
		return
	}
	// A linear layer's products at 512 tokens, as a step makes them: x·Wᵀ
	// and dY·W, on the process's threads, with the operands on huge pages
	// as the CPU backend's arrays are (on 4 KiB pages dY·W's copies of W's
	// columns ran slower, and the library won where it loses in a step).
	// Each product takes the next of 32 weights (113 MB, more than a
	// cache holds), so that W comes from memory as in a step, where the
	// kernels ask for the next panel's rows ahead (prefetchOn): timed on one
	// weight, which stays in cache, the library won by 3.6–3.9% in 2 of 7
	// runs on 2 cores of the Xeon of the README, where the kernels won in the step.
	const m, n, k, weights = 512, 1536, 576, 32
	x, freeX := hugeFloats(m * k)
	all, freeW := hugeFloats(weights * n * k)
	y, freeY := hugeFloats(m * n)
	defer freeX()
	defer freeW()
	defer freeY()
	for i := range all {
		all[i] = float32(i%5) * 0.5
	}
	next := 0
	weight := func() []float32 {
		next = (next + 1) % weights
		return all[next*n*k : (next+1)*n*k]
	}
	for i := range x {
		x[i] = float32(i%7) * 0.25
	}
	dy, dx := y, x
	// The two sides of each choice are timed in turn, five times after an
	// untimed run each, and the best of each side kept: timed one side after
	// the other, a slow stretch of a shared machine fell on one side (on the
	// Xeon of the README the library won 5 of 20 timings, by 0.7–18%).
	bestOfPair := func(a, b func()) (ta, tb time.Duration) {
		a()
		b()
		ta, tb = 1<<62, 1<<62
		for range 5 {
			t0 := time.Now()
			a()
			ta = min(ta, time.Since(t0))
			t0 = time.Now()
			b()
			tb = min(tb, time.Since(t0))
		}
		return ta, tb
	}
	libNT, panNT := bestOfPair(func() { sgemmOther(false, true, m, n, k, 1, x, k, weight(), k, 0, y, n) },
		func() { sgemmPanels(false, true, m, n, k, x, k, weight(), k, 0, y, n) })
	libNN, panNN := bestOfPair(func() { sgemmOther(false, false, m, k, n, 1, dy, n, weight(), k, 0, dx, k) },
		func() { sgemmPanels(false, false, m, k, n, dy, n, weight(), k, 0, dx, k) })
	c.nn, c.nt = panelsWin(panNN, libNN), panelsWin(panNT, libNT)
	var kinds []string
	if c.nn {
		kinds = append(kinds, "NN")
	}
	if c.nt {
		kinds = append(kinds, "NT")
	}
	c.why = fmt.Sprintf("x·Wᵀ %.2f ms against the library's %.2f, dY·W %.2f against %.2f, %d threads",
		ms(panNT), ms(libNT), ms(panNN), ms(libNN), workers())
	saveChoice(key, "panels "+strings.Join(kinds, " "), c.why)
	return c
})

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// panelsWin reports whether a linear layer's products stay on the package's
// kernels, which ran a product in pan where the library took lib: unless the
// library is more than 3% faster, since the kernels' sums do not depend on the
// thread count (the library's do), and the team need not be sent to sleep
// before them.
func panelsWin(pan, lib time.Duration) bool { return float64(pan) <= 1.03*float64(lib) }

// linearPanels reports whether products of a linear layer's size run on the
// package's kernels: nn for op(B) = B, nt for A·Bᵀ.
func linearPanels() (nn, nt bool) {
	c := linearChoice()
	return c.nn, c.nt
}

// panelsNote describes, for Backend, which products run on the package's own
// kernels.
func panelsNote() string {
	if !Panels() {
		return ""
	}
	c := linearChoice()
	forms := "attention-sized products"
	switch {
	case c.nn && c.nt:
		forms += " and linear layers'"
	case c.nn:
		forms += " and linear layers' dY·W"
	case c.nt:
		forms += " and linear layers' x·Wᵀ"
	}
	return "; own " + panelKind + " kernels for " + forms + " (" + c.why + ")"
}

// sgemmPanels computes C = op(A)·op(B) + beta·C, beta 0 or 1, n a multiple
// of 64, on panel64 (op(B) = B) or dotTile4 (A·Bᵀ): in tiles of up to panelRows rows by 64 columns side by side
// through Parallel, or one panel after another when the product is small or
// already runs inside Parallel. Each element of C is summed in the same order
// either way.
func sgemmPanels(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	as, ak := lda, 1
	if transA {
		as, ak = 1, lda
	}
	steps := max(1, (k+panelDepth-1)/panelDepth)
	// From panelRows rows and a depth of panelPackMinK, a tile reads its 64
	// columns of B many times over: they are first copied together, so that
	// they stay in cache whatever B's leading dimension (rows 4 KB apart, as in
	// a 1024-wide B, all fall on the same cache sets). For A·Bᵀ the copy is
	// transposed, and panel64 computes the product (dotTile4, which reads B's
	// rows as they are, runs 15% slower). The choice depends on the product's
	// shape only, so every split of it sums each element in the same order.
	pack := m >= panelRows && k >= panelPackMinK
	// tiles computes the tiles (rows i0 to i1 of the 64 columns from j) a
	// step along k at a time, all of them for one step before the next: a
	// product deeper than panelDepth then reads each stretch of A's rows once
	// for all its panels, not once per panel (the output layer's dY·W, 49152
	// deep, read its 100 MB dY nine times at 4×128).
	tiles := func(ts []panelTile) {
		var bp []float32
		if pack {
			buf := getBuf(panelCols * (panelDepth + 16))
			defer bufPool.Put(buf)
			bp = *buf
		}
		for s := 0; s < steps; s++ {
			for x, t := range ts {
				i0, i1, j := t.i0, t.i1, t.j
				k0, k1 := k*s/steps, k*(s+1)/steps
				acc := beta == 1 || s > 0
				// The packed tiles compute their rows in parts, and before
				// each part ask for a part of the rows of B the next tile
				// copies, so that they come from memory while this one computes.
				var pf func(part int)
				if pack && prefetchOn {
					nt, ns := x+1, s
					if nt == len(ts) {
						nt, ns = 0, s+1
					}
					if ns < steps {
						off, rows, lines := panelSource(transB, k, steps, ns, ts[nt].j, ldb)
						pf = func(part int) {
							r0, r1 := rows*part/prefetchParts, rows*(part+1)/prefetchParts
							if r1 > r0 {
								prefetchRows(&b[off+r0*ldb], ldb, r1-r0, lines)
							}
						}
					}
				}
				if !transB {
					if !pack {
						panel64(c[i0*ldc+j:], ldc, a[i0*as+k0*ak:], as, ak, b[k0*ldb+j:], ldb, i1-i0, k1-k0, acc)
						continue
					}
					copyStrip(bp, b[k0*ldb+j:], ldb, k1-k0)
					panelParts(c[j:], ldc, a[k0*ak:], as, ak, bp, i0, i1, k1-k0, acc, pf)
					continue
				}
				k0, k1 = k0/16*16, k1/16*16
				if pack {
					transposePanel(bp, b[j*ldb+k0:], ldb, k1-k0)
					panelParts(c[j:], ldc, a[k0:], lda, 1, bp, i0, i1, k1-k0, acc, pf)
					continue
				}
				bp, ldp := b[j*ldb+k0:], ldb
				i4 := i0 + (i1-i0)/4*4
				for i := i0; i < i4; i += 4 {
					dotTile4(c[i*ldc+j:], ldc, a[i*lda+k0:], lda, bp, ldp, panelCols/4, k1-k0, acc)
				}
				for i := i4; i < i1; i++ { // the last rows, one at a time
					dotRow(c[i*ldc+j:i*ldc+j+panelCols], a[i*lda+k0:i*lda+k1], bp, ldp, acc)
				}
			}
		}
	}
	panels := n / panelCols
	nw := panelWorkers()
	if nw == 1 || 2*float64(m)*float64(n)*float64(k) < panelMinFlops {
		ts := make([]panelTile, panels)
		for p := range ts {
			ts[p] = panelTile{0, m, p * panelCols}
		}
		tiles(ts)
		return
	}
	// The blocks, in (panel, row block) order, are cut into shares of
	// consecutive blocks that shrink as they go (guidedCuts), which the
	// threads take in turn; a share computes each of its panels as one tile.
	// B's columns are then copied once per share and panel rather than once
	// per block (one copy per block took 14% of a training step), the first
	// shares make tall tiles, and the last are small, so that the threads
	// finish together even when one starts late (a busy host).
	rowBlocks := (m + panelRows - 1) / panelRows
	cuts := guidedCuts(rowBlocks*panels, nw)
	Parallel(len(cuts)-1, func(w int) {
		var ts []panelTile
		for t, end := cuts[w], cuts[w+1]; t < end; {
			p, rb := t/rowBlocks, t%rowBlocks
			last := min(end, (p+1)*rowBlocks) // this panel's blocks in the share
			ts = append(ts, panelTile{rb * panelRows, min(m, (rb+last-t)*panelRows), p * panelCols})
			t = last
		}
		tiles(ts)
	})
}

// prefetchParts is how many parts a packed tile's rows are computed in, each
// after asking for a part of the next tile's B.
const prefetchParts = 4

// prefetchOn turns the prefetching of the next tile's B on;
// MLXGO_GEMM_PREFETCH=off (read at start) turns it off, for comparisons. On
// the Xeon VM of the README, where a step's weights come from memory, whole
// 4×128 steps ran 363–369 tokens/s with it against 258–299 without (and
// 277–329 with the rows in parts but nothing asked for); on the Zen 4 of the
// README, whose own prefetchers follow the rows, 490–522 against 503–544.
var prefetchOn = os.Getenv("MLXGO_GEMM_PREFETCH") != "off"

// panelSource returns where the rows of B that the tile of columns j copies in
// stretch s of k start, how many rows it reads, and how many cache lines of
// each: for A·B, k-stretch rows of 64 floats; for A·Bᵀ, 64 rows of the stretch.
func panelSource(transB bool, k, steps, s, j, ldb int) (off, rows, lines int) {
	k0, k1 := k*s/steps, k*(s+1)/steps
	if !transB {
		return k0*ldb + j, k1 - k0, panelCols * 4 / 64
	}
	k0, k1 = k0/16*16, k1/16*16
	return j*ldb + k0, panelCols, ((k1-k0)*4 + 63) / 64
}

// panelParts computes rows i0 to i1 of a tile with panel64 (c, a at the tile's
// column and depth), in prefetchParts parts with pf(part) before each when pf
// is not nil. Each element's sum runs in the same order either way.
func panelParts(c []float32, ldc int, a []float32, as, ak int, bp []float32, i0, i1, kk int, acc bool, pf func(int)) {
	if pf == nil {
		panel64(c[i0*ldc:], ldc, a[i0*as:], as, ak, bp, panelCols, i1-i0, kk, acc)
		return
	}
	for p := 0; p < prefetchParts; p++ {
		r0, r1 := i0+(i1-i0)*p/prefetchParts, i0+(i1-i0)*(p+1)/prefetchParts
		pf(p)
		if r1 > r0 {
			panel64(c[r0*ldc:], ldc, a[r0*as:], as, ak, bp, panelCols, r1-r0, kk, acc)
		}
	}
}

// panelTile is rows i0 to i1 of the 64 columns of C from column j.
type panelTile struct{ i0, i1, j int }

// guidedCuts cuts n blocks into shares for nw threads, each share 1/nw of
// the blocks left (at least one block), and returns their bounds: share i is
// [cuts[i], cuts[i+1]). 36 blocks for 2 threads are 18, 9, 5, 2, 1 and 1.
// Against 4 equal shares a thread (which cut the 36 blocks of a 512×576
// product into shares of 4.5, splitting panels) products 512×576 wide ran at
// 336–339 GFLOP/s instead of 291–304 on the 2 cores of the README; against
// 2 equal shares a thread, 1–3% faster, and a thread that starts late
// leaves the other less to finish alone.
func guidedCuts(n, nw int) []int {
	cuts := []int{0}
	for left := n; left > 0; {
		left -= max(1, (left+nw-1)/nw)
		cuts = append(cuts, n-left)
	}
	return cuts
}

// copyStrip sets dst (rows rows of 64) to the first 64 floats of rows rows of
// src, lds apart: on the assembly where there is some, which asks for the
// rows ahead (a weight's rows are read 256 bytes a row, which the hardware's
// prefetcher does not follow; the copies were 3.5% of a 4×128 step's CPU
// time, 2.4% so; dY·W products 1–2% faster on 2 threads here).
func copyStrip(dst, src []float32, lds, rows int) {
	if rows <= 0 {
		return
	}
	if len(dst) < rows*panelCols || len(src) < (rows-1)*lds+panelCols {
		panic("blas: copyStrip operands too short")
	}
	if havePanel {
		copyStripAVX2(&dst[0], &src[0], lds, rows)
		return
	}
	for x := range rows {
		copy(dst[x*panelCols:(x+1)*panelCols], src[x*lds:x*lds+panelCols])
	}
}

// transposePanel sets dst (kk rows of 64) to the transpose of the 64 rows of
// src (kk floats each, lds apart; kk a multiple of 16): in blocks of 16×16 on
// AVX-512 (a tenth of the time of the loops, which cost the product 30%),
// each row's lines asked for ahead of the blocks.
func transposePanel(dst, src []float32, lds, kk int) {
	if panelKind != "AVX-512F" {
		transpose(dst, panelCols, src, lds, panelCols, kk)
		return
	}
	if len(dst) < kk*panelCols || len(src) < (panelCols-1)*lds+kk || kk%16 != 0 {
		panic("blas: transposePanel operands too short")
	}
	if kk > 0 {
		transposePanelAVX512(&dst[0], &src[0], lds, kk)
	}
}

// Transpose64 sets dst (kk rows of 64 floats) to the transpose of the 64 rows
// of src (kk floats each, lds apart), kk a multiple of 16: the copy the kernels
// make of B for A·Bᵀ, on AVX-512 where there is some. It panics if a slice is
// too short.
func Transpose64(dst, src []float32, lds, kk int) {
	if kk%16 != 0 {
		panic("blas: Transpose64 needs kk a multiple of 16")
	}
	transposePanel(dst, src, lds, kk)
}

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
		panic("blas: panel64 operands too short")
	}
	if !havePanel {
		panel64Go(c, ldc, a, as, ak, b, ldb, m, k, acc)
		return
	}
	// The AVX-512 kernel goes six rows at a time, then four, then one: 8
	// rows (a LoRA factor's gradient at rank 8) would read B three times as
	// 6+1+1, and twice as 4+4; likewise 9 as 4+4+1 rather than 6+1+1+1.
	six := m
	if r := m % 6; panelKind == "AVX-512F" && m > 6 && (r == 2 || r == 3) {
		six = m - 6 - r
	}
	if six > 0 {
		panel64Asm(&c[0], ldc, &a[0], as, ak, &b[0], ldb, six, k, acc)
	}
	for i := six; i < m; i += 4 {
		panel64Asm(&c[i*ldc], ldc, &a[i*as], as, ak, &b[0], ldb, min(4, m-i), k, acc)
	}
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

// dotTile4 sets rows 0–3, columns 0 to 4·quads−1 of c (ldc apart) to the dot
// products of rows 0–3 of a with as many rows of b (k floats each, lda and
// ldb apart), plus c's values when acc. k is a multiple of 16. It panics if a
// slice is too short.
func dotTile4(c []float32, ldc int, a []float32, lda int, b []float32, ldb int, quads, k int, acc bool) {
	if quads <= 0 || k <= 0 || k%16 != 0 {
		panic("blas: dotTile4 needs quads > 0 and k a positive multiple of 16")
	}
	if len(c) < 3*ldc+4*quads || len(a) < 3*lda+k || len(b) < (4*quads-1)*ldb+k {
		panic("blas: dotTile4 operands too short")
	}
	if havePanel {
		dotTile4Asm(&c[0], ldc, &a[0], lda, &b[0], ldb, quads, k, acc)
		return
	}
	for r := 0; r < 4; r++ {
		dotRow(c[r*ldc:r*ldc+4*quads], a[r*lda:r*lda+k], b, ldb, acc)
	}
}

// dotRow sets c[j] to the dot product of a with row j of b (ldb apart), plus
// c[j] when acc, for every j < len(c).
func dotRow(c, a, b []float32, ldb int, acc bool) {
	for j := range c {
		row := b[j*ldb : j*ldb+len(a)]
		var s float32
		for x, v := range a {
			s += v * row[x]
		}
		if acc {
			s += c[j]
		}
		c[j] = s
	}
}
