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
// where its square 1024² product runs at 265. Cutting C into one block of
// rows (or columns) per thread and running each block single-threaded
// through [Parallel] keeps every core inside one large, independent call.
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

// splitParts returns into how many blocks a library product of this size
// should be cut, and whether by rows (else by columns); parts < 2 means run
// it whole.
func splitParts(m, n, k, threads int) (parts int, byRows bool) {
	if threads < splitMinThreads || splitOff() || inPar.Load() > 0 || 2*float64(m)*float64(n)*float64(k) < splitMinFlops {
		return 1, true
	}
	byRows = m >= n || m >= threads*splitMinSide
	side := n
	if byRows {
		side = m
	}
	return min(threads, side/splitMinSide), byRows
}

// sgemmSplit computes the product as parts independent single-threaded
// library calls, each on a block of C's rows (byRows) or columns. Block
// edges are multiples of 16 so every block starts on a cache line.
func sgemmSplit(l *library, parts int, byRows bool, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	side := n
	if byRows {
		side = m
	}
	step := (side/parts + 15) &^ 15
	parts = (side + step - 1) / step
	Parallel(parts, func(p int) {
		lo := p * step
		hi := min(side, lo+step)
		if byRows {
			offA := lo * lda // op(A) row i is A's row i
			if transA {
				offA = lo // op(A) row i is A's column i
			}
			sgemmLib(l, transA, transB, hi-lo, n, k, alpha, a[offA:], lda, b, ldb, beta, c[lo*ldc:], ldc)
			return
		}
		offB := lo // op(B) column j is B's column j
		if transB {
			offB = lo * ldb // op(B) column j is B's row j
		}
		sgemmLib(l, transA, transB, m, hi-lo, k, alpha, a, lda, b[offB:], ldb, beta, c[lo:], ldc)
	})
}
