package nn_test

import (
	"fmt"
	"slices"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestQuantizedEmbedding: looking ids up in a quantized table gives exactly the rows of
// the dequantized table, and as_linear gives the dequantized table's product within
// float32 rounding, at a word-straddling width (3 bits) and a plain one (4).
func TestQuantizedEmbedding(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		e := &nn.Embedding{Weight: mx.Normal([]int{10, 64}, 0, 1, mx.Float32, mx.Key(3))}
		ids := mx.FromSlice([]int32{7, 0, 7, 9, 2, 3}, 2, 3)
		x := mx.Normal([]int{2, 64}, 0, 1, mx.Float32, mx.Key(4))
		for _, bits := range []int{3, 4} {
			q := nn.QuantizeEmbedding(e, 32, bits)
			d := q.Dequantized()
			if v, dims := q.Dims(); v != 10 || dims != 64 {
				t.Fatalf("Dims() = %d, %d", v, dims)
			}
			got, want := q.Forward(ids), d.Forward(ids)
			if !slices.Equal(got.Shape(), []int{2, 3, 64}) || string(got.Bytes()) != string(want.Bytes()) {
				t.Fatalf("bits %d: quantized lookup %v differs from the dequantized table's", bits, got.Shape())
			}
			diff := mx.Max(mx.Abs(mx.Subtract(q.AsLinear(x), d.AsLinear(x))), nil, false).Item()
			if diff > 1e-5 {
				t.Fatalf("bits %d: as_linear differs by %g", bits, diff)
			}
			if len(nn.TrainableParameters(q)) != 0 {
				t.Fatal("a quantized embedding must be frozen")
			}
		}
	})
}

// ExampleQuantizeEmbedding quantizes a table to 4 bits in groups of 32 and looks up ids.
func ExampleQuantizeEmbedding() {
	e := &nn.Embedding{Weight: mx.Normal([]int{100, 64}, 0, 1, mx.Float32, mx.Key(0))}
	q := nn.QuantizeEmbedding(e, 32, 4)
	h := q.Forward(mx.FromSlice([]int32{1, 2, 3}, 1, 3))
	fmt.Println(q.Weight.Shape(), q.Scales.Shape(), h.Shape())
	// Output: [100 8] [100 2] [1 3 64]
}
