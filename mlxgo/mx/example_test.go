package mx_test

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

func ExampleEval() {
	a := mx.FromSlice([]float32{1, 2, 3})
	b := a.Mul(a).Sum() // builds a graph; nothing has run
	fmt.Println(b.Evaluated())
	mx.Eval(b) // now it runs
	fmt.Println(b.Evaluated(), b.Item())
	// Output:
	// false
	// true 14
}

func ExampleValueAndGrad() {
	// loss(w) = sum((w*x)²); dloss/dw = 2·w·x²
	x := mx.FromSlice([]float32{1, 2})
	lossAndGrad := mx.ValueAndGrad(func(args ...any) any {
		w := args[0].(*mx.Array)
		return mx.Sum(mx.Square(w.Mul(x)), nil, false)
	})
	loss, grad := lossAndGrad(mx.FromSlice([]float32{3, 3}))
	fmt.Println(loss.(*mx.Array).Item(), grad.(*mx.Array).Float32s())
	// Output: 45 [6 24]
}

func ExampleCheckpoint() {
	layer := mx.Checkpoint(func(in []*mx.Array) *mx.Array { return mx.Tanh(mx.Matmul(in[0], in[1])) })
	w := mx.FromSlice([]float32{0.5, -0.5, 0.25, 1}, 2, 2)
	x := mx.FromSlice([]float32{1, 2}, 1, 2)
	g := mx.GradOf(func(w *mx.Array) *mx.Array { return layer([]*mx.Array{x, w}).Sum() })(w)
	// d/dw tanh(x·w) = xᵀ·(1 − tanh²(x·w)), recomputed in the backward pass
	fmt.Printf("%.3f\n", g.Float32s())
	// Output: [0.420 0.181 0.840 0.361]
}
