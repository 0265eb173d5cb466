package mx_test

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Per-example gradient norms of a linear model, the use MLX's vmap is known for: the
// gradient of one example's loss, vmapped over the batch (the weights are not mapped),
// gives every example's gradient in one batched computation.
func ExampleVmap() {
	w := mx.FromSlice([]float32{0.5, -1}, 2)
	xs := mx.FromSlice([]float32{1, 0, 0, 1, 1, 1, 2, 2}, 4, 2) // four examples
	ys := mx.FromSlice([]float32{1, 0, 0, 1}, 4)

	loss := func(args ...any) any { // one example: (w·x − y)²
		w, x, y := args[0].(*mx.Array), args[1].(*mx.Array), args[2].(*mx.Array)
		return mx.Square(mx.Subtract(mx.Sum(mx.Multiply(w, x), nil, false), y))
	}
	perExample := mx.Vmap(mx.Grad(loss), []int{mx.Unmapped, 0, 0}, nil)
	grads := perExample(w, xs, ys).(*mx.Array) // (4, 2): 2·(w·x − y)·x for each example
	norms := mx.Sqrt(mx.Sum(mx.Square(grads), []int{1}, false))
	fmt.Println(grads.Shape())
	fmt.Printf("%.4f\n", norms.Float32s())
	// Output:
	// [4 2]
	// [1.0000 2.0000 1.4142 11.3137]
}
