package cpu

import (
	"container/heap"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// Streams. A training step's graph has branches that do not depend on each other: the
// LoRA factors' products beside the frozen weight's, the k and v projections, and —
// when a batch is cut into groups (trainer's micro-batches) — whole copies of the
// model's forward and backward passes. On many cores, one kernel at a time leaves
// cores waiting at the end of every parallel loop and the memory idle during products;
// with streams, up to Streams() steps whose inputs are ready run at once, taken in
// the tape's order, and their kernels' loops share the team of goroutines
// (blas.ForEach).
//
// Every kernel computes the same values whatever runs beside it, so a tape gives the same
// bits on any number of streams above one; against one stream, only products that go to
// a BLAS library may differ in their last bits (it runs single-threaded on streams). An input is donated (its memory reused for the output) only
// when every other step that reads it has finished. Steps whose op is Ordered (the
// collective operations of package distributed) run alone, after every step before
// them and before any after them, so that all processes of a job issue them in the
// same order.

// Ordered is implemented by ops that must run alone and in the tape's order.
type Ordered interface {
	// Ordered reports whether the op must run alone, in order.
	Ordered() bool
}

func isOrdered(op backend.Op) bool {
	o, ok := op.(Ordered)
	return ok && o.Ordered()
}

var streams atomic.Int32

func init() { streams.Store(int32(parseStreams(os.Getenv("MLXGO_STREAMS"), os.Stderr))) }

// parseStreams reads MLXGO_STREAMS: empty means 0 (the default, see Streams); a value
// that is not a whole number, 1 or more, is reported on w and ignored.
func parseStreams(env string, w io.Writer) int {
	env = strings.TrimSpace(env)
	if env == "" {
		return 0
	}
	v, err := strconv.Atoi(env)
	if err != nil || v < 1 {
		fmt.Fprintf(w, "mlxgo: MLXGO_STREAMS=%q is not a number of streams (1 or more); using the default\n", env)
		return 0
	}
	return v
}

// Streams returns how many steps of a tape the CPU backend runs at once: SetStreams's
// value, else MLXGO_STREAMS, else 1.
func Streams() int {
	if s := int(streams.Load()); s > 0 {
		return min(s, runtime.GOMAXPROCS(0))
	}
	return 1
}

// SetStreams sets how many steps run at once (0: back to MLXGO_STREAMS or 1) and
// returns the previous setting.
func SetStreams(n int) int { return int(streams.Swap(int32(max(n, 0)))) }

// runStreams runs tape on s streams, done called for each step under one lock.
func runStreams(tape []backend.Step, done func(int), s int) {
	n := len(tape)
	producer := make(map[*backend.Node]int, n)
	for i, st := range tape {
		producer[st.Out] = i
	}
	pending := make([]int, n)          // unfinished steps whose outputs step i reads
	consumers := make([][]int, n)      // steps that read step i's output
	readers := map[*backend.Node]int{} // unfinished steps reading a node
	for i, st := range tape {
		for j, in := range st.Inputs {
			if slices.Contains(st.Inputs[:j], in) {
				continue
			}
			readers[in]++
			if p, ok := producer[in]; ok {
				pending[i]++
				consumers[p] = append(consumers[p], i)
			}
		}
	}
	var (
		mu        sync.Mutex
		ready     = &intHeap{}
		taken     = make([]bool, n)
		firstFree = 0     // the lowest step not taken yet
		running   = 0     // steps taken and not finished
		alone     = false // an Ordered step is running
		left      = n
		failed    any
		events    atomic.Uint64 // bumped when a step finishes or fails
	)
	for i := range tape {
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}
	// wait, under mu, lets the other streams' kernels have this thread until a
	// step finishes or fails.
	wait := func() {
		seen := events.Load()
		mu.Unlock()
		blas.Help(func() bool { return events.Load() != seen })
		mu.Lock()
	}
	// next returns, under mu, a step to run and the inputs it may donate, or false
	// when every step has finished or one has failed.
	next := func() (int, []bool, bool) {
		for {
			if failed != nil || left == 0 {
				return 0, nil, false
			}
			if ready.Len() == 0 || alone {
				wait()
				continue
			}
			i := (*ready)[0]
			ordered := isOrdered(tape[i].Op)
			if ordered && (firstFree != i || running > 0) {
				wait() // until every step before it has finished
				continue
			}
			heap.Pop(ready)
			taken[i] = true
			for firstFree < n && taken[firstFree] {
				firstFree++
			}
			running++
			alone = ordered
			st := tape[i]
			var donate []bool
			for j, d := range st.Donate {
				if d && readers[st.Inputs[j]] == 1 { // no other reader is left
					if donate == nil {
						donate = make([]bool, len(st.Donate))
					}
					donate[j] = true
				}
			}
			return i, donate, true
		}
	}
	stream := func(int) {
		mu.Lock()
		defer mu.Unlock()
		for {
			i, donate, ok := next()
			if !ok {
				return
			}
			mu.Unlock()
			err := func() (err any) {
				defer func() { err = recover() }()
				execStep(tape[i], donate)
				return nil
			}()
			mu.Lock()
			running--
			alone = false
			if err != nil {
				if failed == nil {
					failed = err
				}
				events.Add(1)
				continue
			}
			left--
			st := tape[i]
			for j, in := range st.Inputs {
				if !slices.Contains(st.Inputs[:j], in) {
					readers[in]--
				}
			}
			func() {
				defer func() {
					if e := recover(); e != nil && failed == nil {
						failed = e
					}
				}()
				done(i)
			}()
			for _, c := range consumers[i] {
				if pending[c]--; pending[c] == 0 {
					heap.Push(ready, c)
				}
			}
			events.Add(1)
		}
	}
	// The streams run as the items of a Parallel loop: a BLAS library computes
	// single-threaded meanwhile (split products still use every core), whatever the
	// other streams do — its results depend on its thread count, which a Parallel loop
	// on one stream would otherwise change under a product on another.
	blas.Parallel(s, stream)
	if failed != nil {
		panic(failed)
	}
}

// intHeap is a min-heap of step indices: the ready step earliest in the tape first.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(a, b int) bool { return h[a] < h[b] }
func (h intHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// SetStreams is SetStreams, as a method: mx.SetStreams finds it on the backend.
func (Executor) SetStreams(n int) int { return SetStreams(n) }
