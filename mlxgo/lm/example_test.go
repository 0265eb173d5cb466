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
