package mx

import (
	"container/heap"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// schedule reorders a topologically sorted tape to keep memory low: among the arrays
// whose inputs are ready it first runs those that free at least as many bytes as they
// allocate (for example a weight gradient that is the last user of a large activation),
// and otherwise keeps the depth-first order. Without it, a small result that only an
// output needs — a parameter's gradient — can be left to the end of the tape while the
// activations it reads stay alive.
func schedule(tape []*Array, requested map[*Array]bool) []*Array {
	n := len(tape)
	if n < 3 {
		return tape
	}
	idx := make(map[*Array]int, n)
	for i, a := range tape {
		idx[a] = i
	}
	pending := make([]int, n)
	consumers := make([][]int, n)
	remaining := make([]int, n)
	for i, a := range tape {
		for _, in := range a.inputs {
			if j, ok := idx[in]; ok {
				pending[i]++
				consumers[j] = append(consumers[j], i)
				remaining[j]++
			}
		}
	}
	freeable := func(j int) bool { return !requested[tape[j]] && !tape[j].keep }
	class := func(i int) int {
		freed := 0
		seen := map[int]int{}
		for _, in := range tape[i].inputs {
			if j, ok := idx[in]; ok {
				seen[j]++
			}
		}
		for j, c := range seen {
			if remaining[j] == c && freeable(j) {
				freed += tape[j].NBytes()
			}
		}
		if freed >= allocates(tape[i]) {
			return 0
		}
		return 1
	}
	q := &readyQueue{}
	for i := range tape {
		if pending[i] == 0 {
			heap.Push(q, readyItem{class(i), i})
		}
	}
	out := make([]*Array, 0, n)
	for q.Len() > 0 {
		it := heap.Pop(q).(readyItem)
		if c := class(it.i); c != it.class {
			heap.Push(q, readyItem{c, it.i})
			continue
		}
		a := tape[it.i]
		out = append(out, a)
		for _, in := range a.inputs {
			if j, ok := idx[in]; ok {
				remaining[j]--
			}
		}
		for _, c := range consumers[it.i] {
			if pending[c]--; pending[c] == 0 {
				heap.Push(q, readyItem{class(c), c})
			}
		}
	}
	return out
}

// allocates is the number of bytes running a's primitive allocates: none for views
// (descriptors that say IsView), which share their input's storage.
func allocates(a *Array) int {
	if backend.IsView(a.prim.Op()) {
		return 0
	}
	return a.NBytes()
}

type readyItem struct{ class, i int }

type readyQueue []readyItem

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(a, b int) bool {
	if q[a].class != q[b].class {
		return q[a].class < q[b].class
	}
	return q[a].i < q[b].i
}
func (q readyQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(readyItem)) }
func (q *readyQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
