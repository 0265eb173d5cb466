// Command 03-modules-and-freezing runs the code of the guide in README.md: a custom
// module, its parameter tree, Freeze and Unfreeze, nn.ValueAndGrad, an optimizer loop
// with an explicit mx.Eval, and SaveWeights / LoadWeights.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// MLP is a two-layer perceptron with a learned output gain. Struct tags name the
// parameters as a checkpoint would; `mx:"-"` hides a field from the parameter tree.
type MLP struct {
	nn.Base
	Hidden *nn.Linear `mx:"hidden"`
	Out    *nn.Linear `mx:"out"`
	Gain   *mx.Array  `mx:"gain"`
	Width  int        `mx:"-"`
}

// NewMLP returns an MLP from 1 input to 1 output through width hidden units.
func NewMLP(width int) *MLP {
	return &MLP{
		Hidden: nn.NewLinear(1, width, true),
		Out:    nn.NewLinear(width, 1, true),
		Gain:   mx.Ones([]int{1}, mx.Float32),
		Width:  width,
	}
}

// Forward maps x (N, 1) to predictions (N, 1).
func (m *MLP) Forward(x *mx.Array) *mx.Array {
	return m.Out.Forward(mx.Silu(m.Hidden.Forward(x))).Mul(m.Gain)
}

// lossFn is a pure function of the model and a batch: mean squared error.
func lossFn(m *MLP, batch [2]*mx.Array) *mx.Array {
	return nn.MSE(m.Forward(batch[0]), batch[1], nn.ReduceMean)
}

// keys lists the dotted keys of a parameter (or gradient) tree.
func keys(t any) []string {
	var ks []string
	for _, p := range tree.Flatten(t) {
		ks = append(ks, p.Key)
	}
	return ks
}

func main() {
	mx.Seed(0)
	model := NewMLP(16)

	// 1. The parameter tree, discovered from the struct.
	for _, p := range tree.Flatten(nn.Parameters(model)) {
		fmt.Printf("%-14s %v\n", p.Key, p.Value.Shape())
	}
	fmt.Println("parameters:", nn.CountParams(nn.Parameters(model)))

	// 2. Freeze and Unfreeze.
	must(nn.Freeze(model, true, false))
	fmt.Println("\nafter Freeze(model):        trainable", nn.CountParams(nn.TrainableParameters(model)))
	must(nn.Unfreeze(model, true, false))
	fmt.Println("after Unfreeze(model):      trainable", nn.CountParams(nn.TrainableParameters(model)))
	must(nn.Freeze(model, true, false, "bias"))
	fmt.Println("after Freeze(model, \"bias\"): trainable", nn.CountParams(nn.TrainableParameters(model)), keys(nn.TrainableParameters(model)))
	must(nn.Unfreeze(model, true, false))

	// 3. nn.ValueAndGrad differentiates the trainable parameters only.
	xs := mx.Linspace(-2, 2, 64).Reshape(64, 1)
	batch := [2]*mx.Array{xs, xs.Square()} // learn y = x²
	lossAndGrad := nn.ValueAndGrad(model, lossFn)
	loss, grads := lossAndGrad(model, batch)
	fmt.Printf("\ninitial loss %.4f, gradients for %d arrays\n", loss.Item(), len(tree.Leaves(grads)))

	// 4. The update is lazy: until mx.Eval, the model holds graphs.
	opt := optim.NewAdam(optim.Constant(0.02), optim.AdamConfig{})
	before := model.Out.Weight
	opt.Update(model, grads)
	fmt.Println("after opt.Update: out.weight evaluated:", model.Out.Weight.Evaluated(),
		" old array replaced:", model.Out.Weight != before)
	mx.Eval(nn.Parameters(model), opt.State())
	fmt.Println("after mx.Eval:    out.weight evaluated:", model.Out.Weight.Evaluated())

	// 5. The training loop: gradients, lazy update, one Eval per step.
	for step := 2; step <= 300; step++ {
		loss, grads := lossAndGrad(model, batch)
		opt.Update(model, grads)
		mx.Eval(loss, nn.Parameters(model), opt.State())
		if step%100 == 0 {
			fmt.Printf("step %d: loss %.4f\n", step, loss.Item())
		}
	}

	// 6. Freeze the hidden layer and keep training: only the head moves.
	must(nn.Freeze(model.Hidden, true, false))
	fmt.Println("\ntrainable after Freeze(model.Hidden):", keys(nn.TrainableParameters(model)))
	hidden := model.Hidden.Weight
	head := model.Out.Weight.Float32s()
	target := [2]*mx.Array{xs, xs.Square().Add(1)} // the target moves up by one
	for range 200 {
		loss, grads = lossAndGrad(model, target)
		opt.Update(model, grads)
		mx.Eval(loss, nn.Parameters(model), opt.State())
	}
	fmt.Println("gradients computed for:", keys(grads))
	fmt.Printf("loss on the shifted target after 200 head-only steps: %.4f\n", loss.Item())
	fmt.Println("hidden.weight unchanged:", model.Hidden.Weight == hidden,
		" out.weight changed:", model.Out.Weight.Float32s()[0] != head[0])

	// 7. SaveWeights and LoadWeights.
	dir, err := os.MkdirTemp("", "mlxgo-tutorial-03-")
	must(err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mlp.safetensors")
	must(nn.SaveWeights(model, path))
	weights, _, err := mx.LoadSafetensors(path)
	must(err)
	fresh := NewMLP(16)
	must(nn.LoadWeights(fresh, weights, true))
	probe := mx.FromSlice([]float32{-1, 0, 1.5}, 3, 1)
	fmt.Println("\nsaved", len(weights), "arrays; reloaded model predicts the same:",
		mx.Equal(fresh.Forward(probe), model.Forward(probe)).Bools())
	fmt.Printf("predictions at -1, 0, 1.5: %.2f (target x²+1: 2, 1, 3.25)\n", fresh.Forward(probe).Float32s())
	err = nn.LoadWeights(NewMLP(8), weights, true)
	fmt.Println("loading into a narrower MLP is an error, not a panic:\n ", err)
}

// must stops the program on an error: a guide has no better answer.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
