package mx

import (
	"container/heap"
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// maxFusedInputs and maxFusedSteps bound one fused kernel (MLX bounds its fused kernels'
// arrays at 24 as well).
const (
	maxFusedInputs = 24
	maxFusedSteps  = 64
)

// elementwise reports whether n can be a step of a fused kernel computing in float32:
// a constant (Full), or an op whose own kernel takes its float path and stores a float
// or bool result (then float32 registers hold exactly the values its kernel reads back).
func (e *compiled) elementwise(n *cnode) bool {
	if _, ok := n.prim.Op().(backend.Full); ok {
		return n.dtype.IsFloat() || n.dtype == Bool || n.dtype == Int32
	}
	if !n.dtype.IsFloat() && n.dtype != Bool {
		return false
	}
	switch p := n.prim.(type) {
	case unaryPrim:
		return e.dtypeOf(n.args[0]).IsFloat() || n.dtype.IsFloat()
	case binaryPrim:
		return PromoteTypes(e.dtypeOf(n.args[0]), e.dtypeOf(n.args[1])).IsFloat() && (n.dtype.IsFloat() || p.isCompare())
	case astypePrim, wherePrim:
		return n.dtype.IsFloat()
	}
	return false
}

func (e *compiled) dtypeOf(v int) Dtype {
	switch {
	case v < e.nIn:
		return e.inTypes[v]
	case v < e.base():
		return e.consts[v-e.nIn].dtype
	}
	return e.nodes[v-e.base()].dtype
}

func isFull(n *cnode) bool {
	_, ok := n.prim.Op().(backend.Full)
	return ok
}

// fuse replaces chains of elementwise nodes by fused nodes. Going from the last node
// back, each elementwise node that is not fused yet roots a region; a node joins the
// region when it is elementwise, is no output of the function, and every node that reads
// it is in the region already (so no other node needs its value), or when it is a unary
// op that may be recomputed (recomputable): it then stays a node of its own until no
// unfused node reads it. Constants (Full) join
// as steps of every region that reads them. As in MLX, a member may have a smaller shape
// than the root (it broadcasts to it): the kernel computes it at every output element.
func (e *compiled) fuse() {
	base := e.base()
	users := make([][]int, len(e.nodes))
	for j, n := range e.nodes {
		for _, a := range n.args {
			if a >= base {
				users[a-base] = append(users[a-base], j)
			}
		}
	}
	isOut := map[int]bool{}
	for _, o := range e.outs {
		isOut[o] = true
	}
	fused := make([]bool, len(e.nodes))
	for j := len(e.nodes) - 1; j >= 0; j-- {
		root := &e.nodes[j]
		if fused[j] || isFull(root) || !e.elementwise(root) {
			continue
		}
		region := map[int]bool{j: true}
		var pending intHeap
		push := func(n *cnode) {
			for _, a := range n.args {
				if a >= base && !region[a-base] && !slices.Contains(pending, a-base) {
					heap.Push(&pending, a-base)
				}
			}
		}
		push(root)
		for pending.Len() > 0 && len(region) < maxFusedSteps {
			i := heap.Pop(&pending).(int) // users first: the highest index
			n := &e.nodes[i]
			if fused[i] || !e.elementwise(n) || isOut[base+i] {
				continue
			}
			if !isFull(n) && !allIn(users[i], region) && !e.recomputable(i) {
				continue
			}
			region[i] = true
			push(n)
		}
		steps := 0
		for i := range region {
			if !isFull(&e.nodes[i]) {
				steps++
			}
		}
		if steps < 2 {
			continue
		}
		p, args := e.fusedPrim(j, region)
		if len(args) > maxFusedInputs {
			continue
		}
		for i := range region {
			if !isFull(&e.nodes[i]) && allIn(users[i], region) {
				fused[i] = true
			}
		}
		e.nodes[j] = cnode{prim: p, shape: root.shape, dtype: root.dtype, args: args, keep: root.keep}
	}
	e.prune()
}

// recomputable reports whether node i, read by nodes outside a region, may still be
// computed again inside it: a unary op of a value that stays in memory anyway (an
// input of the function, or the result of an op that is never fused, such as a matrix
// product). A gradient graph reads such a value twice, e.g. silu(gate) in
// silu(gate)·up and in the gradient of up; when every reader computes it in its own
// fused kernel it is never stored (its region's prune drops it), which saves one
// activation of that size per layer for the price of recomputing it.
func (e *compiled) recomputable(i int) bool {
	n := &e.nodes[i]
	if _, ok := n.prim.(unaryPrim); !ok || len(n.args) != 1 {
		return false
	}
	a := n.args[0]
	if a < e.base() {
		return true
	}
	return !e.elementwise(&e.nodes[a-e.base()])
}

func allIn(js []int, set map[int]bool) bool {
	for _, j := range js {
		if !set[j] {
			return false
		}
	}
	return true
}

// fusedPrim builds the fused primitive of the region rooted at node root, and its inputs.
func (e *compiled) fusedPrim(root int, region map[int]bool) (fusedPrim, []int) {
	base := e.base()
	order := make([]int, 0, len(region))
	for i := range region {
		order = append(order, i)
	}
	slices.Sort(order) // topological: arguments before users
	var args []int
	reg := map[int]int{} // value -> register
	for _, i := range order {
		for _, a := range e.nodes[i].args {
			if _, ok := reg[a]; !ok && !(a >= base && region[a-base]) {
				reg[a] = len(args)
				args = append(args, a)
			}
		}
	}
	var p fusedPrim
	for k, i := range order {
		n := e.nodes[i]
		st := fusedStep{prim: n.prim, shape: n.shape, dtype: n.dtype}
		for _, a := range n.args {
			st.args = append(st.args, reg[a])
		}
		reg[base+i] = len(args) + k
		p.steps = append(p.steps, st)
	}
	p.op = backend.Fused{Steps: make([]backend.FusedStep, len(p.steps))}
	for k, st := range p.steps {
		p.op.Steps[k] = backend.FusedStep{Op: st.prim.Op(), Args: st.args, Dtype: st.dtype}
	}
	return p, args
}

// fusedPrim is a chain of elementwise primitives run as one kernel (backend.Fused).
type fusedPrim struct {
	steps []fusedStep
	op    backend.Fused
}

// fusedStep is one primitive of the chain: registers as backend.FusedStep numbers them.
type fusedStep struct {
	prim  Primitive
	args  []int
	shape []int
	dtype Dtype
}

func (p fusedPrim) Op() backend.Op { return p.op }

// VJP differentiates the unfused ops: it rebuilds them on the inputs and runs their VJPs.
func (p fusedPrim) VJP(in []*Array, _, g *Array) []*Array {
	out := p.unfused(in)
	return backward([]*Array{out}, []*Array{g}, in)
}

// Vmap batches the chain's ops one by one (they have batching rules; the fused kernel
// is for one index): the result is the batched graph of the unfused ops.
func (p fusedPrim) Vmap(in []*Array, axes []int, out *Array) (*Array, int) {
	orig := append([]*Array(nil), out.inputs...) // the ops on one index
	regs := make([]batched, len(in))
	for i := range in {
		regs[i] = batched{in[i], axes[i]}
	}
	for _, st := range p.steps {
		args := make([]*Array, len(st.args))
		bargs := make([]*Array, len(st.args))
		baxes := make([]int, len(st.args))
		mapped := false
		for k, r := range st.args {
			args[k], bargs[k], baxes[k] = orig[r], regs[r].a, regs[r].axis
			mapped = mapped || baxes[k] != Unmapped
		}
		one := newArray(cloneInts(st.shape), st.dtype, st.prim, args...)
		orig = append(orig, one)
		if mapped {
			regs = append(regs, applyRule(one, bargs, baxes))
		} else {
			regs = append(regs, batched{one, Unmapped})
		}
	}
	last := regs[len(regs)-1]
	return last.a, last.axis
}

// unfused builds the chain's ops on inputs in and returns the last.
func (p fusedPrim) unfused(in []*Array) *Array {
	regs := append([]*Array(nil), in...)
	for _, st := range p.steps {
		args := make([]*Array, len(st.args))
		for k, r := range st.args {
			args[k] = regs[r]
		}
		regs = append(regs, newArray(cloneInts(st.shape), st.dtype, st.prim, args...))
	}
	return regs[len(regs)-1]
}

// intHeap is a max-heap of node indices.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(a, b int) bool { return h[a] > h[b] }
func (h intHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
