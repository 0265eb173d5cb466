package nn_test

import (
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// swigluGrads returns SwiGLU's (or the composite's) gradients for cotangent g.
func swigluGrads(f func(a, b *mx.Array) *mx.Array, gate, up, g *mx.Array) []*mx.Array {
	_, v := mx.VJP(func(p []*mx.Array) []*mx.Array { return []*mx.Array{f(p[0], p[1])} },
		[]*mx.Array{gate, up}, []*mx.Array{g})
	return v
}

func composite(a, b *mx.Array) *mx.Array { return mx.Multiply(mx.Silu(a), b) }

// TestSwiGLUMatchesComposite checks SwiGLU and its gradients against Silu and Multiply
// composed, on arrays that the kernels cut into blocks and threads (66 000 elements),
// and on a small one.
func TestSwiGLUMatchesComposite(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(5))
		for _, shape := range [][]int{{2, 33000}, {3, 1, 7}} {
			gate, up, g := mxtest.RandArray(r, -6, 6, shape...), mxtest.RandArray(r, -2, 2, shape...), mxtest.RandArray(r, -1, 1, shape...)
			mxtest.AssertClose(t, "SwiGLU", nn.SwiGLU(gate, up), composite(gate, up), 1e-6)
			got, want := swigluGrads(nn.SwiGLU, gate, up, g), swigluGrads(composite, gate, up, g)
			mxtest.AssertClose(t, "gradient of gate", got[0], want[0], 1e-6)
			mxtest.AssertClose(t, "gradient of up", got[1], want[1], 1e-6)
		}
	})
}

// TestSwiGLUGradients checks SwiGLU against finite differences, first and second order.
func TestSwiGLUGradients(t *testing.T) {
	cases := []mxtest.GradCase{
		{Name: "SwiGLU", Shapes: [][]int{{2, 3}, {2, 3}}, Lo: -3, Hi: 3, F: func(x []*mx.Array) *mx.Array {
			return nn.SwiGLU(x[0], x[1])
		}},
		{Name: "SwiGLUGrad", Shapes: [][]int{{2, 3}, {2, 3}, {2, 3}}, Lo: -3, Hi: 3, F: func(x []*mx.Array) *mx.Array {
			d := swigluGrads(nn.SwiGLU, x[0], x[1], x[2])
			return mx.Add(d[0], mx.Multiply(d[1], 2))
		}},
	}
	mxtest.ForEachBackend(t, func(t *testing.T) { mxtest.CheckGrads(t, cases) })
}

// TestSwiGLUVmap checks SwiGLU's batching rules: values and gradients vmapped over an
// axis of gate (up shared) equal those computed one slice at a time.
func TestSwiGLUVmap(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(6))
		gates := mxtest.RandArray(r, -3, 3, 4, 2, 5) // mapped over axis 0
		up := mxtest.RandArray(r, -1, 1, 2, 5)
		f := func(args ...any) any {
			return mx.Sum(mx.Square(nn.SwiGLU(args[0].(*mx.Array), args[1].(*mx.Array))), nil, false)
		}
		axes := []int{0, mx.Unmapped}
		vals := mx.Vmap(f, axes, nil)(gates, up).(*mx.Array)
		grads := mx.Vmap(mx.Grad(f), axes, nil)(gates, up).(*mx.Array)
		var wantV, wantG []*mx.Array
		for i := range 4 {
			wantV = append(wantV, f(gates.Index(i), up).(*mx.Array))
			wantG = append(wantG, mx.Grad(f)(gates.Index(i), up).(*mx.Array))
		}
		mxtest.AssertClose(t, "values", vals, mx.Stack(wantV, 0), 1e-6)
		mxtest.AssertClose(t, "gradients", grads, mx.Stack(wantG, 0), 1e-5)
	})
}

// TestSwiGLUFallsBack checks that inputs the op does not take (broadcasting, two
// dtypes) get the composite's result.
func TestSwiGLUFallsBack(t *testing.T) {
	gate := mx.FromSlice([]float32{-1, 0.5, 2, 3, -4, 1}, 2, 3)
	up := mx.FromSlice([]float32{1, 2, 3}, 3)
	mxtest.AssertClose(t, "broadcast", nn.SwiGLU(gate, up), composite(gate, up), 0)
	up16 := mx.AsType(mx.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3), mx.Float16)
	mxtest.AssertClose(t, "two dtypes", nn.SwiGLU(gate, up16), composite(gate, up16), 0)
}

// TestSwiGLUIsOneKernel shows the op and its gradient enter the graph as nn's own
// descriptors, one array for both gradients.
func TestSwiGLUIsOneKernel(t *testing.T) {
	gate := mx.FromSlice([]float32{-1, 0.5, 2, 3, -4, 1}, 2, 3)
	up := mx.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if _, ok := nn.SwiGLU(gate, up).Primitive().Op().(nn.SwiGLUOp); !ok {
		t.Fatal("SwiGLU is not an nn.SwiGLUOp")
	}
	d := swigluGrads(nn.SwiGLU, gate, up, mx.OnesLike(gate))
	var roots []*mx.Array
	for _, a := range d {
		for a.Primitive() != nil {
			if _, ok := a.Primitive().Op().(nn.SwiGLUGradOp); ok {
				roots = append(roots, a)
				break
			}
			a = a.Inputs()[0]
		}
	}
	if len(roots) != 2 || roots[0] != roots[1] {
		t.Fatalf("the two gradients reach %d SwiGLUGrad arrays, want one shared", len(roots))
	}
}
