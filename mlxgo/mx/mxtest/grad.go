package mxtest

import (
	"math"
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// RandArray returns a float32 array of the shape with values uniform in [lo, hi).
func RandArray(r *rand.Rand, lo, hi float64, shape ...int) *mx.Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return mx.FromSlice(v, shape...)
}

// GradCase is one row of a gradient table: F applied to random inputs of the Shapes,
// with values in [Lo, Hi).
type GradCase struct {
	Name   string
	Shapes [][]int
	Lo, Hi float64
	F      func(x []*mx.Array) *mx.Array
}

// CheckGrads checks, as a subtest per case, the VJP of every case against central
// finite differences of a random projection of its output, accumulated in float64.
func CheckGrads(t *testing.T, cases []GradCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { checkGrad(t, c) })
	}
}

func checkGrad(t *testing.T, c GradCase) {
	r := rand.New(rand.NewSource(1))
	xs := make([]*mx.Array, len(c.Shapes))
	for i, s := range c.Shapes {
		xs[i] = RandArray(r, c.Lo, c.Hi, s...)
	}
	out := c.F(xs)
	w := RandArray(r, -1, 1, out.Shape()...)
	wv := w.Float64s()
	loss := func(in []*mx.Array) *mx.Array { return mx.Sum(mx.Multiply(c.F(in), w), nil, false) }
	_, grads := mx.VJP(func(p []*mx.Array) []*mx.Array { return []*mx.Array{loss(p)} }, xs, []*mx.Array{mx.Scalar(1)})
	for i := range xs {
		g := grads[i].Float64s()
		base := xs[i].Float64s()
		for j := range base {
			const h = 1e-3
			eval := func(d float64) float64 {
				p := append([]float64(nil), base...)
				p[j] += d
				in := append([]*mx.Array(nil), xs...)
				in[i] = mx.FromSlice(p, xs[i].Shape()...)
				v := 0.0
				for k, o := range c.F(in).Float64s() {
					v += o * wv[k]
				}
				return v
			}
			fd := (eval(h) - eval(-h)) / (2 * h)
			if math.Abs(fd-g[j]) > 2e-2*math.Max(1, math.Abs(fd)) {
				t.Fatalf("input %d element %d: vjp %.6f, finite difference %.6f", i, j, g[j], fd)
			}
		}
	}
}
