package cpu

import (
	"math"
	"math/rand/v2"
	"runtime"
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

// TestBinaryVec checks the vector Add, Subtract and Multiply of floatVV, and of
// floatVS by a scalar, against the float32 operation element by element (bit
// for bit: no fused multiply-add), at every length around the kernels' blocks
// of 8 and 32, in place or not, and that other kinds fall back to the loops.
func TestBinaryVec(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []backend.BinaryKind{backend.Add, backend.Subtract, backend.Multiply} {
		for n := 0; n <= 70; n++ {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = float32(r.NormFloat64()*100), float32(r.NormFloat64())
			}
			want := make([]float32, n)
			for i := range want {
				want[i] = applyF(k, x[i], y[i])
			}
			got := make([]float32, n)
			floatVV(k, got, x, y)
			inPlace := slices.Clone(x)
			floatVV(k, inPlace, inPlace, y)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(inPlace[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v, n=%d, [%d]: %v (in place %v), want %v", k, n, i, got[i], inPlace[i], want[i])
				}
			}
			s := float32(r.NormFloat64())
			floatVS(k, got, x, s)
			for i := range want {
				if w := applyF(k, x[i], s); math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("%v by a scalar, n=%d, [%d]: %v, want %v", k, n, i, got[i], w)
				}
			}
		}
	}
	if binaryVec(backend.Divide, make([]float32, 8), make([]float32, 8), make([]float32, 8)) {
		t.Error("binaryVec took Divide")
	}
	if haveVec && !binaryVec(backend.Add, make([]float32, 8), make([]float32, 8), make([]float32, 8)) {
		t.Error("binaryVec did not take Add with AVX2")
	}
}

// TestBinaryBroadcastLoops checks broadcast binary ops against an element-by-element
// reference where collapseDims merges axes (a contiguous array and a scalar become one
// row), where rows longer than twice the grain are cut between threads, and where axes
// cannot merge (a transposed view, a broadcast middle axis), on 1 and 4 threads.
func TestBinaryBroadcastLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	dense := func(shape ...int) *node {
		return floatNode(randVec(r, backend.Numel(shape), -3, 3, false), shape, nil, 0)
	}
	tr := randVec(r, 50*3000, -3, 3, false)
	cases := []struct {
		name string
		a, b *node
		out  []int
	}{
		{"array times scalar", dense(3, 70000), dense(), []int{3, 70000}},
		{"optimizer-sized times scalar", dense(576, 8), dense(), []int{576, 8}},
		{"scalar minus array", dense(), dense(2, 3, 40000), []int{2, 3, 40000}},
		{"per-row values over long rows", dense(2, 140000), dense(2, 1), []int{2, 140000}},
		{"row over rows", dense(3, 1, 5), dense(3, 6, 5), []int{3, 6, 5}},
		{"transposed view", floatNode(tr, []int{3000, 50}, []int{1, 3000}, 0), dense(50), []int{3000, 50}},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 4} {
		runtime.GOMAXPROCS(procs)
		for _, c := range cases {
			for _, k := range []backend.BinaryKind{backend.Add, backend.Subtract, backend.Multiply, backend.Divide} {
				got := &node{Shape: c.out, Dtype: backend.Float32}
				binary(backend.Binary{Kind: k}, []*node{c.a, c.b}, got)
				x, y, o := floats(c.a), floats(c.b), floats(got)
				sa, sb := bcastStrides(c.a.Shape, c.out), bcastStrides(c.b.Shape, c.out)
				idx := make([]int, len(c.out))
				for i := range o {
					ia, ib := 0, 0
					for d := range idx {
						ia += idx[d] * sa[d]
						ib += idx[d] * sb[d]
					}
					if want := applyF(k, x[ia], y[ib]); o[i] != want {
						t.Fatalf("%d threads, %s, %v: element %d (%v) is %v, want %v", procs, c.name, k, i, idx, o[i], want)
					}
					for d := len(idx) - 1; d >= 0; d-- {
						if idx[d]++; idx[d] < c.out[d] {
							break
						}
						idx[d] = 0
					}
				}
			}
		}
	}
}

// TestCollapseDims checks which axes merge.
func TestCollapseDims(t *testing.T) {
	for _, c := range []struct{ shape, sa, sb, want []int }{
		{[]int{576, 8}, []int{8, 1}, []int{0, 0}, []int{4608}},
		{[]int{4, 128, 576}, []int{128 * 576, 576, 1}, []int{0, 0, 1}, []int{512, 576}},
		{[]int{2, 3, 5}, []int{15, 5, 1}, []int{0, 1, 0}, []int{2, 3, 5}},
		{[]int{3000, 50}, []int{1, 3000}, []int{0, 1}, []int{3000, 50}},
		{[]int{7}, []int{1}, []int{0}, []int{7}},
	} {
		got, _, _ := collapseDims(c.shape, c.sa, c.sb)
		if !slices.Equal(got, c.want) {
			t.Errorf("collapseDims(%v, %v, %v) = %v, want %v", c.shape, c.sa, c.sb, got, c.want)
		}
	}
}
