// Command 01-lazy-evaluation runs the code of the guide in README.md: lazy graphs,
// mx.Eval, implicit evaluation, detaching, KernelCount, the forgotten-Eval pitfall and
// AsyncEval.
package main

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// pending counts the nodes of a's graph that hold no data yet: the work an Eval of a
// would still have to do.
func pending(a *mx.Array) int {
	seen := map[*mx.Array]bool{}
	var walk func(*mx.Array)
	walk = func(n *mx.Array) {
		if seen[n] || n.Evaluated() {
			return
		}
		seen[n] = true
		for _, in := range n.Inputs() {
			walk(in)
		}
	}
	walk(a)
	return len(seen)
}

// ops lists the primitives of a's pending graph, inputs before the nodes that use them.
func ops(a *mx.Array) []string {
	seen := map[*mx.Array]bool{}
	var names []string
	var walk func(*mx.Array)
	walk = func(n *mx.Array) {
		if seen[n] || n.Evaluated() {
			return
		}
		seen[n] = true
		for _, in := range n.Inputs() {
			walk(in)
		}
		names = append(names, n.Primitive().Op().Name())
	}
	walk(a)
	return names
}

func main() {
	// 1. Operations build a graph.
	a := mx.FromSlice([]float32{1, 2, 3})
	start := mx.KernelCount()
	b := a.Mul(a).Sum()
	fmt.Println("b:", b.Shape(), b.Dtype(), "evaluated:", b.Evaluated())
	fmt.Println("b's graph:", ops(b))
	fmt.Println("kernels run while building:", mx.KernelCount()-start)

	// 2. mx.Eval runs it, then detaches b from its graph.
	mx.Eval(b)
	fmt.Println("after Eval: evaluated:", b.Evaluated(), "value:", b.Item())
	fmt.Println("kernels run by Eval:", mx.KernelCount()-start)
	fmt.Println("detached: primitive is nil:", b.Primitive() == nil, "inputs:", len(b.Inputs()))

	// 3. Reading values evaluates implicitly.
	c := b.Add(1).Mul(2)
	fmt.Println("c evaluated before printing:", c.Evaluated())
	fmt.Println("printing c:", c)
	fmt.Println("c evaluated after printing:", c.Evaluated())
	d := a.Exp().Sum()
	fmt.Printf("d.Item() evaluates too: %.4f\n", d.Item())

	// 4. Evaluate together what shares work.
	e := a.Exp()
	total, largest := e.Sum(), e.Max()
	k := mx.KernelCount()
	mx.Eval(total, largest)
	fmt.Println("kernels for Eval(total, largest) together:", mx.KernelCount()-k)
	fmt.Println("the shared intermediate was released:", !e.Evaluated())
	e = a.Exp()
	total, largest = e.Sum(), e.Max()
	k = mx.KernelCount()
	mx.Eval(total)
	mx.Eval(largest)
	fmt.Println("kernels for Eval(total) then Eval(largest):", mx.KernelCount()-k)

	// 5. The forgotten Eval: minimise (w-3)² by gradient descent, 50 steps.
	const steps, lr = 50, 0.1
	w := mx.FromSlice([]float32{0})
	w0 := w
	fmt.Println("\none step's graph:", ops(w.Sub(w.Sub(3).Mul(2).Mul(lr))))
	k = mx.KernelCount()
	for range steps {
		grad := w.Sub(3).Mul(2) // d/dw (w-3)²
		w = w.Sub(grad.Mul(lr)) // lazy: a new node, nothing computed
	}
	fmt.Println("\nwithout Eval:")
	fmt.Println("  kernels run by 50 steps:", mx.KernelCount()-k)
	fmt.Println("  the starting array still holds:", w0.Item())
	fmt.Println("  nodes waiting in w's graph:", pending(w))
	k = mx.KernelCount()
	fmt.Printf("  the first read pays for all of it: w = %.5f, kernels = %d\n", w.Item(), mx.KernelCount()-k)

	fmt.Println("with Eval every step:")
	w = mx.FromSlice([]float32{0})
	k = mx.KernelCount()
	maxPending := 0
	for range steps {
		grad := w.Sub(3).Mul(2)
		w = w.Sub(grad.Mul(lr))
		maxPending = max(maxPending, pending(w))
		mx.Eval(w)
	}
	fmt.Println("  largest graph ever built:", maxPending, "nodes")
	fmt.Printf("  w = %.5f, kernels = %d (%d per step)\n", w.Item(), mx.KernelCount()-k, int(mx.KernelCount()-k)/steps)

	// 6. AsyncEval: evaluate in the background while Go does other work.
	x := mx.Normal([]int{512, 512}, 0, 1, mx.Float32, mx.Key(0))
	mx.Eval(x)
	y := mx.Matmul(x, x.T()).Sum()
	wait := mx.AsyncEval(y)
	next := mx.Matmul(x, x).Mean() // build the next graph meanwhile
	wait()
	fmt.Println("\nAsyncEval: y evaluated after wait():", y.Evaluated(), "next still lazy:", !next.Evaluated())
}
