package mx_test

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

func ExampleCompile() {
	traces := 0
	// silu(x)·scale as four elementwise ops, compiled into one fused kernel.
	f := mx.Compile(func(in []*mx.Array) []*mx.Array {
		traces++
		x := in[0]
		return []*mx.Array{mx.Multiply(mx.Multiply(x, mx.Sigmoid(x)), in[1])}
	})
	scale := mx.FromSlice([]float32{2})
	y := f([]*mx.Array{mx.FromSlice([]float32{-1, 0, 1}), scale})[0]
	fmt.Println(y.Primitive().Op().Name())
	fmt.Printf("%.4f\n", y.Float32s())
	f([]*mx.Array{mx.FromSlice([]float32{3, 4, 5}), scale}) // same shapes: replayed
	f([]*mx.Array{mx.FromSlice([]float32{3, 4}), scale})    // a new shape: traced again
	fmt.Println("traces:", traces)
	// Output:
	// CompiledSigmoidMultiplyMultiply
	// [-0.5379 0.0000 1.4621]
	// traces: 2
}

func ExampleCompileWith() {
	// A parameter the compiled step reads and updates: state, not a captured constant.
	w := mx.FromSlice([]float32{1, 2})
	param := mx.State{Get: func() any { return w }, Set: func(t any) { w = t.(*mx.Array) }}
	step := mx.CompileWith(func(in []*mx.Array) []*mx.Array {
		w = mx.Subtract(w, mx.Multiply(in[0], 0.5)) // w -= 0.5·g
		return nil
	}, mx.CompileOptions{Inputs: []mx.State{param}, Outputs: []mx.State{param}})
	for range 3 {
		step([]*mx.Array{mx.FromSlice([]float32{1, 1})})
		mx.Eval(w)
	}
	fmt.Println(w.Float32s())
	// Output: [-0.5 0.5]
}
