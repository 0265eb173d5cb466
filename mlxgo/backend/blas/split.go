package blas

import (
	"os"
	"strings"
	"sync"
)

// A library's own threading splits one product finely and synchronises its
// threads inside it; on the mid-sized products of a training step (a few
// hundred to a few thousand rows, hidden sizes of 500–2000) that cost is
// large: OpenBLAS 0.3.21 with 2 threads ran 512×1536×576 at 174 GFLOP/s
// where its square 1024² product runs at 265. Cutting C into one block per
// thread (a grid of rows × columns, splitGrid) and running each block
// single-threaded through [Parallel] keeps every core inside one large,
// independent call.
//
// Measured on a 16-core Xeon (OpenBLAS 0.3.21, SkylakeX kernels): the
// 2048-row products of a 16×128 LoRA step ran at about 700 instead of 400
// GFLOP/s, the step 1.4× faster. On 2 cores the two were even (Xeon and
// Zen 4, BenchmarkLoRAShapes 0.95–1.02×), so the split is used from
// splitMinThreads threads on. MLXGO_GEMM_SPLIT=off turns it off (read once).

// splitMinFlops is the product size (2·m·n·k) below which the library runs
// it alone: smaller products do not amortise waking the goroutines.
const splitMinFlops = 1 << 24

// splitMinThreads is the fewest library threads for which products are cut.
const splitMinThreads = 4

// splitMinSide is the fewest rows (or columns) a block may have.
const splitMinSide = 64

var splitOff = sync.OnceValue(func() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("MLXGO_GEMM_SPLIT"))) {
	case "off", "0", "false", "no":
		return true
	}
	return false
})

// splitGrid returns how to cut a library product of this size: into pm blocks
// of rows times pn blocks of columns, each run single-threaded; pm·pn < 2
// means run it whole. It uses as many blocks as threads allow (at most one
// per thread, each side at least splitMinSide), and among those grids the one
// whose blocks pack the fewest elements of A and B (m/pm + n/pn, times k): a
// block of rows alone packs all of B, which on 16 threads made every thread
// pack the whole weight matrix of a layer.
func splitGrid(m, n, k, threads int) (pm, pn int) {
	if threads < splitMinThreads || splitOff() || 2*float64(m)*float64(n)*float64(k) < splitMinFlops {
		return 1, 1
	}
	pm, pn = 1, 1
	best := m + n
	for r := 1; r <= threads; r++ {
		c := threads / r
		if (r > 1 && m/r < splitMinSide) || (c > 1 && n/c < splitMinSide) {
			continue
		}
		cost := (m+r-1)/r + (n+c-1)/c
		if r*c > pm*pn || (r*c == pm*pn && cost < best) {
			pm, pn, best = r, c, cost
		}
	}
	return pm, pn
}

// blockEdges cuts side into parts blocks whose edges are multiples of 16, so
// every block starts on a cache line; it returns the block length and count.
func blockEdges(side, parts int) (step, count int) {
	step = (side/parts + 15) &^ 15
	if step == 0 {
		step = side
	}
	return step, (side + step - 1) / step
}

// sgemmSplit computes the product as independent single-threaded library
// calls, one per block of a pm × pn grid over C.
func sgemmSplit(l *library, pm, pn int, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	rs, rn := blockEdges(m, pm)
	cs, cn := blockEdges(n, pn)
	Parallel(rn*cn, func(p int) {
		i0, j0 := (p/cn)*rs, (p%cn)*cs
		i1, j1 := min(m, i0+rs), min(n, j0+cs)
		offA := i0 * lda // op(A) row i is A's row i
		if transA {
			offA = i0 // op(A) row i is A's column i
		}
		offB := j0 // op(B) column j is B's column j
		if transB {
			offB = j0 * ldb // op(B) column j is B's row j
		}
		sgemmLib(l, transA, transB, i1-i0, j1-j0, k, alpha, a[offA:], lda, b[offB:], ldb, beta, c[i0*ldc+j0:], ldc)
	})
}

// splitKMinFlops and splitKMinDepth bound the products whose reduction is cut:
// smaller ones do not amortise the partial sums.
const (
	splitKMinFlops = 1 << 22
	splitKMinDepth = 256
)

// splitDepth returns into how many slices of the reduction axis k a product
// should be cut (1: not), for products whose output is too small to give every
// thread a block — the gradients of LoRA factors, (r × hidden) summed over
// every token, on which a library runs one thread: 8×576×2048 ran at 15
// GFLOP/s on 16 threads.
func splitDepth(m, n, k, threads int) int {
	if threads < 2 || splitOff() || 2*float64(m)*float64(n)*float64(k) < splitKMinFlops {
		return 1
	}
	if (m/splitMinSide)*(n/splitMinSide) >= threads {
		return 1
	}
	return max(1, min(threads, k/splitKMinDepth))
}

// sgemmSplitK computes the product as parts single-threaded library calls, each
// over one slice of k into its own partial result, then C = alpha·Σ partials +
// beta·C.
func sgemmSplitK(l *library, parts int, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	step, count := blockEdges(k, parts)
	partial := make([]float32, count*m*n)
	Parallel(count, func(p int) {
		k0 := p * step
		k1 := min(k, k0+step)
		offA := k0 // op(A) column κ is A's column κ
		if transA {
			offA = k0 * lda // op(A) column κ is A's row κ
		}
		offB := k0 * ldb // op(B) row κ is B's row κ
		if transB {
			offB = k0 // op(B) row κ is B's column κ
		}
		sgemmLib(l, transA, transB, m, n, k1-k0, 1, a[offA:], lda, b[offB:], ldb, 0, partial[p*m*n:], n)
	})
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			var s float32
			for p := 0; p < count; p++ {
				s += partial[p*m*n+i*n+j]
			}
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}
