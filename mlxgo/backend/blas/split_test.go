package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestSplitProducts checks that a product cut into blocks of rows or of
// columns, each run single-threaded, equals the same product run whole, for
// every transpose combination, leading dimensions wider than the matrix,
// block counts that do not divide the size, and beta ≠ 0.
func TestSplitProducts(t *testing.T) {
	l := load()
	if l == nil {
		t.Fatalf("no BLAS library loaded (%s); make setup installs OpenBLAS", reason)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	r := rand.New(rand.NewPCG(3, 4))
	shapes := []struct{ m, n, k, parts int }{{515, 97, 130, 3}, {96, 700, 64, 4}, {256, 256, 256, 2}, {1000, 33, 17, 4}}
	for _, s := range shapes {
		for _, byRows := range []bool{true, false} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					rowsA, colsA := s.m, s.k
					if ta {
						rowsA, colsA = s.k, s.m
					}
					rowsB, colsB := s.k, s.n
					if tb {
						rowsB, colsB = s.n, s.k
					}
					lda, ldb, ldc := colsA+3, colsB+5, s.n+7
					a, b := randSlice(r, rowsA*lda), randSlice(r, rowsB*ldb)
					c0 := randSlice(r, s.m*ldc)
					want := append([]float32(nil), c0...)
					got := append([]float32(nil), c0...)
					sgemmLib(l, ta, tb, s.m, s.n, s.k, 1.5, a, lda, b, ldb, 0.5, want, ldc)
					sgemmSplit(l, s.parts, byRows, ta, tb, s.m, s.n, s.k, 1.5, a, lda, b, ldb, 0.5, got, ldc)
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("%+v rows=%v ta=%v tb=%v: c[%d] = %g, whole product %g", s, byRows, ta, tb, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestSplitParts checks when products are cut: only large ones, never
// inside Parallel, not with fewer than 4 threads, by the longer side.
func TestSplitParts(t *testing.T) {
	cases := []struct {
		m, n, k, threads, parts int
		rows                    bool
	}{
		{512, 1536, 576, 2, 1, true},    // 2 threads: measured even, left whole
		{1024, 1536, 576, 4, 4, true},   // rows: 1024 ≥ 4·64
		{512, 1536, 576, 16, 16, false}, // columns when rows are too few for the threads
		{2048, 576, 576, 16, 16, true},  // one block per thread
		{8, 49152, 576, 4, 4, false},    // few rows, many columns
		{64, 64, 64, 8, 1, true},        // too small to pay
		{512, 1536, 576, 1, 1, true},    // one thread
	}
	for _, c := range cases {
		p, rows := splitParts(c.m, c.n, c.k, c.threads)
		if p != c.parts || (p > 1 && rows != c.rows) {
			t.Errorf("splitParts(%d, %d, %d, %d threads) = %d, rows %v; want %d, rows %v", c.m, c.n, c.k, c.threads, p, rows, c.parts, c.rows)
		}
	}
	Parallel(2, func(int) {
		if p, _ := splitParts(2048, 2048, 2048, 8); p != 1 {
			t.Errorf("split inside Parallel: %d parts", p)
		}
	})
}

// BenchmarkLoRAShapes compares, on the products of a smollm135 training step
// (512 tokens), the library's own threading with the split into one
// single-threaded block per thread: GFLOP/s for each and their ratio.
func BenchmarkLoRAShapes(b *testing.B) {
	l := load()
	if l == nil {
		b.Skip("no BLAS library")
	}
	threads := Threads()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, n, k int }{{512, 1536, 576}, {512, 576, 1536}, {512, 576, 576}, {2048, 1536, 576}} {
		a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		parts, rows := splitParts(s.m, s.n, s.k, threads)
		flop := 2 * float64(s.m*s.n*s.k)
		var whole, split float64
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				t0 := time.Now()
				sgemmLib(l, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				t1 := time.Now()
				sgemmSplit(l, max(parts, 2), rows, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				whole += t1.Sub(t0).Seconds()
				split += time.Since(t1).Seconds()
			}
			b.ReportMetric(flop*float64(b.N)/whole/1e9, "GFLOP/s-whole")
			b.ReportMetric(flop*float64(b.N)/split/1e9, "GFLOP/s-split")
			b.ReportMetric(whole/split, "speedup")
		})
	}
}
