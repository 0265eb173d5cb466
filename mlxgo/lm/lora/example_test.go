package lora_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Freeze the base model, then adapt q_proj and v_proj of the last two blocks: only the
// LoRA factors are trainable.
func ExampleApply() {
	model := lm.MustLoad("../testdata/hf-tiny-llama/model")
	model.Freeze()
	paths, err := lora.Apply(model, lora.Config{NumLayers: 2, Rank: 4, Scale: 2,
		Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(paths[0])
	fmt.Println("trainable:", nn.CountParams(model.TrainableParameters()))
	// Output:
	// model.layers.0.self_attn.q_proj
	// trainable: 1792
}
