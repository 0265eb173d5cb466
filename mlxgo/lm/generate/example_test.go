package generate_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
)

// Greedy decoding with a KV cache; the ids equal transformers' for the same prompt.
func ExampleTokens() {
	model := lm.MustLoad("../testdata/hf-tiny-llama/model")
	ids, _ := generate.Tokens(model, []int{42, 71, 303, 81, 300, 278, 78, 70}, generate.Options{MaxTokens: 4, IgnoreEOS: true}, nil)
	fmt.Println(ids)
	// Output: [388 450 328 505]
}
