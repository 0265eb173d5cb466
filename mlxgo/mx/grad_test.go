package mx_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

var randArray = mxtest.RandArray

type gradCase = mxtest.GradCase

func gc(name string, shapes [][]int, lo, hi float64, f func([]*mx.Array) *mx.Array) gradCase {
	return gradCase{Name: name, Shapes: shapes, Lo: lo, Hi: hi, F: f}
}

func gradCases() []gradCase {
	un := func(name string, lo, hi float64, f func(*mx.Array) *mx.Array) gradCase {
		return gc(name, [][]int{{3, 4}}, lo, hi, func(x []*mx.Array) *mx.Array { return f(x[0]) })
	}
	bin := func(name string, lo, hi float64, f func(a, b any) *mx.Array) gradCase {
		return gc(name, [][]int{{2, 3, 4}, {3, 1}}, lo, hi, func(x []*mx.Array) *mx.Array { return f(x[0], x[1]) })
	}
	return []gradCase{
		bin("Add", -1, 1, mx.Add), bin("Subtract", -1, 1, mx.Subtract), bin("Multiply", -1, 1, mx.Multiply),
		bin("Divide", 0.5, 2, mx.Divide), bin("Maximum", -1, 1, mx.Maximum), bin("Minimum", -1, 1, mx.Minimum),
		bin("Power", 0.5, 2, mx.Power), bin("Atan2", 0.5, 2, mx.Atan2),
		un("Negative", -1, 1, mx.Negative), un("Exp", -1, 1, mx.Exp), un("Log", 0.5, 2, mx.Log),
		un("Log1p", 0, 1, mx.Log1p), un("Sqrt", 0.5, 2, mx.Sqrt), un("Rsqrt", 0.5, 2, mx.Rsqrt),
		un("Square", -1, 1, mx.Square), un("Abs", 0.2, 1, mx.Abs), un("Tanh", -1, 1, mx.Tanh),
		un("Sigmoid", -2, 2, mx.Sigmoid), un("Silu", -2, 2, mx.Silu), un("Gelu", -2, 2, mx.Gelu),
		un("GeluApprox", -2, 2, mx.GeluApprox), un("Cos", -2, 2, mx.Cos), un("Sin", -2, 2, mx.Sin),
		un("Erf", -1, 1, mx.Erf), un("Reciprocal", 0.5, 2, mx.Reciprocal),
		un("Clip", -1, 1, func(a *mx.Array) *mx.Array { return mx.Clip(a, -0.5, 0.5) }),
		un("Where", -1, 1, func(a *mx.Array) *mx.Array { return mx.Where(mx.Greater(a, 0), mx.Square(a), mx.Exp(a)) }),
		un("Sum", -1, 1, func(a *mx.Array) *mx.Array { return mx.Sum(a, []int{1}, false) }),
		un("Mean", -1, 1, func(a *mx.Array) *mx.Array { return mx.Mean(a, []int{0}, true) }),
		un("Max", -1, 1, func(a *mx.Array) *mx.Array { return mx.Max(a, []int{1}, false) }),
		un("Min", -1, 1, func(a *mx.Array) *mx.Array { return mx.Min(a, nil, false) }),
		un("Prod", 0.5, 1.5, func(a *mx.Array) *mx.Array { return mx.Prod(a, []int{1}, false) }),
		un("LogSumExp", -1, 1, func(a *mx.Array) *mx.Array { return mx.LogSumExp(a, []int{1}, false) }),
		un("Softmax", -1, 1, func(a *mx.Array) *mx.Array { return mx.Softmax(a, 0) }),
		un("LogSoftmax", -1, 1, func(a *mx.Array) *mx.Array { return mx.LogSoftmax(a, -1) }),
		un("Cumsum", -1, 1, func(a *mx.Array) *mx.Array { return mx.Cumsum(a, 1, false, true) }),
		un("CumsumRevExcl", -1, 1, func(a *mx.Array) *mx.Array { return mx.Cumsum(a, 0, true, false) }),
		un("Reshape", -1, 1, func(a *mx.Array) *mx.Array { return mx.Reshape(a, 2, 6).Mul(mx.Arange(0, 6, 1)) }),
		un("Transpose", -1, 1, func(a *mx.Array) *mx.Array { return mx.Transpose(a).Mul(mx.Arange(0, 3, 1)) }),
		un("SwapAxesExpand", -1, 1, func(a *mx.Array) *mx.Array { return mx.SwapAxes(mx.ExpandDims(a, 0), 0, 2) }),
		un("Squeeze", -1, 1, func(a *mx.Array) *mx.Array { return mx.Squeeze(mx.Reshape(a, 3, 1, 4), 1) }),
		un("BroadcastTo", -1, 1, func(a *mx.Array) *mx.Array {
			return mx.BroadcastTo(a, 2, 3, 4).Mul(randArray(rand.New(rand.NewSource(9)), -1, 1, 2, 3, 4))
		}),
		un("SliceStep", -1, 1, func(a *mx.Array) *mx.Array { return mx.Slice(a, []int{2, 3}, []int{-4, -5}, []int{-1, -2}) }),
		un("SliceUpdate", -1, 1, func(a *mx.Array) *mx.Array {
			return mx.SliceUpdate(a, mx.Square(mx.SliceAxis(a, 1, 0, 2)), []int{0, 2}, []int{3, 4}, nil)
		}),
		un("Concatenate", -1, 1, func(a *mx.Array) *mx.Array { return mx.Concatenate([]*mx.Array{a, mx.Square(a)}, 1) }),
		un("Stack", -1, 1, func(a *mx.Array) *mx.Array { return mx.Stack([]*mx.Array{a, mx.Exp(a)}, 0) }),
		un("Split", -1, 1, func(a *mx.Array) *mx.Array { p := mx.Split(a, []int{1}, 1); return p[0].Mul(p[1].Sum(1).Reshape(3, 1)) }),
		un("Pad", -1, 1, func(a *mx.Array) *mx.Array { return mx.Pad(a, [][2]int{{1, 0}, {0, 2}}, 0.5).Square() }),
		un("Flatten", -1, 1, func(a *mx.Array) *mx.Array { return mx.Flatten(a, 0, 1).Square() }),
		un("Take", -1, 1, func(a *mx.Array) *mx.Array { return mx.Take(a, mx.FromSlice([]int32{2, 0, 2, -1}), 1) }),
		un("TakeAlongAxis", -1, 1, func(a *mx.Array) *mx.Array {
			return mx.TakeAlongAxis(a, mx.FromSlice([]int32{1, 3, 0}, 3, 1), 1)
		}),
		un("AsType", -1, 1, func(a *mx.Array) *mx.Array { return mx.AsType(mx.AsType(a, mx.Float16), mx.Float32).Mul(a) }),
		gc("Matmul", [][]int{{2, 3, 4}, {4, 5}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.Matmul(x[0], x[1]) }),
		gc("MatmulBatchBroadcast", [][]int{{2, 1, 3, 4}, {3, 4, 2}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.Matmul(x[0], x[1]) }),
		gc("MatmulTransposed", [][]int{{3, 4}, {5, 4}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.Matmul(x[0], x[1].T()) }),
		gc("Addmm", [][]int{{5}, {3, 4}, {4, 5}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.Addmm(x[0], x[1], x[2], 0.5, 2) }),
		gc("RMSNorm", [][]int{{2, 3, 8}, {8}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.RMSNorm(x[0], x[1], 1e-5) }),
		gc("RMSNormGrad", [][]int{{2, 3, 8}, {8}}, -1, 1, func(x []*mx.Array) *mx.Array {
			f := func(p []*mx.Array) []*mx.Array {
				return []*mx.Array{mx.Sum(mx.Square(mx.RMSNorm(p[0], p[1], 1e-5)), nil, false)}
			}
			_, g := mx.VJP(f, x, []*mx.Array{mx.Scalar(1)})
			// The mean of the weight gradient's squares, not their sum: a value of
			// about 340 put float32 rounding (2e-5 per evaluation) at the check's
			// tolerance for the smallest derivatives; about 40 keeps it clear.
			return mx.Add(mx.Sum(g[0], nil, false), mx.Mean(mx.Square(g[1]), nil, false))
		}),
		gc("LayerNorm", [][]int{{3, 8}, {8}, {8}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.LayerNorm(x[0], x[1], x[2], 1e-5) }),
		gc("RoPE", [][]int{{2, 5, 8}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.RoPE(x[0], 8, false, 10000, 1, 3, nil) }),
		gc("RoPETraditional", [][]int{{2, 5, 8}}, -1, 1, func(x []*mx.Array) *mx.Array { return mx.RoPE(x[0], 4, true, 500, 0.5, 0, nil) }),
		gc("SDPA-GQA-causal", [][]int{{1, 4, 3, 4}, {1, 2, 5, 4}, {1, 2, 5, 4}}, -1, 1, func(x []*mx.Array) *mx.Array {
			return mx.ScaledDotProductAttention(x[0], x[1], x[2], 0.5, "causal")
		}),
		gc("SDPA-nomask", [][]int{{2, 2, 3, 4}, {2, 1, 5, 4}, {2, 1, 5, 3}}, -1, 1, func(x []*mx.Array) *mx.Array {
			return mx.ScaledDotProductAttention(x[0], x[1], x[2], 0.7, nil)
		}),
		gc("SDPA-grad", [][]int{{1, 4, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}}, -1, 1, func(x []*mx.Array) *mx.Array {
			f := func(p []*mx.Array) []*mx.Array {
				return []*mx.Array{mx.Sum(mx.Square(mx.ScaledDotProductAttention(p[0], p[1], p[2], 0.5, "causal")), nil, false)}
			}
			_, g := mx.VJP(f, x, []*mx.Array{mx.Scalar(1)})
			return mx.Add(mx.Sum(mx.Square(g[0]), nil, false), mx.Add(mx.Sum(g[1], nil, false), mx.Sum(mx.Square(g[2]), nil, false)))
		}),
		gc("SDPA-additive", [][]int{{1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}, {3, 3}}, -1, 1, func(x []*mx.Array) *mx.Array {
			return mx.ScaledDotProductAttention(x[0], x[1], x[2], 0.5, x[3])
		}),
		gc("SiluGrad", [][]int{{3, 4}}, -2, 2, func(x []*mx.Array) *mx.Array {
			return mx.GradOf(func(a *mx.Array) *mx.Array { return mx.Sum(mx.Square(mx.Silu(a)), nil, false) })(x[0])
		}),
		gc("Checkpoint", [][]int{{3, 4}, {4, 4}}, -1, 1, func(x []*mx.Array) *mx.Array {
			f := mx.Checkpoint(func(in []*mx.Array) *mx.Array { return mx.Tanh(mx.Matmul(in[0], in[1])).Exp() })
			return f(x)
		}),
	}
}

