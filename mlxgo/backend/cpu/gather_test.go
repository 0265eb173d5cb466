package cpu

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// TestGatherStridedViews copies transposed and sliced views large enough to be split
// across cores and compares every element with its index computed directly.
func TestGatherStridedViews(t *testing.T) {
	src := make([]uint32, 6*50*70*3)
	for i := range src {
		src[i] = uint32(i)
	}
	cases := []struct {
		shape, strides []int
		offset         int
	}{
		{[]int{70, 50, 6}, []int{3, 70 * 3, 50 * 70 * 3}, 0}, // a permutation
		{[]int{6, 70, 50}, []int{50 * 70 * 3, 3, 70 * 3}, 1}, // inner stride 3, offset
		{[]int{6, 50, 60}, []int{50 * 70 * 3, 70 * 3, 1}, 5}, // slice: unit inner stride
		{[]int{7}, []int{2}, 4},
	}
	for _, c := range cases {
		a := &backend.Node{Shape: c.shape, Dtype: backend.Uint32, Strides: c.strides, Offset: c.offset}
		dst := make([]uint32, a.Size())
		gather(dst, src, a)
		idx := make([]int, len(c.shape))
		for o := range dst {
			p := c.offset
			for d := range idx {
				p += idx[d] * c.strides[d]
			}
			if dst[o] != src[p] {
				t.Fatalf("shape %v strides %v: element %d = %d, want %d", c.shape, c.strides, o, dst[o], src[p])
			}
			for d := len(idx) - 1; d >= 0; d-- {
				if idx[d]++; idx[d] < c.shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
}
