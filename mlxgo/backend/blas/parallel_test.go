package blas

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestParallel runs many small products through Parallel and checks each
// against the same product run alone, bit for bit (a single-threaded
// product does not depend on scheduling), that the library is
// single-threaded inside and restored after, and that nested calls work.
func TestParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	r := rand.New(rand.NewPCG(8, 9))
	const m, n, k, jobs = 33, 65, 40, 24
	as, bs := make([][]float32, jobs), make([][]float32, jobs)
	want := make([][]float32, jobs)
	before := Threads()
	SetThreads(1)
	for i := range as {
		as[i], bs[i] = randSlice(r, m*k), randSlice(r, k*n)
		want[i] = make([]float32, m*n)
		Sgemm(false, false, m, n, k, 1, as[i], k, bs[i], n, 0, want[i], n)
	}
	SetThreads(before)
	got := make([][]float32, jobs)
	inside := make([]int, jobs)
	Parallel(jobs, func(i int) {
		inside[i] = Threads()
		Parallel(1, func(int) { // nested: still single-threaded, then back
			got[i] = make([]float32, m*n)
			Sgemm(false, false, m, n, k, 1, as[i], k, bs[i], n, 0, got[i], n)
		})
	})
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("job %d differs from the same product run alone", i)
		}
		if inside[i] != 1 {
			t.Errorf("job %d ran with %d threads", i, inside[i])
		}
	}
	if Threads() != before {
		t.Errorf("threads after Parallel: %d, before %d", Threads(), before)
	}
	calls := 0
	Parallel(0, func(int) { calls++ })
	Parallel(1, func(int) { calls++ })
	if calls != 1 {
		t.Errorf("Parallel(0) and Parallel(1) made %d calls", calls)
	}
}