// TestVJPFiniteDifferences checks every differentiable op's gradient against central
// finite differences of a random projection of its output, on every backend.
func TestVJPFiniteDifferences(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) { mxtest.CheckGrads(t, gradCases()) })
}

func TestJVPMatchesVJP(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		x := randArray(r, -1, 1, 3, 4)
		w := randArray(r, -1, 1, 4, 2)
		f := func(p []*mx.Array) []*mx.Array { return []*mx.Array{mx.Tanh(mx.Matmul(p[0], w))} }
		tan := randArray(r, -1, 1, 3, 4)
		_, jv := mx.JVP(f, []*mx.Array{x}, []*mx.Array{tan})
		// <J t, u> == <t, Jᵀ u>
		u := randArray(r, -1, 1, 3, 2)
		_, vj := mx.VJP(f, []*mx.Array{x}, []*mx.Array{u})
		lhs := mx.Sum(mx.Multiply(jv[0], u), nil, false).Item()
		rhs := mx.Sum(mx.Multiply(tan, vj[0]), nil, false).Item()
		if math.Abs(lhs-rhs) > 1e-4 {
			t.Fatalf("<Jt,u>=%v but <t,Jᵀu>=%v", lhs, rhs)
		}
	})
}

func TestSecondOrderGrad(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		// d²/dx² x³ = 6x
		x := mx.FromSlice([]float32{1.5, -2})
		g := mx.GradOf(func(x *mx.Array) *mx.Array { return mx.Sum(mx.Power(x, 3.0), nil, false) })
		gg := mx.GradOf(func(x *mx.Array) *mx.Array { return mx.Sum(g(x), nil, false) })
		got := gg(x).Float32s()
		if math.Abs(float64(got[0])-9) > 1e-4 || math.Abs(float64(got[1])+12) > 1e-4 {
			t.Fatalf("second derivative = %v, want [9 -12]", got)
		}
	})
}

