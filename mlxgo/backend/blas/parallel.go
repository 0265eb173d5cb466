package blas

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	parMu    sync.Mutex
	parDepth int          // Parallel calls in progress
	parSaved int32        // the library's threads before the first of them
	inPar    atomic.Int32 // parDepth, for the Go implementation's workers
)

// Parallel calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines,
// with the library (and the Go implementation) single-threaded for its
// duration: many small independent products, such as one per attention head
// or per block of rows, then run side by side on all cores, instead of one
// after the other each spread thinly over the library's threads. Items are
// handed out in index order as goroutines become free; f must write only
// its own outputs, so results do not depend on the order. f may call
// Sgemm. Parallel returns when every call has returned.
//
// Products that run outside Parallel while it is in progress are
// single-threaded too; the CPU backend runs one kernel at a time, so none do.
func Parallel(n int, f func(i int)) {
	nw := min(n, runtime.GOMAXPROCS(0))
	if nw <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	enterParallel()
	defer leaveParallel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// enterParallel makes products single-threaded until the matching
// leaveParallel.
func enterParallel() {
	parMu.Lock()
	defer parMu.Unlock()
	if parDepth == 0 {
		if l := load(); l != nil && l.setThreads != nil {
			parSaved = int32(Threads())
			l.setThreads(1)
		}
	}
	parDepth++
	inPar.Add(1)
}

// leaveParallel restores the library's threads when the last Parallel ends.
func leaveParallel() {
	parMu.Lock()
	defer parMu.Unlock()
	parDepth--
	inPar.Add(-1)
	if parDepth == 0 {
		if l := load(); l != nil && l.setThreads != nil && parSaved > 0 {
			l.setThreads(parSaved)
		}
	}
}
