package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refGemm computes alpha*op(A)*op(B) + beta*C in float64 and, for each
// element, a bound on the float32 rounding error of any summation order.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) (want, tol []float64) {
	want = make([]float64, len(c))
	tol = make([]float64, len(c))
	for i := range c {
		want[i] = float64(c[i])
	}
	const eps = 1.0 / (1 << 24)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			x := float64(alpha) * s
			e := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				x += float64(beta) * float64(c[i*ldc+j])
				e += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			want[i*ldc+j] = x
			tol[i*ldc+j] = 4*float64(k+2)*eps*e + 1e-30
		}
	}
	return want, tol
}

// gemmFunc is one implementation under test.
type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int)

// implementations returns the paths to test: the public entry point, the
// Go implementation on 1 and 3 goroutines, and the library when one loads.
func implementations(t *testing.T) map[string]gemmFunc {
	impls := map[string]gemmFunc{
		"Sgemm": Sgemm,
		"go1": func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemmGo(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1)
		},
		"go3": func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemmGo(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 3)
		},
	}
	if havePanel {
		// The package's own kernel, where it takes the product (beta 0 or 1,
		// alpha 1, op(B) row-major, n a multiple of 64), split or not.
		impls["panels"] = func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if m == 0 || n == 0 || k == 0 || !panelForm(ta, tb, n, k, alpha, beta) {
				Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			sgemmPanels(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
		}
	}
	if l := load(); l != nil {
		impls["lib"] = func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			// The library path proper: Sgemm handles degenerate sizes
			// before it gets there.
			if m == 0 || n == 0 || k == 0 || alpha == 0 {
				Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			sgemmLib(l, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	} else {
		t.Logf("no BLAS library, testing the Go implementation only: %s", Backend())
	}
	return impls
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra leading dimension
	padC           int
	alpha, beta    float32
}

func gemmCases() []gemmCase {
	dims := [][3]int{
		{1, 1, 1}, {1, 1, 7}, {1, 9, 1}, {5, 1, 3}, {2, 3, 4}, {3, 5, 0}, {0, 4, 3}, {4, 0, 3},
		{7, 9, 13}, {16, 16, 16}, {17, 33, 65}, {1, 300, 257}, {300, 1, 257}, {65, 130, 300},
		{130, 67, 513}, {4, 2049, 3}, {129, 5, 1}, {9, 1100, 260},
		{1, 64, 1}, {5, 64, 9}, {130, 128, 70}, {300, 192, 33}, {2, 64, 0}, {257, 640, 64}, {70, 64, 2512}, {6, 128, 16}, {33, 64, 2064}, {130, 64, 304}, {129, 128, 1040},
	}
	var cases []gemmCase
	r := rand.New(rand.NewPCG(10, 20))
	for i, d := range dims {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			c := gemmCase{transA: tr[0], transB: tr[1], m: d[0], n: d[1], k: d[2], alpha: 1, beta: 0}
			switch (i + len(cases)) % 4 {
			case 1:
				c.alpha, c.beta = 0.5, 1
			case 2:
				c.alpha, c.beta = -1.25, -0.5
				c.padA, c.padB, c.padC = 3, 1, 2
			case 3:
				c.beta = 2
				c.padA, c.padB, c.padC = 1+r.IntN(5), 1+r.IntN(5), 1+r.IntN(5)
			}
			cases = append(cases, c)
		}
	}
	cases = append(cases,
		gemmCase{m: 8, n: 8, k: 8, alpha: 0, beta: 0.5},
		gemmCase{m: 8, n: 8, k: 8, alpha: 0, beta: 0},
		gemmCase{transA: true, m: 3, n: 3, k: 0, alpha: 2, beta: 3, padA: 2},
	)
	return cases
}

func TestSgemm(t *testing.T) {
	for name, impl := range implementations(t) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, tc := range gemmCases() {
			checkCase(t, name, r, tc, impl)
		}
	}
}

