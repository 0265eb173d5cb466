package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// TestPanel64 compares panel64 with a float64 sum, for row-major and
// transposed a, padded leading dimensions, accumulating or not, and row counts
// on both sides of the kernel's groups of four.
func TestPanel64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, m := range []int{1, 3, 4, 5, 8, 67} {
		for _, k := range []int{0, 1, 7, 64, 130} {
			for _, trans := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					ldc, ldb := 64+3*(m%2), 64+5*(k%2)
					as, ak := k+2, 1 // a is m×k, row-major with padding
					if trans {
						as, ak = 1, m+1 // a is the transpose of a k×m matrix
					}
					a := randF32(r, max(1, (m-1)*as+max(k-1, 0)*ak+1))
					b := randF32(r, max(1, max(k-1, 0)*ldb+64))
					c := randF32(r, (m-1)*ldc+64)
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
					for _, asm := range []bool{false, true} {
						if asm && !havePanel {
							continue
						}
						t.Run(fmt.Sprintf("m=%d/k=%d/trans=%v/acc=%v/asm=%v", m, k, trans, acc, asm), func(t *testing.T) {
							got := slices.Clone(c)
							saved := havePanel
							havePanel = asm
							defer func() { havePanel = saved }()
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

// TestPackPanels checks the layout packPanels writes.
func TestPackPanels(t *testing.T) {
	const n, d, ld = 70, 3, 5
	src := make([]float32, n*ld)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, 2*d*64)
	for i := range dst {
		dst[i] = -1
	}
	packPanels(dst, src, n, d, ld, 2)
	for p := 0; p < 2; p++ {
		for x := 0; x < d; x++ {
			for c := 0; c < 64; c++ {
				j, want := p*64+c, float32(0)
				if j < n {
					want = 2 * src[j*ld+x]
				}
				if got := dst[p*d*64+x*64+c]; got != want {
					t.Fatalf("panel %d row %d column %d = %v, want %v", p, x, c, got, want)
				}
			}
		}
	}
}

// BenchmarkPanel64 times attention's products through panel64 and through the
// BLAS library, single-threaded, at a block of 64 keys against 512 rows.
func BenchmarkPanel64(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows, D = 512, 64
	q, kt, ds := randF32(r, rows*D), randF32(r, D*64), randF32(r, rows*64)
	c := make([]float32, rows*64)
	acc := make([]float32, 64*D)
	report := func(b *testing.B, flops float64) {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	saved := blas.Threads()
	blas.SetThreads(1)
	defer blas.SetThreads(saved)
	for _, lib := range []bool{false, true} {
		name := "panel64"
		if lib {
			name = "blas"
		}
		b.Run("scores/"+name, func(b *testing.B) { // rows×64 = q (rows×D) · kᵀ
			for b.Loop() {
				if lib {
					blas.Sgemm(false, false, rows, 64, D, 1, q, D, kt, 64, 0, c, 64)
				} else {
					panel64(c, 64, q, D, 1, kt, 64, rows, D, false)
				}
			}
			report(b, 2*rows*64*D)
		})
		b.Run("keyGrad/"+name, func(b *testing.B) { // 64×D += dSᵀ (64×rows) · q (rows×D)
			for b.Loop() {
				if lib {
					blas.Sgemm(true, false, 64, D, rows, 1, ds, 64, q, D, 1, acc, D)
				} else {
					panel64(acc, D, ds, 1, 64, q, D, 64, rows, true)
				}
			}
			report(b, 2*rows*64*D)
		})
	}
}
