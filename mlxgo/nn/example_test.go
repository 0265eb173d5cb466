package nn_test

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// A module is a struct embedding nn.Base; its parameters and children are found by
// reflection and keyed by their `mx` tags.
func Example() {
	type mlp struct {
		nn.Base
		Up   *nn.Linear  `mx:"up_proj"`
		Down *nn.Linear  `mx:"down_proj"`
		Norm *nn.RMSNorm `mx:"norm"`
	}
	m := &mlp{Up: nn.NewLinear(4, 8, true), Down: nn.NewLinear(8, 4, false), Norm: nn.NewRMSNorm(4, 1e-5)}
	for _, p := range tree.Flatten(nn.Parameters(m)) {
		fmt.Println(p.Key, p.Value.Shape())
	}
	fmt.Println("params:", nn.CountParams(nn.Parameters(m)))

	_ = nn.Freeze(m, true, false)                  // freeze everything ...
	_ = nn.Unfreeze(m, true, true, "up_proj.bias") // ... but one bias
	fmt.Println("trainable:", nn.CountParams(nn.TrainableParameters(m)))

	x := mx.Ones([]int{2, 4}, mx.Float32)
	fmt.Println("output shape:", m.Norm.Forward(m.Down.Forward(m.Up.Forward(x))).Shape())
	// Output:
	// down_proj.weight [4 8]
	// norm.weight [4]
	// up_proj.bias [8]
	// up_proj.weight [8 4]
	// params: 76
	// trainable: 8
	// output shape: [2 4]
}

// SwiGLU is the gated activation of Llama-family MLPs, silu(gate)·up, as one op whose
// gradient is one pass too.
func ExampleSwiGLU() {
	gate := mx.FromSlice([]float32{-2, 0, 1, 3}, 2, 2)
	up := mx.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	fmt.Printf("%.4f\n", nn.SwiGLU(gate, up).Float32s())
	loss := func(g *mx.Array) *mx.Array { return mx.Sum(nn.SwiGLU(g, up), nil, false) }
	fmt.Printf("%.4f\n", mx.GradOf(loss)(gate).Float32s()) // up·silu'(gate)
	// Output:
	// [-0.2384 0.0000 2.1932 11.4309]
	// [-0.0908 1.0000 2.7830 4.3524]
}
