package blas

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForEach checks that every index runs exactly once, for sizes around
// the team's, on 1, 2 and 4 threads, and that no more goroutines than
// GOMAXPROCS run items at once.
func TestForEach(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 17, 1000} {
			calls := make([]atomic.Int32, n)
			var running, most atomic.Int32
			ForEach(n, func(i int) {
				r := running.Add(1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				calls[i].Add(1)
				time.Sleep(10 * time.Microsecond)
				running.Add(-1)
			})
			for i := range calls {
				if c := calls[i].Load(); c != 1 {
					t.Fatalf("GOMAXPROCS %d, n %d: item %d ran %d times", procs, n, i, c)
				}
			}
			if m := most.Load(); int(m) > procs {
				t.Errorf("GOMAXPROCS %d, n %d: %d items ran at once", procs, n, m)
			}
		}
	}
}

// TestForEachNestedAndConcurrent runs loops inside loops and from several
// goroutines at once: each must still run every item once.
func TestForEachNestedAndConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var wg sync.WaitGroup
	const callers, outer, inner = 4, 8, 16
	var total atomic.Int64
	for range callers {
		wg.Go(func() {
			for range 20 {
				ForEach(outer, func(int) {
					ForEach(inner, func(int) { total.Add(1) })
				})
			}
		})
	}
	wg.Wait()
	if got, want := total.Load(), int64(callers*20*outer*inner); got != want {
		t.Errorf("%d items ran, want %d", got, want)
	}
}

// waitAsleep waits up to a second for every member of the current team to
// be asleep.
func waitAsleep(t *testing.T) *team {
	t.Helper()
	tm := theTeam.Load()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		all := true
		for _, m := range tm.members {
			all = all && m.asleep.Load()
		}
		if all {
			return tm
		}
	}
	t.Fatal("the team's members still poll a second after the last loop")
	return nil
}

// TestTeamSleepsAndWakes checks that members go to sleep once they have
// polled for spinWait (or at once after restTeam), and that a loop then
// wakes all of them: each of 4 items waits until 4 run at once.
func TestTeamSleepsAndWakes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer spinWait.Store(spinWait.Load())
	barrier := func() {
		var arrived atomic.Int32
		ForEach(4, func(int) {
			arrived.Add(1)
			for deadline := time.Now().Add(5 * time.Second); arrived.Load() < 4; {
				if time.Now().After(deadline) {
					t.Error("a sleeping member was not woken for a loop")
					return
				}
				runtime.Gosched()
			}
		})
	}
	spinWait.Store(int64(2 * time.Millisecond))
	ForEach(4, func(int) {})
	tm := waitAsleep(t)
	barrier()
	if theTeam.Load() != tm {
		t.Fatal("the team was replaced")
	}

	spinWait.Store(int64(time.Hour)) // members would poll for an hour, but for restTeam
	barrier()
	restTeam()
	waitAsleep(t)
	barrier()
}

// TestParseSpin checks MLXGO_SPIN_US: microseconds, empty for the default, and a
// message naming the variable for a value it cannot take.
func TestParseSpin(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		msg  bool
	}{
		{"", time.Millisecond, false}, {"0", 0, false}, {" 250 ", 250 * time.Microsecond, false},
		{"-5", time.Millisecond, true}, {"1ms", time.Millisecond, true},
	} {
		var w strings.Builder
		if got := parseSpin(c.env, &w); got != c.want {
			t.Errorf("parseSpin(%q) = %v, want %v", c.env, got, c.want)
		}
		if msg := w.String(); c.msg != strings.Contains(msg, "MLXGO_SPIN_US") {
			t.Errorf("parseSpin(%q) wrote %q", c.env, msg)
		}
	}
}
