package blas

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ForEach calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines
// and returns when every call has returned. Items are handed out in index
// order as goroutines become free, so f must write only its own outputs.
// The goroutines are a team kept between calls: one that has finished
// polls for the next call for a short while (1 ms, MLXGO_SPIN_US) before
// it sleeps, so loops that follow one another closely do not each wait for
// threads to wake. Unlike Parallel, ForEach leaves the library's threads
// as they are; f should not call Sgemm on large products.
func ForEach(n int, f func(i int)) { forEach(n, f) }

var (
	parMu    sync.Mutex
	parDepth int          // Parallel calls in progress
	parSaved int32        // the library's threads before the first of them
	inPar    atomic.Int32 // parDepth, for the Go implementation's workers
)

// Parallel calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines
// (the package's team, see ForEach),
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
	if n <= 1 || runtime.GOMAXPROCS(0) == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	enterParallel()
	defer leaveParallel()
	forEach(n, f)
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
