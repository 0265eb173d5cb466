package cpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// TestBinaryReadsStridedRowsInPlace applies binary ops to a transposed view, a
// slice and a broadcast view, all with unit-stride rows and so read in place,
// and to row-major copies of them, and compares the results bit for bit.
func TestBinaryReadsStridedRowsInPlace(t *testing.T) {
	const B, L, H, D = 2, 40, 3, 24
	r := rand.New(rand.NewPCG(11, 12))
	buf := randVec(r, B*L*H*D, -3, 3, false)
	views := []*node{
		floatNode(buf, []int{B, H, L, D}, []int{L * H * D, D, H * D, 1}, 0),     // transpose
		floatNode(buf, []int{B, H, L, D - 4}, []int{L * H * D, D, H * D, 1}, 2), // and a slice of the last axis
		floatNode(buf[:H*D], []int{B, H, L, D}, []int{0, D, 0, 1}, 0),           // broadcast rows
		floatNode(randVec(r, B*H*L*D, -3, 3, false), []int{B, H, L, D}, nil, 0), // row-major
		floatNode(randVec(r, D, -3, 3, false), []int{D}, nil, 0),                // a row to broadcast
		floatNode(buf[5:6], []int{B, H, L, 1}, []int{0, 0, 0, 1}, 0),            // one value everywhere
	}
	pairs := [][2]int{{0, 3}, {3, 0}, {0, 2}, {2, 0}, {0, 4}, {4, 0}, {5, 0}, {0, 5}, {1, 1}}
	for _, k := range []backend.BinaryKind{backend.Add, backend.Subtract, backend.Multiply, backend.Divide, backend.Maximum} {
		for _, pr := range pairs {
			a, b := views[pr[0]], views[pr[1]]
			shape := a.Shape
			if len(b.Shape) > len(shape) || (len(b.Shape) == len(shape) && b.Size() > a.Size()) {
				shape = b.Shape
			}
			if pr[0] == 1 || pr[1] == 1 {
				shape = views[1].Shape
			}
			got := &node{Shape: shape, Dtype: backend.Float32}
			binary(backend.Binary{Kind: k}, []*node{a, b}, got)
			ca := floatNode(floats(a), a.Shape, nil, 0)
			cb := floatNode(floats(b), b.Shape, nil, 0)
			want := &node{Shape: shape, Dtype: backend.Float32}
			binary(backend.Binary{Kind: k}, []*node{ca, cb}, want)
			if !slices.Equal(floats(got), floats(want)) {
				t.Fatalf("%v of views %d and %d differs from the op on copies", k, pr[0], pr[1])
			}
		}
	}
}
