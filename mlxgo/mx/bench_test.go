package mx_test

import (
	"math/rand"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// BenchmarkMatmul1024 reports GFLOP/s of a 1024² float32 product through mx.Matmul
// (graph, Eval and BLAS or the fallback, whichever blas.Backend says).
func BenchmarkMatmul1024(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := randArray(r, -1, 1, 1024, 1024)
	y := randArray(r, -1, 1, 1024, 1024)
	b.Logf("blas backend: %s", blas.Backend())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mx.Eval(mx.Matmul(x, y))
	}
	b.ReportMetric(2*1024*1024*1024*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGraphOverheadTinyOp builds and evaluates one elementwise op on 4 elements:
// the per-op cost of laziness.
func BenchmarkGraphOverheadTinyOp(b *testing.B) {
	x := mx.FromSlice([]float32{1, 2, 3, 4})
	for i := 0; i < b.N; i++ {
		mx.Eval(mx.Add(x, x))
	}
}

// BenchmarkElementwiseAdd reports GB/s (two reads, one write) of a 4M-element add.
func BenchmarkElementwiseAdd(b *testing.B) {
	const n = 1 << 22
	r := rand.New(rand.NewSource(1))
	x := randArray(r, -1, 1, n)
	y := randArray(r, -1, 1, n)
	for i := 0; i < b.N; i++ {
		mx.Eval(mx.Add(x, y))
	}
	b.ReportMetric(3*4*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkCopyLoop is the plain Go reference for BenchmarkElementwiseAdd: the same
// loop over Go slices on one goroutine.
func BenchmarkCopyLoop(b *testing.B) {
	const n = 1 << 22
	x, y, o := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := 0; i < b.N; i++ {
		for j := range o {
			o[j] = x[j] + y[j]
		}
	}
	b.ReportMetric(3*4*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
