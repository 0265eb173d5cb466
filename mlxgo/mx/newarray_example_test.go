package mx_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// cubeOp is the descriptor of an op defined outside mx (pure data) ...
type cubeOp struct{}

func (cubeOp) Name() string { return "Cube" }

// cubePrim is its primitive: the descriptor plus the VJP, 3x²·g.
type cubePrim struct{}

func (cubePrim) Op() backend.Op { return cubeOp{} }
func (cubePrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	return []*mx.Array{mx.Multiply(g, mx.Multiply(mx.Square(in[0]), 3.0))}
}

func cube(x *mx.Array) *mx.Array { return mx.NewArray(x.Shape(), x.Dtype(), cubePrim{}, x) }

// A new op from outside mx: a descriptor, a CPU kernel registered for it, and a
// primitive with its VJP, entered into the graph with NewArray.
func ExampleNewArray() {
	cpu.Register(func(_ cubeOp, in []*backend.Node, out *backend.Node) {
		x := cpu.Floats(in[0])
		o, commit := cpu.OutFloats(out)
		for i, v := range x {
			o[i] = v * v * v
		}
		commit()
	})
	x := mx.FromSlice([]float32{1, 2, 3})
	fmt.Println(cube(x).Float32s())
	g := mx.GradOf(func(x *mx.Array) *mx.Array { return cube(x).Sum() })(x)
	fmt.Println(g.Float32s())
	// Output:
	// [1 8 27]
	// [3 12 27]
}
