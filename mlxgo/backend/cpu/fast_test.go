package cpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// floatNode returns a float32 node over the values of x with the given layout.
func floatNode(x []float32, shape, strides []int, offset int) *node {
	b := Alloc(4 * len(x))
	copy(viewAs[float32](b.HostBytes()), x)
	n := &node{Shape: shape, Dtype: backend.Float32}
	n.SetView(b, strides, offset)
	return n
}

// TestRoPEReadsTransposedRows applies RoPE to the (B, H, L, D) transpose of a
// (B, L, H, D) array, read in place, and to its row-major copy, partial and
// traditional rotations included.
func TestRoPEReadsTransposedRows(t *testing.T) {
	const B, L, H, D = 2, 300, 3, 16
	r := rand.New(rand.NewPCG(7, 8))
	x := randVec(r, B*L*H*D, -2, 2, false)
	view := floatNode(x, []int{B, H, L, D}, []int{L * H * D, D, H * D, 1}, 0)
	flat := floatNode(floats(view), []int{B, H, L, D}, nil, 0)
	for _, p := range []backend.RoPE{
		{Dims: D, InvFreq: []float32{1, .5, .25, .125, .06, .03, .01, .005}, Scale: 1, Offset: 3},
		{Dims: 8, Traditional: true, InvFreq: []float32{1, .1, .01, .001}, Scale: 0.5, Inverse: true},
	} {
		a, b := &node{Shape: view.Shape, Dtype: backend.Float32}, &node{Shape: view.Shape, Dtype: backend.Float32}
		rope(p, []*node{view}, a)
		rope(p, []*node{flat}, b)
		if !slices.Equal(floats(a), floats(b)) {
			t.Fatalf("%+v: RoPE of the transposed view differs from RoPE of its copy", p)
		}
	}
}
