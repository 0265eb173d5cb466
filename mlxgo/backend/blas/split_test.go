package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestSplitProducts checks that a product cut into a grid of blocks (rows
// only, columns only, both), each run single-threaded, equals the same product
// run whole, for every transpose combination, leading dimensions wider than
// the matrix, block counts that do not divide the size, and beta ≠ 0.
func TestSplitProducts(t *testing.T) {
	l := load()
	if l == nil {
		t.Fatalf("no BLAS library loaded (%s); make setup installs OpenBLAS", reason)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	r := rand.New(rand.NewPCG(3, 4))
	shapes := []struct{ m, n, k, pm, pn int }{{515, 97, 130, 3, 1}, {96, 700, 64, 1, 4}, {256, 256, 256, 2, 2}, {1000, 33, 17, 4, 1}, {515, 700, 64, 3, 2}}
	for _, s := range shapes {
		checkLikeWhole(t, l, r, s.m, s.n, s.k, 0.5, fmt.Sprintf("%+v", s),
			func(ta, tb bool, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
				sgemmSplit(l, s.pm, s.pn, ta, tb, s.m, s.n, s.k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
			})
	}
}

// checkLikeWhole runs cut, a way of computing C = 1.5·op(A)·op(B) + beta·C, for
// every transpose combination with leading dimensions wider than the matrices,
// and compares it with the library's product run whole.
func checkLikeWhole(t *testing.T, l *library, r *rand.Rand, m, n, k int, beta float32, name string,
	cut func(ta, tb bool, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)) {
	t.Helper()
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			rowsA, colsA := m, k
			if ta {
				rowsA, colsA = k, m
			}
			rowsB, colsB := k, n
			if tb {
				rowsB, colsB = n, k
			}
			lda, ldb, ldc := colsA+3, colsB+5, n+7
			a, b := randSlice(r, rowsA*lda), randSlice(r, rowsB*ldb)
			c0 := randSlice(r, m*ldc)
			want := append([]float32(nil), c0...)
			got := append([]float32(nil), c0...)
			sgemmLib(l, ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, want, ldc)
			cut(ta, tb, a, lda, b, ldb, got, ldc)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s beta=%v ta=%v tb=%v: c[%d] = %g, whole product %g", name, beta, ta, tb, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSplitGrid checks when and how products are cut: only large ones, never
// inside Parallel, not with fewer than 4 threads, into one block per thread,
// in the grid whose blocks pack the least.
func TestSplitGrid(t *testing.T) {
	cases := []struct{ m, n, k, threads, pm, pn int }{
		{512, 1536, 576, 2, 1, 1},     // 2 threads: measured even, left whole
		{1024, 1536, 576, 4, 2, 2},    // 512+768 packed rows/columns per block, the least of 1×4, 2×2, 4×1
		{512, 1536, 576, 16, 2, 8},    // 16 rows of 32 would be too thin
		{2048, 576, 576, 16, 8, 2},    // 256+288
		{2048, 1536, 576, 12, 4, 3},   // 12 threads: 512+512
		{8, 49152, 576, 4, 1, 4},      // few rows, many columns
		{64, 64, 64, 8, 1, 1},         // too small to pay
		{512, 1536, 576, 1, 1, 1},     // one thread
		{2048, 49152, 576, 16, 1, 16}, // the head: columns
	}
	for _, c := range cases {
		if pm, pn := splitGrid(c.m, c.n, c.k, c.threads); pm != c.pm || pn != c.pn {
			t.Errorf("splitGrid(%d, %d, %d, %d threads) = %d×%d, want %d×%d", c.m, c.n, c.k, c.threads, pm, pn, c.pm, c.pn)
		}
	}
	// The same cut inside a Parallel loop (which may run on another stream of the CPU
	// backend beside a product), so that a product's bits do not depend on what runs
	// beside it.
	wm, wn := splitGrid(2048, 2048, 2048, 8)
	Parallel(2, func(int) {
		if pm, pn := splitGrid(2048, 2048, 2048, 8); pm != wm || pn != wn {
			t.Errorf("split inside Parallel: %d×%d, outside %d×%d", pm, pn, wm, wn)
		}
	})
}

// BenchmarkLoRAShapes compares, on the products of a smollm135 training step
// (512 and 2048 tokens), the library's own threading with the split into one
// single-threaded block per thread, as a grid (splitGrid) and as blocks of
// rows only: GFLOP/s for each and the grid's speedup over the other two.
func BenchmarkLoRAShapes(b *testing.B) {
	l := load()
	if l == nil {
		b.Skip("no BLAS library")
	}
	threads := Threads()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, n, k int }{{512, 1536, 576}, {512, 576, 1536}, {512, 576, 576}, {2048, 1536, 576}} {
		a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		pm, pn := splitGrid(s.m, s.n, s.k, max(threads, splitMinThreads))
		flop := 2 * float64(s.m*s.n*s.k)
		var whole, split, rows float64
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				t0 := time.Now()
				sgemmLib(l, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				t1 := time.Now()
				sgemmSplit(l, pm, pn, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				t2 := time.Now()
				sgemmSplit(l, max(threads, 2), 1, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				whole += t1.Sub(t0).Seconds()
				split += t2.Sub(t1).Seconds()
				rows += time.Since(t2).Seconds()
			}
			b.ReportMetric(flop*float64(b.N)/whole/1e9, "GFLOP/s-whole")
			b.ReportMetric(flop*float64(b.N)/split/1e9, "GFLOP/s-grid")
			b.ReportMetric(flop*float64(b.N)/rows/1e9, "GFLOP/s-rows")
			b.ReportMetric(whole/split, "grid/whole")
			b.ReportMetric(rows/split, "grid/rows")
		})
	}
}

// TestSplitDepthProducts checks that a product whose reduction axis is cut into
// slices, summed afterwards, equals the product run whole, for every transpose
// combination, wide leading dimensions, slices that do not divide k, beta 0 and
// beta ≠ 0.
func TestSplitDepthProducts(t *testing.T) {
	l := load()
	if l == nil {
		t.Fatalf("no BLAS library loaded (%s); make setup installs OpenBLAS", reason)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ m, n, k, parts int }{{8, 57, 1000, 3}, {57, 8, 513, 2}, {3, 5, 2048, 8}} {
		for _, beta := range []float32{0, 0.5} {
			checkLikeWhole(t, l, r, s.m, s.n, s.k, beta, fmt.Sprintf("%+v", s),
				func(ta, tb bool, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
					sgemmSplitK(l, s.parts, ta, tb, s.m, s.n, s.k, 1.5, a, lda, b, ldb, beta, c, ldc)
				})
		}
	}
}

// TestSplitDepth checks which products have their reduction cut: outputs too
// small for a block per thread, deep enough reductions, never on one thread or
// inside Parallel.
func TestSplitDepth(t *testing.T) {
	cases := []struct{ m, n, k, threads, parts int }{
		{576, 8, 512, 2, 2},     // a LoRA factor's gradient over 4×128 tokens
		{8, 576, 2048, 16, 8},   // over 2048 tokens: slices of 256
		{8, 576, 100000, 4, 4},  // one slice per thread
		{512, 1536, 576, 16, 1}, // large output: the grid's case
		{8, 192, 512, 2, 1},     // too small to pay
		{576, 8, 512, 1, 1},     // one thread
	}
	for _, c := range cases {
		if p := splitDepth(c.m, c.n, c.k, c.threads); p != c.parts {
			t.Errorf("splitDepth(%d, %d, %d, %d threads) = %d, want %d", c.m, c.n, c.k, c.threads, p, c.parts)
		}
	}
	want := splitDepth(8, 576, 2048, 16) // the same cut inside a Parallel loop, as splitGrid's
	Parallel(2, func(int) {
		if p := splitDepth(8, 576, 2048, 16); p != want {
			t.Errorf("reduction cut inside Parallel: %d parts, outside %d", p, want)
		}
	})
}

// BenchmarkLoRAFactorGrads compares the library's own threading with the cut
// reduction on the LoRA factors' gradients (rank 8, hidden 576, 512 and 2048
// tokens).
func BenchmarkLoRAFactorGrads(b *testing.B) {
	l := load()
	if l == nil {
		b.Skip("no BLAS library")
	}
	threads := Threads()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, n, k int }{{576, 8, 512}, {8, 576, 512}, {576, 8, 2048}, {8, 576, 2048}} {
		a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		parts := max(2, min(threads, s.k/splitKMinDepth))
		flop := 2 * float64(s.m*s.n*s.k)
		var whole, split float64
		b.Run(fmt.Sprintf("TN%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			for b.Loop() {
				t0 := time.Now()
				sgemmLib(l, true, false, s.m, s.n, s.k, 1, a, s.m, bb, s.n, 0, c, s.n)
				t1 := time.Now()
				sgemmSplitK(l, parts, true, false, s.m, s.n, s.k, 1, a, s.m, bb, s.n, 0, c, s.n)
				whole += t1.Sub(t0).Seconds()
				split += time.Since(t1).Seconds()
			}
			b.ReportMetric(flop*float64(b.N)/whole/1e9, "GFLOP/s-whole")
			b.ReportMetric(flop*float64(b.N)/split/1e9, "GFLOP/s-splitk")
			b.ReportMetric(whole/split, "speedup")
		})
	}
}
