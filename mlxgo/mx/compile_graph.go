package mx

import (
	"fmt"
	"strings"
)

// compiled is a traced graph. Its values are numbered: first the inputs, then the
// constants (arrays the function captured, with data), then one per node in topological
// order.
type compiled struct {
	nIn     int
	inTypes []Dtype
	consts  []*Array
	nodes   []cnode
	outs    []int // value of each output

	nOut     int        // outputs of the function; the rest are state
	stateOut []int      // for each output state, the index of its first output
	trees    []any      // each output state's tree, leaves replaced by markers
	markers  [][]*Array // each output state's markers, in output order
	lastUse  int        // the compiler's call count at its latest use
}

// cnode is one op of a compiled graph.
type cnode struct {
	prim  Primitive
	shape []int
	dtype Dtype
	args  []int
	keep  bool
}

func (e *compiled) base() int { return e.nIn + len(e.consts) }

// build records the graph from the placeholders ph to outs.
func (e *compiled) build(ph, outs []*Array) {
	e.nIn = len(ph)
	input := make(map[*Array]int, len(ph))
	for i, p := range ph {
		input[p] = i
		e.inTypes = append(e.inTypes, p.dtype)
	}
	constID := map[*Array]int{}
	nodeID := map[*Array]int{} // -1 while on the stack
	var nodes []*Array
	// visit classifies a; it reports whether a is an op still to be recorded.
	visit := func(a *Array) bool {
		if _, ok := input[a]; ok {
			return false
		}
		if _, ok := constID[a]; ok {
			return false
		}
		if _, ok := nodeID[a]; ok {
			return false
		}
		if a.Evaluated() || a.prim == nil {
			constID[a] = len(e.consts)
			e.consts = append(e.consts, a)
			return false
		}
		if isTracer(a) {
			panicf("Compile", "the function reads the input of another trace")
		}
		nodeID[a] = -1
		return true
	}
	type frame struct {
		a *Array
		i int
	}
	for _, o := range outs {
		if !visit(o) {
			continue
		}
		stack := []frame{{o, 0}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i < len(top.a.inputs) {
				in := top.a.inputs[top.i]
				top.i++
				if visit(in) {
					stack = append(stack, frame{in, 0})
				}
				continue
			}
			nodeID[top.a] = len(nodes)
			nodes = append(nodes, top.a)
			stack = stack[:len(stack)-1]
		}
	}
	value := func(a *Array) int {
		if i, ok := input[a]; ok {
			return i
		}
		if i, ok := constID[a]; ok {
			return e.nIn + i
		}
		return e.base() + nodeID[a]
	}
	for _, a := range nodes {
		n := cnode{prim: a.prim, shape: a.shape, dtype: a.dtype, keep: a.keep}
		for _, in := range a.inputs {
			n.args = append(n.args, value(in))
		}
		e.nodes = append(e.nodes, n)
	}
	for _, o := range outs {
		e.outs = append(e.outs, value(o))
	}
}

// replay builds the graph anew on real inputs and returns the outputs (lazy).
func (e *compiled) replay(inputs []*Array) []*Array {
	vals := make([]*Array, e.base()+len(e.nodes))
	copy(vals, inputs)
	copy(vals[e.nIn:], e.consts)
	for j, n := range e.nodes {
		args := make([]*Array, len(n.args))
		for k, v := range n.args {
			args[k] = vals[v]
		}
		a := newArray(cloneInts(n.shape), n.dtype, n.prim, args...)
		a.keep = n.keep
		vals[e.base()+j] = a
	}
	outs := make([]*Array, len(e.outs))
	for i, v := range e.outs {
		outs[i] = vals[v]
	}
	return outs
}

// simplify merges equal scalar constants and nodes that apply the same primitive to the
// same values (common-subexpression elimination), then drops what no output needs.
func (e *compiled) simplify() {
	canon := make([]int, e.base()+len(e.nodes))
	for i := range canon {
		canon[i] = i
	}
	scalars := map[string]int{}
	for i, c := range e.consts {
		if c.Size() == 1 && c.Evaluated() {
			k := fmt.Sprintf("%d%v%x", c.dtype, c.shape, c.Bytes())
			if j, ok := scalars[k]; ok {
				canon[e.nIn+i] = j
			} else {
				scalars[k] = e.nIn + i
			}
		}
	}
	seen := map[string]int{}
	for j := range e.nodes {
		n := &e.nodes[j]
		for k, v := range n.args {
			n.args[k] = canon[v]
		}
		key := nodeKey(n)
		if v, ok := seen[key]; ok {
			canon[e.base()+j] = v
			if n.keep {
				e.nodes[v-e.base()].keep = true
			}
			continue
		}
		seen[key] = e.base() + j
	}
	for i, v := range e.outs {
		e.outs[i] = canon[v]
	}
	e.prune()
}

// nodeKey identifies what a node computes: its primitive (type and fields, a function
// by its address) and descriptor, its arguments, shape and dtype.
func nodeKey(n *cnode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%T%+v|%T%+v|%v|%v|%d", n.prim, n.prim, n.prim.Op(), n.prim.Op(), n.args, n.shape, n.dtype)
	return b.String()
}

// prune drops the nodes no output depends on and renumbers the rest.
func (e *compiled) prune() {
	base := e.base()
	live := make([]bool, len(e.nodes))
	for _, o := range e.outs {
		if o >= base {
			live[o-base] = true
		}
	}
	for j := len(e.nodes) - 1; j >= 0; j-- { // users come after what they read
		if live[j] {
			for _, a := range e.nodes[j].args {
				if a >= base {
					live[a-base] = true
				}
			}
		}
	}
	newID := make([]int, len(e.nodes))
	var kept []cnode
	for j, n := range e.nodes {
		if !live[j] {
			continue
		}
		for k, v := range n.args {
			if v >= base {
				n.args[k] = newID[v-base]
			}
		}
		newID[j] = base + len(kept)
		kept = append(kept, n)
	}
	e.nodes = kept
	for i, v := range e.outs {
		if v >= base {
			e.outs[i] = newID[v-base]
		}
	}
}
