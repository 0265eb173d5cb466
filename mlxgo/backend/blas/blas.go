// Package blas computes float32 matrix products for mlxgo's CPU backend.
//
// [Sgemm] is the BLAS sgemm operation on row-major matrices. At first use
// the package loads a system BLAS library at run time with purego (no cgo)
// and sends every product to its cblas_sgemm. On Linux it opens each of
// OpenBLAS (libopenblas.so.0), BLIS (libblis.so.4) and Intel MKL
// (libmkl_rt.so) that is installed; when several are, it times them on
// products of the shapes a LoRA training step makes and keeps the fastest
// (the choice is remembered per machine in the user's cache folder, see
// [Backend]). libblas.so.3 is the last resort; on macOS it uses the
// Accelerate framework. Without a library, the package uses its own
// cache-blocked, multi-goroutine implementation in plain Go.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and may fall
// back to old SSE kernels on them, so on CPUs with AVX-512 the package asks
// it for its SkylakeX kernels (OPENBLAS_CORETYPE), and it makes OpenBLAS's
// idle threads sleep at once instead of spinning after each product
// (OPENBLAS_THREAD_TIMEOUT=4); both are set only while the library loads and
// only when the user has not set them.
//
// Libraries run as many threads as Go has processors (GOMAXPROCS, which
// follows the CPUs the process may use): the CPU backend calls them one
// product at a time, between its own parallel kernels, so BLAS threads and
// goroutines do not compete.
//
// The environment variable MLXGO_BLAS, read once at first use, overrides
// the choice: "off" or "go" selects the pure-Go implementation;
// "openblas", "blis" or "mkl" that library; a path
// ("/opt/lib/libopenblas.so") that file; unset, empty or "auto" chooses as
// above. [Backend] reports what was chosen and why.
//
// Results of the pure-Go implementation are deterministic: they do not
// depend on scheduling or on the number of goroutines. They may differ from
// a BLAS library's in the last bits.
package blas

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Row-major CBLAS constants.
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// library is a loaded BLAS.
type library struct {
	kind  string // "openblas", "blis", "mkl", "accelerate", "blas"
	path  string // the name it was loaded by
	core  string // the kernels in use (OpenBLAS core, BLIS architecture), if known
	sgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32,
		b *float32, ldb int32, beta float32, c *float32, ldc int32)
	setThreads func(n int32) // nil when the library has no thread control
	getThreads func() int32  // nil when the library has no thread control
}

var (
	loadOnce sync.Once
	lib      *library // nil: use the Go implementation
	reason   string   // why lib was chosen, or why it is nil

	goThreads atomic.Int32 // goroutines for the Go implementation; 0: GOMAXPROCS
)

// load chooses the backend once, honouring MLXGO_BLAS.
func load() *library {
	loadOnce.Do(func() {
		env := strings.TrimSpace(os.Getenv("MLXGO_BLAS"))
		switch strings.ToLower(env) {
		case "off", "go", "none", "0", "false":
			reason = "MLXGO_BLAS=" + env
			return
		case "", "auto", "on", "1", "true":
			lib, reason = openDefault("")
		case "openblas", "blis", "mkl":
			lib, reason = openDefault(strings.ToLower(env))
		default:
			lib, reason = openLibrary([]string{env})
			if lib != nil {
				reason = "MLXGO_BLAS=" + env
			}
		}
		if lib != nil && lib.setThreads != nil {
			lib.setThreads(int32(runtime.GOMAXPROCS(0)))
		}
	})
	return lib
}

// Backend describes the implementation Sgemm uses and why it was chosen,
// for example "openblas (libopenblas.so.0, core SkylakeX): fastest of ..."
// or "go (fallback: MLXGO_BLAS=off)". Calling it loads the library if that
// has not happened yet.
func Backend() string {
	if l := load(); l != nil {
		s := l.kind + " (" + l.path
		if l.core != "" {
			s += ", core " + l.core
		}
		s += ")"
		if reason != "" {
			s += ": " + reason
		}
		return s + panelsNote()
	}
	return fmt.Sprintf("go (fallback: %s)", reason) + panelsNote()
}

// Call describes one product, as passed to the function set by [SetTrace].
type Call struct {
	TransA, TransB bool
	M, N, K        int
	Dur            time.Duration
}

// trace, when set, receives every product Sgemm computes.
var trace atomic.Pointer[func(Call)]

// SetTrace makes Sgemm call f after every product with its shape and
// duration (for profiles); nil stops it. f may be called from several
// goroutines at once.
func SetTrace(f func(Call)) {
	if f == nil {
		trace.Store(nil)
		return
	}
	trace.Store(&f)
}

