package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPanel64 compares panel64 with a float64 sum, for row-major and
// transposed a, padded leading dimensions, accumulating or not, and row counts
// on both sides of the kernels' groups of six, four (and two).
func TestPanel64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, m := range []int{1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 67} {
		for _, k := range []int{0, 1, 7, 64, 130} {
			for _, trans := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					ldc, ldb := 64+3*(m%2), 64+5*(k%2)
					as, ak := k+2, 1 // a is m×k, row-major with padding
					if trans {
						as, ak = 1, m+1 // a is the transpose of a k×m matrix
					}
					a := randSlice(r, max(1, (m-1)*as+max(k-1, 0)*ak+1))
					b := randSlice(r, max(1, max(k-1, 0)*ldb+64))
					c := randSlice(r, (m-1)*ldc+64)
					want := make([]float64, len(c))
					for i := 0; i < m; i++ {
						for j := 0; j < 64; j++ {
							var s float64
							if acc {
								s = float64(c[i*ldc+j])
							}
							for x := 0; x < k; x++ {
								s += float64(a[i*as+x*ak]) * float64(b[x*ldb+j])
							}
							want[i*ldc+j] = s
						}
					}
					for _, kind := range append([]string{""}, panelKinds()...) {
						t.Run(fmt.Sprintf("m=%d/k=%d/trans=%v/acc=%v/kind=%q", m, k, trans, acc, kind), func(t *testing.T) {
							got := slices.Clone(c)
							defer setPanelKind(setPanelKind(kind))
							panel64(got, ldc, a, as, ak, b, ldb, m, k, acc)
							for i := range got {
								if i%ldc >= 64 {
									if got[i] != c[i] {
										t.Fatalf("c[%d] past the 64 columns changed", i)
									}
									continue
								}
								if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
									t.Fatalf("c[%d] = %v, want %v", i, got[i], want[i])
								}
							}
						})
					}
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("short b did not panic")
		}
	}()
	panel64(make([]float32, 64), 64, make([]float32, 4), 4, 1, make([]float32, 3*64+63), 64, 1, 4, false)
}

