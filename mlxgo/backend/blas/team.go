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
//
// Loops started from several goroutines at once (the CPU backend's streams, a
// loop inside another's item) each take one of the team's slots, and the
// members serve every loop in progress, the lowest slot first; a loop that
// finds no free slot runs on its caller alone.
type team struct {
	size    int // GOMAXPROCS when the team was made
	gen     atomic.Uint64
	slots   [teamSlots]atomic.Pointer[teamJob]
	rest    atomic.Uint64 // bumped to send polling members to sleep at once
	members []*member
	quit    chan struct{}
}

// teamSlots is how many loops a team serves at once.
const teamSlots = 8

// member is one goroutine of a team.
type member struct {
	wake   chan struct{} // a token when the member is asleep and a loop starts
	asleep atomic.Bool
}

// teamJob is one loop: f(i) for i in [0, n).
type teamJob struct {
	n    int64
	f    func(int)
	next atomic.Int64  // the next item to hand out
	left atomic.Int64  // items not finished
	done chan struct{} // a token from whoever finishes the last item
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
		close(old.quit) // loops in progress are finished by their callers
	}
	t := &team{size: p, quit: make(chan struct{})}
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
// when all calls have. Loops started while others are in progress (from
// inside one of their items, or from other goroutines) share the team's
// members with them.
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
	j := &teamJob{n: int64(n), f: f, done: make(chan struct{}, 1)}
	j.left.Store(int64(n))
	slot := -1
	for s := range t.slots {
		if t.slots[s].CompareAndSwap(nil, j) {
			slot = s
			break
		}
	}
	if slot < 0 { // as many loops in progress as slots: the cores are busy
		for i := range n {
			f(i)
		}
		return
	}
	t.gen.Add(1)
	woken := 0
	for _, m := range t.members {
		if woken >= n-1 {
			break
		}
		if m.asleep.CompareAndSwap(true, false) {
			m.wake <- struct{}{}
			woken++
		}
	}
	t.work(j)
	t.wait(j)
	t.slots[slot].Store(nil)
}

// work takes items of j until none are left to hand out.
func (t *team) work(j *teamJob) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.f(int(i))
		if j.left.Add(-1) == 0 {
			j.done <- struct{}{}
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
	<-j.done
}

// serve is a member's loop: take items of the loops in progress, then wait
// for another loop.
func (t *team) serve(m *member) {
	for {
		// Both read before serving: a restTeam while this member still works on a
		// loop sends it to sleep as soon as it is done.
		seen, rest := t.gen.Load(), t.rest.Load()
		for t.serveSlots() {
		}
		if !t.await(m, seen, rest) {
			return
		}
	}
}

// Help takes items of the team's loops in progress until done reports true,
// polling while there are none: a goroutine that waits for something other
// loops will bring about (a stream of the CPU backend waiting for a step's
// inputs) lends its thread to them meanwhile.
func Help(done func() bool) {
	t := currentTeam()
	for i := 0; !done(); i++ {
		if t.serveSlots() {
			continue
		}
		spinPause()
		if i&1023 == 1023 {
			runtime.Gosched()
		}
	}
}

// serveSlots takes items of the first loop in progress that has some left
// and reports whether it found one.
func (t *team) serveSlots() bool {
	for s := range t.slots {
		if j := t.slots[s].Load(); j != nil && j.next.Load() < j.n {
			t.work(j)
			return true
		}
	}
	return false
}

// await returns true once a loop newer than seen has started, polling for
// spinWait (or until restTeam moves rest on) and then sleeping until woken; false
// when the team is replaced.
// While it polls it lets other goroutines have the thread now and then (a
// stream of the CPU backend that has a kernel to start).
func (t *team) await(m *member, seen, rest uint64) bool {
	deadline := time.Now().Add(time.Duration(spinWait.Load()))
	for i := 0; ; i++ {
		if t.gen.Load() != seen {
			return true
		}
		if i&63 == 63 {
			if t.rest.Load() != rest || time.Now().After(deadline) {
				break
			}
			if i&1023 == 1023 {
				runtime.Gosched()
			}
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