func TestValueAndGradPytreeAux(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		params := map[string]any{"w": mx.FromSlice([]float32{1, 2, 3}), "layers": []any{map[string]any{"b": mx.Scalar(0.5)}}}
		x := mx.FromSlice([]float32{1, 1, 2})
		vg := mx.ValueAndGrad(func(args ...any) any {
			p := args[0].(map[string]any)
			w := p["w"].(*mx.Array)
			b := p["layers"].([]any)[0].(map[string]any)["b"].(*mx.Array)
			y := mx.Add(mx.Multiply(w, args[1].(*mx.Array)), b)
			return []any{mx.Sum(mx.Square(y), nil, false), y}
		})
		v, g := vg(params, x)
		loss := v.([]any)[0].(*mx.Array).Item()
		if loss != 1.5*1.5+2.5*2.5+6.5*6.5 {
			t.Fatalf("loss %v", loss)
		}
		gp := g.(map[string]any)
		gw := gp["w"].(*mx.Array).Float32s()
		want := []float32{2 * 1.5 * 1, 2 * 2.5 * 1, 2 * 6.5 * 2}
		for i := range want {
			if gw[i] != want[i] {
				t.Fatalf("grad w = %v, want %v", gw, want)
			}
		}
		gb := gp["layers"].([]any)[0].(map[string]any)["b"].(*mx.Array).Item()
		if gb != 2*(1.5+2.5+6.5) {
			t.Fatalf("grad b = %v", gb)
		}
		// argnums: gradient with respect to x only
		_, gx := mx.ValueAndGrad(func(args ...any) any {
			return mx.Sum(mx.Multiply(args[0].(*mx.Array), args[1].(*mx.Array)), nil, false)
		}, 1)(mx.FromSlice([]float32{4, 5}), mx.FromSlice([]float32{1, 1}))
		if fmt.Sprint(gx.(*mx.Array).Float32s()) != "[4 5]" {
			t.Fatalf("grad wrt arg 1 = %v", gx)
		}
	})
}

func TestStopGradient(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		x := mx.FromSlice([]float32{3, -2})
		g := mx.GradOf(func(x *mx.Array) *mx.Array { return mx.Sum(x.Mul(mx.StopGradient(x)), nil, false) })(x)
		if fmt.Sprint(g.Float32s()) != "[3 -2]" {
			t.Fatalf("grad of x*stop(x) = %v, want x", g.Float32s())
		}
	})
}