// checkCase runs one case through impl on random operands and compares it
// with the float64 reference, padding included.
func checkCase(t *testing.T, name string, r *rand.Rand, tc gemmCase, impl gemmFunc) {
	t.Helper()
	label := fmt.Sprintf("%s/tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%v,beta=%v,pad=%d,%d,%d",
		name, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
	rowsA, colsA := tc.m, tc.k
	if tc.transA {
		rowsA, colsA = tc.k, tc.m
	}
	rowsB, colsB := tc.k, tc.n
	if tc.transB {
		rowsB, colsB = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, colsA+tc.padA), max(1, colsB+tc.padB), max(1, tc.n+tc.padC)
	a := randSlice(r, rowsA*lda)
	b := randSlice(r, rowsB*ldb)
	c := randSlice(r, tc.m*ldc)
	if tc.beta == 0 {
		// beta == 0 must not read C: NaNs must disappear.
		for i := range c {
			if i%ldc < tc.n {
				c[i] = float32(math.NaN())
			}
		}
	}
	want, tol := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	impl(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	bad := 0
	for i := range c {
		got := float64(c[i])
		if i%ldc >= tc.n { // padding: must be untouched
			if got != want[i] {
				t.Errorf("%s: padding c[%d] changed", label, i)
				bad++
			}
			continue
		}
		if math.IsNaN(got) || math.Abs(got-want[i]) > tol[i] {
			t.Errorf("%s: c[%d,%d] = %v, want %v ± %g", label, i/ldc, i%ldc, got, want[i], tol[i])
			bad++
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

// TestDeterministic checks that the Go implementation gives bit-identical
// results whatever the number of goroutines.
func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, d := range [][3]int{{300, 200, 700}, {3, 1000, 600}, {257, 9, 1000}, {1, 3000, 300}} {
		m, n, k := d[0], d[1], d[2]
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		var first []float32
		for _, nw := range []int{1, 2, 3, 5, 16} {
			c := make([]float32, m*n)
			sgemmGo(false, true, m, n, k, 1, a, k, b, k, 0, c, n, nw)
			if first == nil {
				first = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%v: %d goroutines differ from 1 at %d: %v vs %v", d, nw, i, c[i], first[i])
				}
			}
		}
	}
}

func TestPanics(t *testing.T) {
	s := make([]float32, 12)
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"negative", func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }, "negative dimension"},
		{"lda", func() { Sgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) }, "lda=2"},
		{"lda trans", func() { Sgemm(true, false, 4, 2, 3, 1, s, 3, s, 2, 0, s, 2) }, "lda=3"},
		{"ldb trans", func() { Sgemm(false, true, 2, 2, 3, 1, s, 3, s, 2, 0, s, 2) }, "ldb=2"},
		{"ldc", func() { Sgemm(false, false, 2, 3, 2, 1, s, 2, s, 3, 0, s, 2) }, "ldc=2"},
		{"short a", func() { Sgemm(false, false, 7, 1, 2, 1, s, 2, s, 1, 0, s, 1) }, "len(a)=12 < 14"},
		{"short c", func() { Sgemm(false, false, 2, 2, 2, 1, s, 2, s, 2, 0, s[:4], 3) }, "len(c)=4 < 5"},
		{"overflow", func() { Sgemm(false, false, 1<<62, 1, 1, 1, s, 1<<40, s, 1, 0, s, 1) }, "overflows"},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("%s: panic %v, want %q", tc.name, r, tc.want)
				}
			}()
			tc.f()
		}()
	}
	// Degenerate products accept empty slices.
	Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, s, 2)
}

func TestBackend(t *testing.T) {
	be := Backend()
	t.Logf("backend: %s, threads %d", be, Threads())
	if l := load(); l != nil {
		if !strings.Contains(be, l.path) || strings.HasPrefix(be, "go") {
			t.Errorf("Backend() = %q with library %s", be, l.path)
		}
	} else if !strings.HasPrefix(be, "go (fallback: ") {
		t.Errorf("Backend() = %q without library", be)
	}
	l, why := openLibrary([]string{"/nonexistent/libnothing.so"})
	if l != nil || !strings.Contains(why, "/nonexistent/libnothing.so") {
		t.Errorf("openLibrary(bogus) = %v, %q", l, why)
	}
}

func TestSetThreads(t *testing.T) {
	defer SetThreads(0)
	SetThreads(1)
	if got := Threads(); got != 1 {
		t.Errorf("after SetThreads(1): Threads() = %d", got)
	}
	if workers() != 1 {
		t.Errorf("Go workers = %d", workers())
	}
	SetThreads(2)
	if got := Threads(); got != 2 {
		t.Errorf("after SetThreads(2): Threads() = %d", got)
	}
	SetThreads(0)
	if workers() < 1 {
		t.Errorf("default workers = %d", workers())
	}
}

// benchGemm measures n×n×n products with f and reports GFLOP/s.
func benchGemm(b *testing.B, n int, f func(a, bm, c []float32)) {
	r := rand.New(rand.NewPCG(5, 6))
	a, bm, c := randSlice(r, n*n), randSlice(r, n*n), make([]float32, n*n)
	f(a, bm, c) // warm up: load the library, start its threads
	b.ResetTimer()
	for b.Loop() {
		f(a, bm, c)
	}
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm1024BLAS measures Sgemm through the loaded library.
func BenchmarkSgemm1024BLAS(b *testing.B) {
	if load() == nil {
		b.Skip(Backend())
	}
	benchGemm(b, 1024, func(a, bm, c []float32) {
		Sgemm(false, false, 1024, 1024, 1024, 1, a, 1024, bm, 1024, 0, c, 1024)
	})
}

// BenchmarkSgemm1024Go measures the pure-Go implementation.
func BenchmarkSgemm1024Go(b *testing.B) {
	benchGemm(b, 1024, func(a, bm, c []float32) {
		sgemmGo(false, false, 1024, 1024, 1024, 1, a, 1024, bm, 1024, 0, c, 1024, workers())
	})
}

// BenchmarkSgemm256Go measures the pure-Go implementation on a product
// small enough to stay in cache.
func BenchmarkSgemm256Go(b *testing.B) {
	benchGemm(b, 256, func(a, bm, c []float32) {
		sgemmGo(false, false, 256, 256, 256, 1, a, 256, bm, 256, 0, c, 256, workers())
	})
}

// BenchmarkSgemm64BLAS measures the per-call overhead of the library path on
// a small product.
func BenchmarkSgemm64BLAS(b *testing.B) {
	if load() == nil {
		b.Skip(Backend())
	}
	benchGemm(b, 64, func(a, bm, c []float32) {
		Sgemm(false, false, 64, 64, 64, 1, a, 64, bm, 64, 0, c, 64)
	})
}
