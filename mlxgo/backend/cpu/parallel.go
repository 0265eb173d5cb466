package cpu

import (
	"runtime"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// parallelFor splits [0, n) into at most GOMAXPROCS contiguous chunks of at least grain
// items and runs f on each (on blas.ForEach's team). The split depends only on n, grain
// and GOMAXPROCS, so kernels whose chunks write disjoint outputs are deterministic.
func parallelFor(n, grain int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if grain < 1 {
		grain = 1
	}
	if max := n / grain; max < workers {
		workers = max
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	blas.ForEach((n+chunk-1)/chunk, func(c int) { f(c*chunk, min((c+1)*chunk, n)) })
}
