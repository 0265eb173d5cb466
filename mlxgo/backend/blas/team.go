package blas

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A team is GOMAXPROCS−1 goroutines kept for the parallel loops of the
// package and of the CPU backend. Starting a goroutine per loop and letting
// it go back to sleep costs a wake-up each time (on a virtual machine,
// 50–100 µs before the thread runs: an idle virtual CPU has to be woken by
// the host), which is the whole length of a small kernel. A member of the
// team that has finished its share instead waits for the next loop for a
// short while (spinWait), polling, and only then sleeps, as OpenMP's
// threads do under MKL and PyTorch. The caller takes items too.
type team struct {
	mu      sync.Mutex // held by the loop in progress
	size    int        // GOMAXPROCS when the team was made
	gen     atomic.Uint64
	job     atomic.Pointer[teamJob]
	rest    atomic.Uint64 // bumped to send polling members to sleep at once
	members []*member
	done    chan struct{} // one token per loop, from whoever finishes its last item
	quit    chan struct{}
}

// member is one goroutine of a team.
type member struct {
	wake   chan struct{} // a token when the member is asleep and a loop starts
	asleep atomic.Bool
}

// teamJob is one loop: f(i) for i in [0, n).
type teamJob struct {
	n    int64
	f    func(int)
	next atomic.Int64 // the next item to hand out
	left atomic.Int64 // items not finished
}

// spinWait is how long a member polls for the next loop before it sleeps
// (MLXGO_SPIN_US, in microseconds; 0 makes members sleep at once). 1 ms:
// on a 16-core Xeon VM, 16×128 LoRA steps ran at 1418, 1421, 1336
// tokens/s with it, 1229, 1065, 1495 with 200 µs, 1178, 927, 845 with 50
// and 1115, 1317, 1338 with a goroutine per chunk; on 2 cores no
// difference showed.
var spinWait atomic.Int64

func init() { spinWait.Store(int64(parseSpin(os.Getenv("MLXGO_SPIN_US"), os.Stderr))) }

// parseSpin reads MLXGO_SPIN_US: empty means 1 ms; a value that is not a
// whole number of microseconds, 0 or more, is reported on w and ignored.
func parseSpin(env string, w io.Writer) time.Duration {
	env = strings.TrimSpace(env)
	if env == "" {
		return time.Millisecond
	}
	v, err := strconv.Atoi(env)
	if err != nil || v < 0 {
		fmt.Fprintf(w, "mlxgo: MLXGO_SPIN_US=%q is not a number of microseconds (0 or more); polling 1 ms\n", env)
		return time.Millisecond
	}
	return time.Duration(v) * time.Microsecond
}

var (
	teamMu  sync.Mutex // held while a team is replaced
	theTeam atomic.Pointer[team]
)

// currentTeam returns the team for the current GOMAXPROCS, replacing one
// made for another.
func currentTeam() *team {
	p := runtime.GOMAXPROCS(0)
	if t := theTeam.Load(); t != nil && t.size == p {
		return t
	}
	teamMu.Lock()
	defer teamMu.Unlock()
	old := theTeam.Load()
	if old != nil && old.size == p {
		return old
	}
	if old != nil {
		old.mu.Lock() // let a loop in progress finish
		close(old.quit)
		old.mu.Unlock()
	}
	t := &team{size: p, done: make(chan struct{}, 1), quit: make(chan struct{})}
	for range p - 1 {
		m := &member{wake: make(chan struct{}, 1)}
		t.members = append(t.members, m)
		go t.serve(m)
	}
	theTeam.Store(t)
	return t
}

// forEach calls f(i) for every i in [0, n) on up to GOMAXPROCS goroutines,
// handing items out in index order as goroutines become free, and returns
// when all calls have. A loop started while another is in progress (from
// inside one of its items, or from another goroutine) runs on goroutines of
// its own.
func forEach(n int, f func(i int)) {
	if n <= 0 {
		return
	}
	t := currentTeam()
	if n == 1 || t.size == 1 {
		for i := range n {
			f(i)
		}
		return
	}
	if !t.mu.TryLock() {
		spawnEach(min(n, t.size), n, f)
		return
	}
	defer t.mu.Unlock()
	j := &teamJob{n: int64(n), f: f}
	j.left.Store(int64(n))
	t.job.Store(j)
	t.gen.Add(1)
	for _, m := range t.members[:min(n, t.size)-1] {
		if m.asleep.CompareAndSwap(true, false) {
			m.wake <- struct{}{}
		}
	}
	t.work(j)
	t.wait(j)
}

// work takes items of j until none are left.
func (t *team) work(j *teamJob) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.f(int(i))
		if j.left.Add(-1) == 0 {
			t.done <- struct{}{}
		}
	}
}

// wait returns when every item of j has finished, polling for spinWait
// before it sleeps, and takes the loop's token.
func (t *team) wait(j *teamJob) {
	deadline := time.Now().Add(time.Duration(spinWait.Load()))
	for i := 0; j.left.Load() > 0; i++ {
		if i&63 == 63 && time.Now().After(deadline) {
			break
		}
		spinPause()
	}
	<-t.done
}

// serve is a member's loop: wait for a loop, take items, repeat.
func (t *team) serve(m *member) {
	seen := t.gen.Load()
	for {
		if !t.await(m, seen) {
			return
		}
		seen = t.gen.Load()
		t.work(t.job.Load())
	}
}

// await returns true once a loop newer than seen has started, polling for
// spinWait and then sleeping until woken; false when the team is replaced.
func (t *team) await(m *member, seen uint64) bool {
	deadline := time.Now().Add(time.Duration(spinWait.Load()))
	rest := t.rest.Load()
	for i := 0; ; i++ {
		if t.gen.Load() != seen {
			return true
		}
		if i&63 == 63 && (time.Now().After(deadline) || t.rest.Load() != rest) {
			break
		}
		spinPause()
	}
	m.asleep.Store(true)
	if t.gen.Load() != seen && m.asleep.CompareAndSwap(true, false) {
		return true // a loop started as we went to sleep, before anyone saw us asleep
	}
	select {
	case <-m.wake:
		return true
	case <-t.quit:
		return false
	}
}

// restTeam sends the team's polling members to sleep: called before the
// library's own threads take the cores.
func restTeam() {
	if t := theTeam.Load(); t != nil {
		t.rest.Add(1)
	}
}

// spawnEach runs f(i) for i in [0, n) on nw new goroutines.
func spawnEach(nw, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range nw {
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
