// Command 05-rosetta runs the mlxgo column of ../05-rosetta.md, one printed line per
// row of the table, so every snippet there is known to compile and to do what it says.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// MLP is the module of the "modules" rows.
type MLP struct {
	nn.Base
	Hidden *nn.Linear `mx:"hidden"`
	Out    *nn.Linear `mx:"out"`
}

// Forward applies the two layers with a SiLU between them.
func (m *MLP) Forward(x *mx.Array) *mx.Array { return m.Out.Forward(mx.Silu(m.Hidden.Forward(x))) }

// lossFn is the pure loss of the "training step" rows.
func lossFn(m *MLP, b [2]*mx.Array) *mx.Array {
	return nn.MSE(m.Forward(b[0]), b[1], nn.ReduceMean)
}

// row prints one row of the table: the concept and what the mlxgo snippet gave, on one
// line.
func row(concept string, v ...any) {
	fmt.Printf("%-15s %s\n", concept+":", strings.ReplaceAll(fmt.Sprint(v...), ", \n ", ", "))
}

func main() {
	arrays()
	autograd()
	modules()
	languageModels()
	mistakes()
}

// arrays runs the rows of the Arrays table.
func arrays() {
	mx.Seed(0)
	x := mx.FromSlice([]float32{1, 2, 3})
	row("create", x)
	row("dtype", x.Dtype(), " ", mx.Float32)
	row("cast", x.AsType(mx.Float16).Dtype())
	row("zeros", mx.Zeros([]int{2, 3}, mx.Float32))
	row("arange", mx.Arange(0, 6, 1))
	row("random", mx.Normal([]int{2, 3}, 0, 1, mx.Float32, nil).Shape())
	r := mx.Arange(0, 6, 1).AsType(mx.Float32)
	m := r.Reshape(2, 3)
	row("reshape", m)
	a, b := x, mx.FromSlice([]float32{10, 20, 30})
	row("elementwise", a.Mul(b).Add(1))
	row("matmul", m.Matmul(x))
	row("transpose", m.T().Shape())
	row("sum", m.Sum())
	row("mean(axis)", mx.Mean(m, []int{1}, true))
	row("argmax", mx.ArgMax(m, -1, false))
	row("index", m.Index(1))
	row("slice", mx.SliceAxis(m, 1, 1, 3))
	idx := mx.FromSlice([]int32{1, 1, 0})
	row("gather", mx.Take(m, idx, 0).Shape())
	row("to Go", m.Float32s(), " ", m.Sum().Item())
	y := x.Square().Sum()
	mx.Eval(y)
	row("evaluate", y.Evaluated())
}

// autograd runs the rows of the Gradients table.
func autograd() {
	f := func(x *mx.Array) *mx.Array { return x.Square().Sum() }
	x := mx.FromSlice([]float32{1, 2, 3})
	row("grad", mx.GradOf(f)(x))
	v, g := mx.ValueAndGradOf(f)(x)
	row("value_and_grad", v, " ", g)
	row("stop_gradient", mx.GradOf(func(x *mx.Array) *mx.Array { return x.Mul(mx.StopGradient(x)).Sum() })(x))
}

// modules runs the rows of the Modules and training table.
func modules() {
	mx.Seed(0)
	model := &MLP{Hidden: nn.NewLinear(4, 8, true), Out: nn.NewLinear(8, 1, true)}
	row("parameters", len(tree.Flatten(nn.Parameters(model))), " arrays, ", nn.CountParams(nn.Parameters(model)), " values")
	must(nn.Freeze(model.Hidden, true, false))
	row("freeze", nn.CountParams(nn.TrainableParameters(model)), " trainable")
	must(nn.Unfreeze(model, true, false))
	opt := optim.NewAdamW(optim.Constant(1e-2), optim.AdamConfig{})
	lossAndGrad := nn.ValueAndGrad(model, lossFn)
	xs := mx.Normal([]int{32, 4}, 0, 1, mx.Float32, mx.Key(1))
	batch := [2]*mx.Array{xs, xs.Sum(1).Reshape(32, 1)}
	var first, last float64
	for step := range 100 {
		loss, grads := lossAndGrad(model, batch)
		grads, _ = optim.ClipGradNorm(grads, 1.0)
		opt.Update(model, grads)
		mx.Eval(loss, nn.Parameters(model), opt.State())
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
	}
	row("training", fmt.Sprintf("loss %.3f -> %.3f in 100 steps", first, last))
	dir, err := os.MkdirTemp("", "mlxgo-rosetta-")
	must(err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "w.safetensors")
	must(nn.SaveWeights(model, path))
	w, _, err := mx.LoadSafetensors(path)
	must(err)
	must(nn.LoadWeights(model, w, true))
	row("save/load", len(w), " arrays round-tripped")
}

// languageModels runs the rows of the Language models table on the tiny Llama fixture.
func languageModels() {
	root, err := repoRoot()
	must(err)
	dir := filepath.Join(root, "mlxgo/lm/testdata/hf-tiny-llama/model")
	model, err := lm.Load(dir)
	must(err)
	tok, err := tokenizer.Load(dir)
	must(err)
	row("load model", model.Config.ModelType, ", ", nn.CountParams(model.Parameters()), " parameters")
	model.Freeze()
	cfg := lora.Config{NumLayers: 16, Rank: 8, Scale: 20, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}}
	_, err = lora.Apply(model, cfg)
	must(err)
	row("LoRA", nn.CountParams(model.TrainableParameters()), " trainable")
	out, err := os.MkdirTemp("", "mlxgo-rosetta-")
	must(err)
	defer os.RemoveAll(out)
	must(lora.SaveAdapters(out, model, lora.FromConfig(cfg)))
	must(lora.LoadAdapters(lm.MustLoad(dir), out))
	row("adapters", "saved and loaded")
	must(lora.Fuse(model))
	row("fuse", len(lora.Layers(model)), " LoRA layers left")
	prompt := "Reverse: alpha beta\nAnswer:"
	text, stats := generate.Text(model, tok, prompt, generate.Options{MaxTokens: 8}, nil)
	row("generate", stats.GeneratedTokens, " tokens, ", len(text) > 0)
}

// mistakes runs the rows of the Errors table: a panic for a shape mistake, an error for
// a missing file.
func mistakes() {
	func() {
		defer func() {
			var e *mx.Error
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.As(err, &e) {
					row("shape error", "panic: ", e.Op, ": ", e.Msg, " at ", filepath.Base(e.Caller))
				}
			}
		}()
		mx.Matmul(mx.Ones([]int{2, 3}, mx.Float32), mx.Ones([]int{2, 3}, mx.Float32))
	}()
	_, err := lm.Load("no/such/model")
	row("file error", "returned: ", err)
}

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod above the working directory: run from inside the repository")
		}
		d = parent
	}
}

// must stops the program on an error.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