// SetThreads sets the number of threads used for one product: it calls
// openblas_set_num_threads when the loaded library has it, and sets the
// number of goroutines of the Go implementation. n <= 0 restores the
// default, runtime.GOMAXPROCS. Call it between products, not while one is
// running.
func SetThreads(n int) {
	if n <= 0 {
		goThreads.Store(0)
		if l := load(); l != nil && l.setThreads != nil {
			l.setThreads(int32(runtime.GOMAXPROCS(0)))
		}
		return
	}
	if n > 1<<16 {
		n = 1 << 16
	}
	goThreads.Store(int32(n))
	if l := load(); l != nil && l.setThreads != nil {
		l.setThreads(int32(n))
	}
}

// Threads returns the number of threads a product uses: the library's
// setting when it reports one, otherwise the Go implementation's.
func Threads() int {
	if l := load(); l != nil && l.getThreads != nil {
		return int(l.getThreads())
	}
	return workers()
}

// workers returns the goroutine count for the Go implementation: 1 inside
// Parallel's items.
func workers() int {
	if inPar.Load() > 0 {
		return 1
	}
	return panelWorkers()
}

// panelWorkers returns the goroutine count for the package's own kernels (SetThreads,
// else GOMAXPROCS). Unlike the library and the Go implementation they are not made
// single-threaded while Parallel runs: the CPU backend's streams run other kernels
// beside a Parallel loop, and a product split inside a loop's item shares the team
// with it (a small one is not split).
func panelWorkers() int {
	if n := goThreads.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or, when the corresponding trans flag is set,
// its transpose. op(A) is m×k, op(B) is k×n and C is m×n. Element (i, j) of
// a row-major matrix X with leading dimension ldx is x[i*ldx+j]: A is
// stored m×k (k×m when transA) with lda >= its number of columns, B k×n
// (n×k when transB) with ldb >= its columns, and C m×n with ldc >= n.
//
// As in BLAS, when beta is zero C is not read (NaNs in C are overwritten),
// and when k is zero or alpha is zero A and B are not read. C must not
// overlap A or B.
//
// Sgemm panics if a dimension is negative, a leading dimension is too
// small, or a slice is too short for the matrix it holds. It may be called
// from several goroutines at once.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if f := trace.Load(); f != nil {
		t0 := time.Now()
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		(*f)(Call{transA, transB, m, n, k, time.Since(t0)})
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm on checked, non-degenerate arguments.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if panelProduct(transA, transB, n, k, alpha, beta) {
		sgemmPanels(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if sgemmNarrow(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	sgemmOther(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmOther is sgemm off the package's own kernels: the library, cut into
// blocks or along k where that pays, or the Go implementation.
func sgemmOther(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if l := load(); l != nil && fitsInt32(m, n, k, lda, ldb, ldc) {
		// Only products large enough to cut ask the library for its thread count.
		if f := 2 * float64(m) * float64(n) * float64(k); f >= splitKMinFlops {
			// The split depends on the configured threads only, not on the library's
			// setting of the moment (one while a Parallel loop runs, maybe on another
			// stream of the CPU backend), so a product gives the same bits every time.
			threads := panelWorkers()
			if pm, pn := splitGrid(m, n, k, threads); pm*pn > 1 {
				sgemmSplit(l, pm, pn, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			if parts := splitDepth(m, n, k, threads); parts > 1 {
				sgemmSplitK(l, parts, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
		}
		sgemmLib(l, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers())
}

// sgemmLib calls the library's cblas_sgemm. Arguments are already checked
// and non-degenerate (m, n, k > 0).
func sgemmLib(l *library, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
	if transA {
		ta = cblasTrans
	}
	if transB {
		tb = cblasTrans
	}
	if inPar.Load() == 0 {
		restTeam() // the library's threads need the cores the team polls on
	}
	l.sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, &a[0], int32(lda),
		&b[0], int32(ldb), beta, &c[0], int32(ldc))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

// fitsInt32 reports whether all values fit the 32-bit integers of the
// CBLAS interface.
func fitsInt32(vs ...int) bool {
	for _, v := range vs {
		if v > 1<<31-1 {
			return false
		}
	}
	return true
}

// checkArgs panics on invalid Sgemm arguments. It guarantees that every
// element the product reads or writes is inside its slice, which the
// library call relies on.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("b", rowsB, colsB, b, ldb)
	checkMatrix("c", m, n, c, ldc)
}

// checkMatrix checks one rows×cols row-major operand with leading
// dimension ld.
func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas: ld%s=%d < max(1, %d columns)", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	// (rows-1)*ld + cols, checked for overflow.
	if rows-1 > (int(^uint(0)>>1)-cols)/ld {
		panic(fmt.Sprintf("blas: %s: %d×%d matrix with ld %d overflows int", name, rows, cols, ld))
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("blas: len(%s)=%d < %d for a %d×%d matrix with ld %d", name, len(x), need, rows, cols, ld))
	}
}

// scaleC sets C = beta*C; beta == 0 stores zeros without reading C.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
