//go:build darwin || freebsd || linux || netbsd

package blas

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// BenchmarkSgemm1024Direct is the reference for BenchmarkSgemm1024BLAS:
// the same product with the library called directly through
// purego.SyscallN, with no Go-side checks, reflection or dispatch.
//
// It calls the Fortran entry point sgemm_ rather than cblas_sgemm: SyscallN
// passes its arguments in integer and floating-point registers alike
// (args[0] goes to both RDI and XMM0 on amd64), so a function that takes
// the integer Order first and the float alpha as its first float argument
// cannot be called with it. sgemm_ takes only pointers, and cblas_sgemm
// with CblasRowMajor is a thin wrapper that swaps the operands and calls
// the same driver: row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ.
func BenchmarkSgemm1024Direct(b *testing.B) {
	l := load()
	if l == nil {
		b.Skip(Backend())
	}
	h, err := purego.Dlopen(l.path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		b.Skip(err)
	}
	fn, err := purego.Dlsym(h, "sgemm_")
	if err != nil || fn == 0 {
		b.Skip("no sgemm_ in", l.path)
	}
	const n = 1024
	trans := [2]byte{'N', 0}
	dim := int32(n)
	alpha, beta := float32(1), float32(0)
	benchGemm(b, n, func(a, bm, c []float32) {
		purego.SyscallN(fn,
			uintptr(unsafe.Pointer(&trans[0])), uintptr(unsafe.Pointer(&trans[0])),
			uintptr(unsafe.Pointer(&dim)), uintptr(unsafe.Pointer(&dim)), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&alpha)),
			uintptr(unsafe.Pointer(&bm[0])), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&beta)),
			uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&dim)),
			1, 1) // hidden Fortran string lengths
	})
}

// TestDirectMatchesSgemm checks the direct call used as the benchmark
// reference computes the same product as Sgemm.
func TestDirectMatchesSgemm(t *testing.T) {
	l := load()
	if l == nil {
		t.Skip(Backend())
	}
	h, err := purego.Dlopen(l.path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Skip(err)
	}
	fn, err := purego.Dlsym(h, "sgemm_")
	if err != nil || fn == 0 {
		t.Skip("no sgemm_")
	}
	const m, n, k = 5, 7, 3
	a := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	bm := make([]float32, k*n)
	for i := range bm {
		bm[i] = float32(i%5) - 2
	}
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, want, n)
	got := make([]float32, m*n)
	trans := [2]byte{'N', 0}
	mm, nn, kk := int32(m), int32(n), int32(k)
	alpha, beta := float32(1), float32(0)
	purego.SyscallN(fn,
		uintptr(unsafe.Pointer(&trans[0])), uintptr(unsafe.Pointer(&trans[0])),
		uintptr(unsafe.Pointer(&nn)), uintptr(unsafe.Pointer(&mm)), uintptr(unsafe.Pointer(&kk)),
		uintptr(unsafe.Pointer(&alpha)),
		uintptr(unsafe.Pointer(&bm[0])), uintptr(unsafe.Pointer(&nn)),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&kk)),
		uintptr(unsafe.Pointer(&beta)),
		uintptr(unsafe.Pointer(&got[0])), uintptr(unsafe.Pointer(&nn)),
		1, 1)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("direct sgemm_ [%d] = %v, Sgemm = %v", i, got[i], want[i])
		}
	}
}

// TestCompareDirect alternates wrapped and direct 1024³ products and
// reports the median time of each, which is robust against load from other
// processes. It runs only with MLXGO_BLAS_COMPARE=1.
func TestCompareDirect(t *testing.T) {
	if os.Getenv("MLXGO_BLAS_COMPARE") != "1" {
		t.Skip("set MLXGO_BLAS_COMPARE=1 to run")
	}
	l := load()
	if l == nil {
		t.Skip(Backend())
	}
	h, err := purego.Dlopen(l.path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Skip(err)
	}
	fn, err := purego.Dlsym(h, "sgemm_")
	if err != nil || fn == 0 {
		t.Skip("no sgemm_")
	}
	const n = 1024
	r := rand.New(rand.NewPCG(5, 6))
	a, bm, c := randSlice(r, n*n), randSlice(r, n*n), make([]float32, n*n)
	trans := [2]byte{'N', 0}
	dim := int32(n)
	alpha, beta := float32(1), float32(0)
	direct := func() {
		purego.SyscallN(fn,
			uintptr(unsafe.Pointer(&trans[0])), uintptr(unsafe.Pointer(&trans[0])),
			uintptr(unsafe.Pointer(&dim)), uintptr(unsafe.Pointer(&dim)), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&alpha)),
			uintptr(unsafe.Pointer(&bm[0])), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&dim)),
			uintptr(unsafe.Pointer(&beta)),
			uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&dim)),
			1, 1)
	}
	wrapped := func() { Sgemm(false, false, n, n, n, 1, a, n, bm, n, 0, c, n) }
	var tw, td []float64
	for i := 0; i < 100; i++ {
		t0 := time.Now()
		wrapped()
		t1 := time.Now()
		direct()
		t2 := time.Now()
		tw = append(tw, t1.Sub(t0).Seconds())
		td = append(td, t2.Sub(t1).Seconds())
	}
	gf := func(s []float64) (med, best float64) {
		slices.Sort(s)
		return 2 * n * n * n / s[len(s)/2] / 1e9, 2 * n * n * n / s[0] / 1e9
	}
	wm, wb := gf(tw)
	dm, db := gf(td)
	t.Logf("wrapped: median %.1f GFLOP/s, best %.1f; direct: median %.1f, best %.1f; wrapped/direct median %.3f",
		wm, wb, dm, db, wm/dm)
}
