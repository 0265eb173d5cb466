package trainer

import (
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// CompiledValueAndGrad is nn.ValueAndGrad(model, lossFn) compiled with mx.CompileWith,
// as mlx-lm compiles its training step: the model's parameters and the global random key
// are input state (the key an output too, so dropout draws new masks at every step), the
// batch's arrays are the inputs. A batch shape is traced once; later batches of that
// shape replay the fused graph without running the model's Go code. Non-array fields of
// the batch are read at trace time only: lossFn must not depend on them.
//
// The optimizer update stays outside: its step count and learning rate are Go numbers,
// which a trace would freeze.
func CompiledValueAndGrad[B any](model *lm.Model, lossFn func(*lm.Model, B) *mx.Array) func(*lm.Model, B) (*mx.Array, map[string]any) {
	vg := nn.ValueAndGrad(model, lossFn)
	params := mx.State{
		Get: func() any { return model.Parameters() },
		Set: func(t any) {
			if err := nn.Update(model, t.(map[string]any)); err != nil {
				panic(err)
			}
		},
	}
	var batch B      // the batch being traced, its arrays replaced by the inputs
	var gradTree any // the gradients' structure, from the last trace
	f := mx.CompileWith(func(in []*mx.Array) []*mx.Array {
		i := 0
		b := mx.MapArrays(batch, func(*mx.Array) *mx.Array { i++; return in[i-1] }).(B)
		loss, grads := vg(model, b)
		outs := []*mx.Array{loss}
		gradTree = mx.MapArrays(grads, func(g *mx.Array) *mx.Array { outs = append(outs, g); return g })
		return outs
	}, mx.CompileOptions{Inputs: []mx.State{params, mx.RandomState}, Outputs: []mx.State{mx.RandomState}})
	return func(m *lm.Model, b B) (*mx.Array, map[string]any) {
		if m != model {
			panic("trainer: a compiled step runs on the model it was compiled for")
		}
		var in []*mx.Array
		mx.MapArrays(b, func(a *mx.Array) *mx.Array { in = append(in, a); return a })
		batch = b
		outs := f(in)
		i := 0
		grads := mx.MapArrays(gradTree, func(*mx.Array) *mx.Array { i++; return outs[i] })
		return outs[0], grads.(map[string]any)
	}
}
