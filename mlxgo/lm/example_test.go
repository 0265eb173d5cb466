package lm_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Load a Hugging Face folder and compute next-token logits.
func ExampleLoad() {
	model, err := lm.Load("testdata/hf-tiny-llama/model")
	if err != nil {
		panic(err)
	}
	ids := mx.FromSlice([]int32{42, 71, 303}, 1, 3)
	logits := model.Forward(ids, nil) // lazy: nothing has run yet
	fmt.Println(model.Config.ModelType, logits.Shape(), logits.Evaluated())
	fmt.Println(mx.ArgMax(logits, -1, false).Shape())
	// Output:
	// llama [1 3 512] false
	// [1 3]
}

// Compute a half-precision checkpoint in the dtype the backend runs best: float32 on
// the CPU, while the config keeps the dtype the checkpoint is stored in. (No Output
// check: on the MLX backend the answer is bfloat16; TestComputeDtypeAccuracy checks it.)
func ExampleDefaultComputeDtype() {
	model := lm.MustLoad("testdata/hf-tiny-llama/model")
	if err := lm.SetDtype(model, mx.Bfloat16); err != nil { // as a bf16 checkpoint loads
		panic(err)
	}
	dt := lm.DefaultComputeDtype(model)
	if err := lm.SetComputeDtype(model, dt); err != nil {
		panic(err)
	}
	fmt.Println("stored in", model.Config.Dtype, "computing in", dt) // on the CPU: stored in bfloat16 computing in float32
}
