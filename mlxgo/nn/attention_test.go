package nn_test

import (
	"math"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestMultiHeadAttention checks one head-split attention against the same computation
// written out with plain matrix products and a float64 softmax.
func TestMultiHeadAttention(t *testing.T) {
	mx.Seed(4)
	a := nn.NewMultiHeadAttention(8, 2, 1, false)
	x := mx.Normal([]int{1, 3, 8}, 0, 1, mx.Float32, mx.Key(9))
	got := a.Forward(x, x, x, "causal").Float64s()
	q := mx.Matmul(x, a.QueryProj.Weight.T()).Float64s()
	k := mx.Matmul(x, a.KeyProj.Weight.T()).Float64s()
	v := mx.Matmul(x, a.ValueProj.Weight.T()).Float64s()
	heads := make([]float64, 3*8)
	for h := 0; h < 2; h++ {
		for i := 0; i < 3; i++ {
			var w []float64
			sum := 0.0
			for j := 0; j <= i; j++ {
				s := 0.0
				for d := 0; d < 4; d++ {
					s += q[i*8+h*4+d] * k[j*4+d]
				}
				e := math.Exp(s / 2)
				w = append(w, e)
				sum += e
			}
			for d := 0; d < 4; d++ {
				o := 0.0
				for j := range w {
					o += w[j] / sum * v[j*4+d]
				}
				heads[i*8+h*4+d] = o
			}
		}
	}
	want := mx.Matmul(mx.FromSlice(heads, 1, 3, 8), a.OutProj.Weight.T()).Float64s()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-5 {
			t.Fatalf("output %d = %v, want %v", i, got[i], want[i])
		}
	}
	if n := len(nn.Parameters(a)); n != 4 {
		t.Fatalf("%d projections in the parameter tree, want 4", n)
	}
}