// BenchmarkPanel64 times attention's products through each kernel of panel64
// this CPU runs and through the BLAS library, single-threaded, at a block of 64
// keys against 512 rows.
func BenchmarkPanel64(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows, D = 512, 64
	q, kt, ds := randSlice(r, rows*D), randSlice(r, D*64), randSlice(r, rows*64)
	c := make([]float32, rows*64)
	acc := make([]float32, 64*D)
	report := func(b *testing.B, flops float64) {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	l := load()
	if l == nil {
		b.Skip("no BLAS library: " + Backend())
	}
	SetThreads(1)
	defer SetThreads(0)
	for _, name := range append(panelKinds(), "blas") {
		lib := name == "blas"
		if !lib {
			defer setPanelKind(setPanelKind(name))
		}
		b.Run("scores/"+name, func(b *testing.B) { // rows×64 = q (rows×D) · kᵀ
			for b.Loop() {
				if lib {
					sgemmLib(l, false, false, rows, 64, D, 1, q, D, kt, 64, 0, c, 64)
				} else {
					panel64(c, 64, q, D, 1, kt, 64, rows, D, false)
				}
			}
			report(b, 2*rows*64*D)
		})
		b.Run("keyGrad/"+name, func(b *testing.B) { // 64×D += dSᵀ (64×rows) · q (rows×D)
			for b.Loop() {
				if lib {
					sgemmLib(l, true, false, 64, D, rows, 1, ds, 64, q, D, 1, acc, D)
				} else {
					panel64(acc, D, ds, 1, 64, q, D, 64, rows, true)
				}
			}
			report(b, 2*rows*64*D)
		})
	}
}

// BenchmarkPanel64Linear times a linear layer's products single-threaded, on
// each of the package's kernels this CPU runs and on the library: the input gradient
// dY (M×K) · W (K×N), "NN", and the forward x (M×K) · Wᵀ with W stored N×K,
// "NT".
func BenchmarkPanel64Linear(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	l := load()
	if l == nil || !havePanel {
		b.Skip("needs a BLAS library and AVX-512F: " + Backend())
	}
	SetThreads(1)
	defer SetThreads(0)
	for _, s := range [][3]int{{512, 576, 1536}, {512, 1536, 576}, {512, 576, 576}, {1024, 1024, 1024}} {
		M, N, K := s[0], s[1], s[2]
		a, w, c := randSlice(r, M*K), randSlice(r, K*N), make([]float32, M*N)
		flops := 2 * float64(M*N*K)
		for _, form := range []string{"NN", "NT"} {
			ldw := N
			if form == "NT" {
				ldw = K
			}
			for _, kind := range append(panelKinds(), "blas") {
				lib := kind == "blas"
				b.Run(fmt.Sprintf("%s/%dx%dx%d/%s", form, M, N, K, kind), func(b *testing.B) {
					if !lib {
						defer setPanelKind(setPanelKind(kind))
					}
					for b.Loop() {
						if lib {
							sgemmLib(l, false, form == "NT", M, N, K, 1, a, K, w, ldw, 0, c, N)
						} else {
							sgemmPanels(false, form == "NT", M, N, K, a, K, w, ldw, 0, c, N)
						}
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkPanelsLayers times the panels on a linear layer's products as a
// training step makes them: on the process's threads (-cpu), with 30 weight
// matrices taken in turn, so that each comes from memory as a model's layers
// do, rather than from cache.
func BenchmarkPanelsLayers(b *testing.B) { benchPanelsLayers(b, 30) }

// BenchmarkPanelsLayersCold is BenchmarkPanelsLayers over 120 weights of each
// shape (425 MB of 576×1536), which no cache holds, as a training step's.
func BenchmarkPanelsLayersCold(b *testing.B) { benchPanelsLayers(b, 120) }

// BenchmarkPanelsLayers2048 is BenchmarkPanelsLayersCold at 2048 rows (16×128
// tokens).
func BenchmarkPanelsLayers2048(b *testing.B) { benchPanelsLayersM(b, 60, 2048) }

func benchPanelsLayers(b *testing.B, layers int) { benchPanelsLayersM(b, layers, 512) }

func benchPanelsLayersM(b *testing.B, layers, m int) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{m, 1536, 576}, {m, 576, 1536}, {m, 576, 576}} {
		M, N, K := s[0], s[1], s[2]
		// On huge pages, as the CPU backend's arrays are.
		a, freeA := hugeFloats(M * K)
		c, freeC := hugeFloats(M * N)
		copy(a, randSlice(r, M*K))
		ws, freeWs := hugeWeights(r, layers, K*N)
		defer freeWs()
		defer freeA()
		defer freeC()
		flops := 2 * float64(M*N*K)
		for _, form := range []string{"NN", "NT"} {
			ldw := N
			if form == "NT" {
				ldw = K
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d", form, M, N, K), func(b *testing.B) {
				i := 0
				for b.Loop() {
					sgemmPanels(false, form == "NT", M, N, K, a, K, ws[i%layers], ldw, 0, c, N)
					i++
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestPanelProducts runs the package's own kernels on every form they take
// (A or Aᵀ times B, A times Bᵀ), accumulating or not, on products that are
// split across goroutines, cut along k, and whose columns of B are copied
// together first, and compares them with the float64 reference.
func TestPanelProducts(t *testing.T) {
	if !havePanel {
		t.Skip("no AVX-512F or AVX2: the library runs every product")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, kind := range panelKinds() {
		defer setPanelKind(setPanelKind(kind))
		testPanelProducts(t, r, kind)
	}
}

// setPanelKind makes panel64 and dotTile4 run the kernel of kind ("" for the
// Go loops) and returns the previous one.
func setPanelKind(kind string) (was string) {
	was = panelKind
	if !havePanel {
		was = ""
	}
	panelKind, havePanel = kind, kind != ""
	return was
}

// testPanelProducts is TestPanelProducts for one kind of kernel, with the
// product split between 1, 2, 3 and 7 threads (shares that start and end
// inside a panel's blocks).
func testPanelProducts(t *testing.T, r *rand.Rand, kind string) {
	defer SetThreads(0)
	for _, th := range []int{1, 2, 3, 7} {
		SetThreads(th)
		testPanelShapes(t, r, fmt.Sprintf("panels/%s/%d", kind, th))
	}
}

// testPanelShapes checks sgemmPanels at shapes around its blocks.
func testPanelShapes(t *testing.T, r *rand.Rand, name string) {
	for _, d := range [][3]int{{129, 128, 1040}, {130, 64, 304}, {300, 192, 48}, {300, 192, 160}, {7, 64, 2064}, {512, 128, 576}, {1040, 128, 32}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			for _, beta := range []float32{0, 1} {
				tc := gemmCase{transA: tr[0], transB: tr[1], m: d[0], n: d[1], k: d[2], alpha: 1, beta: beta, padB: 3}
				if !panelForm(tc.transA, tc.transB, tc.n, tc.k, tc.alpha, tc.beta) {
					t.Fatalf("%+v is not a product the panels compute", tc)
				}
				checkCase(t, name, r, tc, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					sgemmPanels(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
				})
			}
		}
	}
}

// TestBackendNamesPanels checks that Backend says which products run on the
// package's kernels, and that the linear layers' choice was made by timing.
func TestBackendNamesPanels(t *testing.T) {
	if !Panels() {
		t.Skip("no AVX-512F, or MLXGO_GEMM_PANELS=off")
	}
	b := Backend()
	if !strings.Contains(b, "own "+panelKind+" kernels for attention-sized products") || !strings.Contains(b, "x·Wᵀ") {
		t.Fatalf("Backend() = %q, want the kernels and the timing that chose them", b)
	}
	// Attention-shaped products run on them whatever the timing found.
	if !panelProduct(false, false, 64, 512, 1, 1) || !panelProduct(false, false, 2048, 64, 1, 0) {
		t.Error("attention's products do not run on the panels")
	}
	if panelProduct(false, true, 64, 60, 1, 0) || panelProduct(true, true, 64, 64, 1, 0) || panelProduct(false, false, 64, 64, 2, 0) {
		t.Error("a product the panels cannot compute is sent to them")
	}
}

// TestGuidedCuts: the shares cover every block once, in order, none empty,
// each no larger than the one before, each 1/nw of the blocks left.
func TestGuidedCuts(t *testing.T) {
	if got, want := guidedCuts(36, 2), []int{0, 18, 27, 32, 34, 35, 36}; !slices.Equal(got, want) {
		t.Fatalf("guidedCuts(36, 2) = %v, want %v", got, want)
	}
	for _, n := range []int{1, 2, 7, 36, 144, 1000} {
		for _, nw := range []int{1, 2, 3, 16} {
			cuts := guidedCuts(n, nw)
			if cuts[0] != 0 || cuts[len(cuts)-1] != n {
				t.Fatalf("guidedCuts(%d, %d) = %v: not from 0 to %d", n, nw, cuts, n)
			}
			for i := 1; i < len(cuts); i++ {
				size, left := cuts[i]-cuts[i-1], n-cuts[i-1]
				if size != max(1, (left+nw-1)/nw) || i > 1 && size > cuts[i-1]-cuts[i-2] {
					t.Fatalf("guidedCuts(%d, %d) = %v: share %d is %d blocks of %d left", n, nw, cuts, i-1, size, left)
				}
			}
		}
	}
}

// TestCopyStrip: the first 64 floats of each row, in order, on the assembly
// and on the loop, and nothing written past the rows.
func TestCopyStrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, rows := range []int{0, 1, 17, 300} {
		const lds = 100
		src := randSlice(r, max(1, rows*lds))
		for _, asm := range []bool{false, true} {
			if asm && !havePanel {
				continue
			}
			was := havePanel
			havePanel = asm
			dst := make([]float32, rows*panelCols+8)
			copyStrip(dst, src, lds, rows)
			havePanel = was
			for x := range rows {
				if !slices.Equal(dst[x*panelCols:(x+1)*panelCols], src[x*lds:x*lds+panelCols]) {
					t.Fatalf("rows %d, asm %v: row %d differs", rows, asm, x)
				}
			}
			if !slices.Equal(dst[rows*panelCols:], make([]float32, 8)) {
				t.Fatalf("rows %d, asm %v: written past the rows", rows, asm)
			}
		}
	}
}

// TestTransposePanel: dst's row x is column x of the 64 rows of src, on the
// assembly and on the loops, and nothing is written past kk rows.
func TestTransposePanel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, kk := range []int{0, 16, 48, 576} {
		lds := kk + 20
		src := randSlice(r, 64*lds)
		for _, kind := range append(panelKinds(), "") {
			was := setPanelKind(kind)
			dst := make([]float32, kk*panelCols+8)
			transposePanel(dst, src, lds, kk)
			setPanelKind(was)
			for x := range kk {
				for j := range panelCols {
					if dst[x*panelCols+j] != src[j*lds+x] {
						t.Fatalf("kk %d, kernel %q: dst[%d][%d] = %v, want %v", kk, kind, x, j, dst[x*panelCols+j], src[j*lds+x])
					}
				}
			}
			if !slices.Equal(dst[kk*panelCols:], make([]float32, 8)) {
				t.Fatalf("kk %d, kernel %q: written past the rows", kk, kind)
			}
		}
	}
}

// TestPanelsWin: the kernels keep a product unless the library is more than 3%
// faster.
func TestPanelsWin(t *testing.T) {
	for _, c := range []struct {
		pan, lib time.Duration
		want     bool
	}{{100, 100, true}, {103, 100, true}, {104, 100, false}, {90, 100, true}, {200, 100, false}} {
		if got := panelsWin(c.pan, c.lib); got != c.want {
			t.Errorf("panelsWin(%v, %v) = %v, want %v", c.pan, c.lib, got, c.want)
		}
	}
}

// BenchmarkPanelCopies times the copies the kernels make of B, over 30 weights
// of 1536×576 in turn (from memory, as in a training step): the transposed
// panels of A·Bᵀ (x·Wᵀ: 24 panels of 64 rows of 576) and the strips of A·B
// (dY·W: 9 strips of 1536 rows of 64). Each weight is read once.
func BenchmarkPanelCopies(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const layers, N, K = 30, 1536, 576
	ws, freeWs := hugeWeights(r, layers, N*K)
	defer freeWs()
	dst := make([]float32, panelCols*(N+16))
	bytes := float64(4 * N * K)
	b.Run("transposed", func(b *testing.B) {
		i := 0
		for b.Loop() {
			w := ws[i%layers]
			for p := 0; p < N/panelCols; p++ {
				transposePanel(dst, w[p*panelCols*K:], K, K)
			}
			i++
		}
		b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("strips", func(b *testing.B) {
		i := 0
		for b.Loop() {
			w := ws[i%layers]
			for j := 0; j < K; j += panelCols {
				copyStrip(dst, w[j:], K, N)
			}
			i++
		}
		b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
}

// TestPrefetchSameBits checks that asking for the next tile's B ahead (the
// tiles' rows then computed in parts) leaves every bit of the products as they
// are without it, for both forms of a linear layer, split or not, deep enough
// to go a stretch of k at a time.
func TestPrefetchSameBits(t *testing.T) {
	if !havePanel {
		t.Skip("no AVX-512F or AVX2: the library runs every product")
	}
	defer SetThreads(0)
	was := prefetchOn
	defer func() { prefetchOn = was }()
	r := rand.New(rand.NewPCG(31, 32))
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		for _, d := range [][3]int{{512, 192, 576}, {300, 128, 1040}, {129, 320, 2064}} {
			m, n, k := d[0], d[1], d[2]
			a := randSlice(r, m*k)
			for _, transB := range []bool{false, true} {
				b := randSlice(r, n*k)
				ldb := n
				if transB {
					ldb = k
				}
				var got [2][]float32
				for i, on := range []bool{false, true} {
					prefetchOn = on
					got[i] = make([]float32, m*n)
					sgemmPanels(false, transB, m, n, k, a, k, b, ldb, 0, got[i], n)
				}
				for i := range got[0] {
					if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
						t.Fatalf("threads %d, %d×%d×%d transB=%v: element %d is %v with the prefetch, %v without", th, m, n, k, transB, i, got[1][i], got[0][i])
					}
				}
			}
		}
	}
}

// hugeWeights returns n random weights of size floats each on huge pages, as
// the CPU backend's arrays are, and the function that frees them.
func hugeWeights(r *rand.Rand, n, size int) ([][]float32, func()) {
	ws := make([][]float32, n)
	frees := make([]func(), n)
	for i := range ws {
		ws[i], frees[i] = hugeFloats(size)
		copy(ws[i], randSlice(r, size))
	}
	return ws, func() {
		for _, f := range frees {
			f()
		}
	}
}
