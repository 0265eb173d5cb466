package cpu

import (
	"math"
	"math/rand/v2"
	"runtime"
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
// traditional rotations included. On two threads, 3×1000 rows are cut in
// the middle of a head's positions.
func TestRoPEReadsTransposedRows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	testRoPETransposed(t, 2, 300)
	testRoPETransposed(t, 1, 1000)
}

func testRoPETransposed(t *testing.T, B, L int) {
	const H, D = 3, 16
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

// TestRoPETables checks the cached cos/sin tables: the values at each
// position, one table shared by equal parameters, distinct ones for another
// offset or direction, and a cache that stays bounded.
func TestRoPETables(t *testing.T) {
	p := backend.RoPE{Dims: 4, InvFreq: []float32{1, 0.01}, Scale: 0.5, Offset: 3}
	cos, sin := ropeTable(p, 5)
	for tt := 0; tt < 5; tt++ {
		for i, f := range p.InvFreq {
			s, c := math.Sincos(float64(float32(3+tt) * 0.5 * f))
			if cos[tt*2+i] != float32(c) || sin[tt*2+i] != float32(s) {
				t.Fatalf("table at t=%d, i=%d: cos %v sin %v, want %v %v", tt, i, cos[tt*2+i], sin[tt*2+i], c, s)
			}
		}
	}
	if c2, _ := ropeTable(p, 5); &c2[0] != &cos[0] {
		t.Error("equal parameters made a second table")
	}
	inv := p
	inv.Inverse = true
	if _, s := ropeTable(inv, 5); s[3] != -sin[3] {
		t.Errorf("inverse sin %v, want %v", s[3], -sin[3])
	}
	p.Offset = 4
	if c, _ := ropeTable(p, 5); c[0] != cos[2] {
		t.Errorf("offset 4's first row %v, want offset 3's second %v", c[0], cos[2])
	}
	for off := 0; off < 2*ropeCacheMax; off++ {
		p.Offset = off
		ropeTable(p, 1)
	}
	if n := len(ropeCache.tables); n > ropeCacheMax {
		t.Errorf("%d tables cached, want at most %d", n, ropeCacheMax)
	}
}

// TestRoPEVec: the vector rotation is bit for bit the float32 loop (each
// product rounded, then the sum) at every length 0–70, with its tail, and in
// place (rope writes a fresh output, but the kernel must not read what it
// wrote).
func TestRoPEVec(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n <= 70; n++ {
		x1, x2, c, s := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range c {
			x1[i], x2[i] = float32(r.NormFloat64()*10), float32(r.NormFloat64())
			a := r.Float64() * 100
			c[i], s[i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
		o1, o2 := make([]float32, n), make([]float32, n)
		ropeVec(o1, o2, x1, x2, c, s)
		p1, p2 := slices.Clone(x1), slices.Clone(x2)
		ropeVec(p1, p2, p1, p2, c, s)
		for i := range c {
			a, b := x1[i]*c[i], x2[i]*s[i]
			w1 := a - b
			a, b = x1[i]*s[i], x2[i]*c[i]
			w2 := a + b
			for _, g := range [][2]float32{{o1[i], o2[i]}, {p1[i], p2[i]}} {
				if math.Float32bits(g[0]) != math.Float32bits(w1) || math.Float32bits(g[1]) != math.Float32bits(w2) {
					t.Fatalf("n=%d [%d]: %v %v, want %v %v", n, i, g[0], g[1], w1, w2)
				}
			}
		}
	}
}
