package mx_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

// vmapTol is the tolerance of vmapped results against loops where they may differ by
// float32 rounding, |got − want| ≤ vmapTol·(1 + |want|): matrix products (a batched BLAS
// call may block the sums differently from per-slice calls) and fused normalisations
// whose parameters are mapped (the batched form is their composite of ordinary ops).
// Every other op must give the loop's values bit for bit (vmapTolFor).
const vmapTol = 2e-5

func vmapTolFor(name string) float64 {
	for _, s := range []string{"Matmul", "Addmm", "SDPA", "Norm", "Checkpoint"} {
		if strings.Contains(name, s) {
			return vmapTol
		}
	}
	return 0
}

// axisConfig says, per input, where the mapped axis goes (mx.Unmapped: not mapped).
type axisConfig struct {
	name string
	axes func(ranks []int) []int
}

func axisConfigs() []axisConfig {
	all := func(f func(i, rank int) int) func([]int) []int {
		return func(ranks []int) []int {
			out := make([]int, len(ranks))
			for i, r := range ranks {
				out[i] = f(i, r)
			}
			return out
		}
	}
	return []axisConfig{
		{"axis0", all(func(_, _ int) int { return 0 })},
		{"axis1", all(func(_, r int) int { return min(1, r) })},
		{"last", all(func(_, r int) int { return r })},
		// odd inputs unmapped, even ones mapped at their last axis (a single input stays mapped)
		{"none-mix", all(func(i, r int) int {
			if i%2 == 1 {
				return mx.Unmapped
			}
			return r
		})},
		// the first input unmapped, the others mapped at axis 0
		{"none-first", all(func(i, _ int) int {
			if i == 0 {
				return mx.Unmapped
			}
			return 0
		})},
	}
}

const vmapN = 3 // size of the mapped axis in the tests

// batchedInputs returns random inputs of c's shapes with a mapped axis of size vmapN
// inserted at axes[i] (unmapped inputs keep their shape).
func batchedInputs(r *rand.Rand, c gradCase, axes []int) []*mx.Array {
	ins := make([]*mx.Array, len(c.Shapes))
	for i, s := range c.Shapes {
		shape := append([]int(nil), s...)
		if axes[i] != mx.Unmapped {
			shape = append(shape[:axes[i]], append([]int{vmapN}, shape[axes[i]:]...)...)
		}
		ins[i] = randArray(r, c.Lo, c.Hi, shape...)
	}
	return ins
}

// slices returns the inputs of index b: each mapped input's slice along its axis.
func slicesAt(ins []*mx.Array, axes []int, b int) []*mx.Array {
	out := make([]*mx.Array, len(ins))
	for i, x := range ins {
		out[i] = x
		if axes[i] != mx.Unmapped {
			out[i] = mx.Squeeze(mx.SliceAxis(x, axes[i], b, b+1), axes[i])
		}
	}
	return out
}

// loopStack applies f to each index's slices and stacks the results along axis 0.
func loopStack(f func([]*mx.Array) []*mx.Array, ins []*mx.Array, axes []int) []*mx.Array {
	var per [][]*mx.Array
	for b := range vmapN {
		per = append(per, f(slicesAt(ins, axes, b)))
	}
	out := make([]*mx.Array, len(per[0]))
	for j := range out {
		var col []*mx.Array
		for _, p := range per {
			col = append(col, p[j])
		}
		out[j] = mx.Stack(col, 0)
	}
	return out
}

func caseRanks(c gradCase) []int {
	r := make([]int, len(c.Shapes))
	for i, s := range c.Shapes {
		r[i] = len(s)
	}
	return r
}

// TestVmapMatchesLoop checks every op of the gradient table under Vmap, for mapped axes
// first, second, last and mixes with unmapped inputs: the vmapped result equals f
// applied to each slice and stacked.
func TestVmapMatchesLoop(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(7))
		for _, c := range append(gradCases(), vmapOnlyCases()...) {
			for _, cfg := range axisConfigs() {
				axes := cfg.axes(caseRanks(c))
				if !anyMapped(axes) {
					continue
				}
				t.Run(c.Name+"/"+cfg.name, func(t *testing.T) {
					f := func(x []*mx.Array) []*mx.Array { return []*mx.Array{c.F(x)} }
					ins := batchedInputs(r, c, axes)
					got := mx.VmapArrays(f, axes, nil)(ins)
					want := loopStack(f, ins, axes)
					mxtest.AssertClose(t, "vmap", got[0], want[0], vmapTolFor(c.Name))
				})
			}
		}
	})
}

// vmapOnlyCases adds to the gradient table ops without gradients (integer results) and
// the mixes of mapped inputs with arrays the function closes over, which are unmapped.
func vmapOnlyCases() []gradCase {
	r := rand.New(rand.NewSource(13))
	w := randArray(r, -1, 1, 4, 5)
	c34 := randArray(r, -1, 1, 3, 4)
	k125, v125 := randArray(r, -1, 1, 1, 2, 5, 4), randArray(r, -1, 1, 1, 2, 5, 3)
	wq, sc, bi := mx.Quantize(randArray(r, -1, 1, 5, 64), 32, 4)
	un := func(name string, f func(*mx.Array) *mx.Array) gradCase {
		return gc(name, [][]int{{3, 4}}, -1, 1, func(x []*mx.Array) *mx.Array { return f(x[0]) })
	}
	return []gradCase{
		un("ArgMax", func(a *mx.Array) *mx.Array { return mx.ArgMax(a, 1, false) }),
		un("ArgMinKeep", func(a *mx.Array) *mx.Array { return mx.ArgMin(a, 0, true) }),
		un("CompareCumsumInt", func(a *mx.Array) *mx.Array { return mx.Cumsum(mx.Greater(a, c34), 1, false, true) }),
		un("MatmulClosedOverWeight", func(a *mx.Array) *mx.Array { return mx.Matmul(a, w) }),
		un("MatmulClosedOverLeft", func(a *mx.Array) *mx.Array { return mx.Matmul(c34, mx.Transpose(a)) }),
		un("WhereClosedOverCond", func(a *mx.Array) *mx.Array { return mx.Where(mx.Greater(c34, 0), a, c34) }),
		un("ConcatClosedOver", func(a *mx.Array) *mx.Array { return mx.Concatenate([]*mx.Array{c34, a}, 0) }),
		un("SliceUpdateClosedOverTarget", func(a *mx.Array) *mx.Array {
			return mx.SliceUpdate(c34, mx.SliceAxis(a, 0, 0, 2), []int{1, 0}, []int{3, 4}, nil)
		}),
		un("TakeMappedIndices", func(a *mx.Array) *mx.Array {
			return mx.Take(c34, mx.ArgMax(a, 1, false), 1)
		}),
		un("TakeAlongMappedIndices", func(a *mx.Array) *mx.Array {
			return mx.TakeAlongAxis(a, mx.ArgMax(mx.Multiply(a, c34), 1, true), 1)
		}),
		gc("QuantizedMatmul", [][]int{{3, 64}}, -1, 1, func(x []*mx.Array) *mx.Array {
			return mx.QuantizedMatmul(x[0], wq, sc, bi, true, 32, 4)
		}),
		gc("SDPA-mapped-queries", [][]int{{1, 4, 3, 4}}, -1, 1, func(x []*mx.Array) *mx.Array {
			return mx.ScaledDotProductAttention(x[0], k125, v125, 0.5, "causal")
		}),
		gc("SDPA-closed-over-bool-mask", [][]int{{1, 2, 3, 4}, {1, 2, 3, 4}}, -1, 1, func(x []*mx.Array) *mx.Array {
			mask := mx.LogicalOr(mx.Greater(mx.SliceAxis(c34, 1, 0, 3), 0), mx.Greater(mx.Eye(3, 3, 0), 0))
			return mx.ScaledDotProductAttention(x[0], x[1], x[1], 0.5, mask.Reshape(1, 1, 3, 3))
		}),
	}
}

func anyMapped(axes []int) bool {
	for _, a := range axes {
		if a != mx.Unmapped {
			return true
		}
	}
	return false
}

// lossOf turns a case into a scalar loss: its output against a fixed random projection.
func lossOf(c gradCase, proj *mx.Array) func(args ...any) any {
	return func(args ...any) any {
		x := make([]*mx.Array, len(args))
		for i, a := range args {
			x[i] = a.(*mx.Array)
		}
		return mx.Sum(mx.Multiply(c.F(x), proj), nil, false)
	}
}

func argnums(n int) []int {
	a := make([]int, n)
	for i := range a {
		a[i] = i
	}
	return a
}

func gradList(g any, n int) []*mx.Array {
	if n == 1 {
		return []*mx.Array{g.(*mx.Array)}
	}
	var out []*mx.Array
	for _, x := range g.([]any) {
		out = append(out, x.(*mx.Array))
	}
	return out
}

func toAny(xs []*mx.Array) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// TestVmapOfGrad checks per-example gradients, Vmap(Grad(loss)), of every op of the
// gradient table against the gradient of each slice's loss.
func TestVmapOfGrad(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(8))
		for _, c := range gradCases() {
			for _, cfg := range axisConfigs() {
				axes := cfg.axes(caseRanks(c))
				if !anyMapped(axes) {
					continue
				}
				t.Run(c.Name+"/"+cfg.name, func(t *testing.T) {
					zero := make([]*mx.Array, len(c.Shapes))
					for i, s := range c.Shapes {
						zero[i] = randArray(r, c.Lo, c.Hi, s...)
					}
					out := c.F(zero)
					proj := randArray(r, -1, 1, out.Shape()...)
					grad := mx.Grad(lossOf(c, proj), argnums(len(c.Shapes))...)
					f := func(x []*mx.Array) []*mx.Array { return gradList(grad(toAny(x)...), len(x)) }
					ins := batchedInputs(r, c, axes)
					got := mx.Vmap(grad, axes, nil)(toAny(ins)...)
					want := loopStack(f, ins, axes)
					for i, g := range gradList(got, len(ins)) {
						mxtest.AssertClose(t, fmt.Sprintf("grad %d", i), g, want[i], 1e-4)
					}
				})
			}
		}
	})
}

// TestGradOfVmap differentiates through a vmapped function: the gradient of a loss of
// Vmap(f) equals the gradient of the same loss of the stacked loop.
func TestGradOfVmap(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(9))
		for _, c := range gradCases() {
			axes := axisConfigs()[2].axes(caseRanks(c)) // mapped last
			t.Run(c.Name, func(t *testing.T) {
				f := func(x []*mx.Array) []*mx.Array { return []*mx.Array{c.F(x)} }
				ins := batchedInputs(r, c, axes)
				out := loopStack(f, ins, axes)[0]
				proj := randArray(r, -1, 1, out.Shape()...)
				loss := func(stacked func([]*mx.Array) []*mx.Array) func(args ...any) any {
					return func(args ...any) any {
						x := make([]*mx.Array, len(args))
						for i, a := range args {
							x[i] = a.(*mx.Array)
						}
						return mx.Sum(mx.Multiply(stacked(x)[0], proj), nil, false)
					}
				}
				vm := mx.VmapArrays(f, axes, nil)
				loop := func(x []*mx.Array) []*mx.Array { return loopStack(f, x, axes) }
				n := len(ins)
				got := gradList(mx.Grad(loss(vm), argnums(n)...)(toAny(ins)...), n)
				want := gradList(mx.Grad(loss(loop), argnums(n)...)(toAny(ins)...), n)
				for i := range got {
					mxtest.AssertClose(t, fmt.Sprintf("grad %d", i), got[i], want[i], 1e-4)
				}
			})
		}
	})
}

// TestVmapIndexing maps the indices of Take, TakeAlongAxis and their gradients
// (ScatterAdd, ScatterAddAlongAxis), alone and together with the indexed array,
// including negative indices.
func TestVmapIndexing(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(10))
		a := randArray(r, -1, 1, vmapN, 4, 5)
		idx := mx.FromSlice([]int32{2, -1, 0, 4, 1, 1, 3, 0, -2, 2, 2, 0}, vmapN, 2, 2) // mapped at 0
		along := mx.FromSlice([]int32{0, 3, 1, 2, 3, 3, 0, 0, 1, 1, 2, 3}, 4, vmapN, 1) // mapped at 1
		fns := map[string]func([]*mx.Array) []*mx.Array{
			"Take": func(x []*mx.Array) []*mx.Array { return []*mx.Array{mx.Take(x[0], x[1], 1)} },
			"Take0": func(x []*mx.Array) []*mx.Array {
				return []*mx.Array{mx.Take(x[0], mx.Remainder(x[1], 4), 0)}
			},
			"TakeGrad": func(x []*mx.Array) []*mx.Array {
				g := mx.GradOf(func(a *mx.Array) *mx.Array { return mx.Take(a, x[1], 1).Square().Sum() })(x[0])
				return []*mx.Array{g}
			},
			"TakeAlongAxis": func(x []*mx.Array) []*mx.Array { return []*mx.Array{mx.TakeAlongAxis(x[0], x[2], 1)} },
			"TakeAlongAxisGrad": func(x []*mx.Array) []*mx.Array {
				g := mx.GradOf(func(a *mx.Array) *mx.Array { return mx.TakeAlongAxis(a, x[2], 1).Exp().Sum() })(x[0])
				return []*mx.Array{g}
			},
		}
		for name, f := range fns {
			for _, axes := range [][]int{{0, 0, 1}, {mx.Unmapped, 0, 1}, {0, mx.Unmapped, mx.Unmapped}} {
				t.Run(fmt.Sprint(name, axes), func(t *testing.T) {
					ins := []*mx.Array{a, idx, along}
					if axes[0] == mx.Unmapped {
						ins[0] = a.Index(1)
					}
					if axes[1] == mx.Unmapped {
						ins[1], ins[2] = idx.Index(1), mx.Squeeze(mx.SliceAxis(along, 1, 2, 3), 1)
					}
					got := mx.VmapArrays(f, axes, nil)(ins)
					want := loopStack(f, ins, axes)
					mxtest.AssertClose(t, name, got[0], want[0], 0)
				})
			}
		}
	})
}

// TestVmapTakeMiddleAxis maps array and indices of a Take from the middle axis of a 3-D
// array (axes before and after it) and its gradient, a ScatterAdd with mapped indices.
func TestVmapTakeMiddleAxis(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(17))
		a := randArray(r, -1, 1, 3, 4, vmapN, 5)                                        // mapped at axis 2
		idx := mx.FromSlice([]int32{3, -4, 0, 2, 1, 1, -1, 0, 2, 2, 3, 3}, 2, 2, vmapN) // mapped last
		f := func(x []*mx.Array) []*mx.Array {
			g := mx.GradOf(func(a *mx.Array) *mx.Array { return mx.Take(a, x[1], 1).Square().Sum() })(x[0])
			return []*mx.Array{mx.Take(x[0], x[1], 1), g}
		}
		axes := []int{2, 2}
		got := mx.VmapArrays(f, axes, []int{0, 3})([]*mx.Array{a, idx})
		want := loopStack(f, []*mx.Array{a, idx}, axes)
		mxtest.AssertClose(t, "take", got[0], want[0], 0)
		mxtest.AssertClose(t, "scatter-add", got[1], mx.MoveAxis(want[1], 0, 3), 0)
	})
}

// TestVmapNested checks vmap of vmap against a double loop: a batched matrix-vector
// product with softmax, mapped over two axes of x and one of w.
func TestVmapNested(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(11))
		x := randArray(r, -1, 1, 4, 3, 5) // mapped: inner over axis 0 (of each 4×5 slice), outer over axis 1
		w := randArray(r, -1, 1, 3, 5, 2) // outer over axis 0; the inner map leaves it unmapped
		f := func(in []*mx.Array) []*mx.Array {
			return []*mx.Array{mx.Softmax(mx.Matmul(in[0], in[1]), -1)} // (5) @ (5,2) → (2)
		}
		inner := mx.VmapArrays(f, []int{0, mx.Unmapped}, nil)
		outer := mx.VmapArrays(inner, []int{1, 0}, []int{2})
		got := outer([]*mx.Array{x, w})[0] // (4, 2, 3): outer index last
		var rows []*mx.Array
		for i := range 4 {
			var cols []*mx.Array
			for j := range 3 {
				xi := mx.Squeeze(mx.Slice(x, []int{i, j, 0}, []int{i + 1, j + 1, 5}, nil), 0, 1)
				cols = append(cols, f([]*mx.Array{xi, w.Index(j)})[0])
			}
			rows = append(rows, mx.Stack(cols, 1))
		}
		mxtest.AssertClose(t, "nested", got, mx.Stack(rows, 0), vmapTol)

		// Per-example Hessian-vector-free check: vmap of vmap of grad.
		g := mx.Grad(func(args ...any) any { return mx.Sum(mx.Square(mx.Tanh(args[0].(*mx.Array))), nil, false) })
		gg := mx.Vmap(mx.Vmap(g, nil, nil), nil, nil)(x).(*mx.Array)
		want := mx.Multiply(mx.Multiply(mx.Tanh(x), 2.0), mx.Subtract(1.0, mx.Square(mx.Tanh(x))))
		mxtest.AssertClose(t, "nested grad", gg, want, 1e-6)
	})
}

// mlp is a two-layer perceptron on one example x of shape (4), with a cross-entropy
// loss against the integer label y.
func mlpLoss(args ...any) any {
	p := args[0].(map[string]*mx.Array)
	x, y := args[1].(*mx.Array), args[2].(*mx.Array)
	h := mx.Tanh(mx.Add(mx.Matmul(x, p["w1"]), p["b1"]))
	logits := mx.Add(mx.Matmul(h, p["w2"]), p["b2"])
	return mx.Negative(mx.Take(mx.LogSoftmax(logits, -1), y, 0))
}

func mlpParams(r *rand.Rand) map[string]*mx.Array {
	return map[string]*mx.Array{
		"w1": randArray(r, -1, 1, 4, 8), "b1": randArray(r, -1, 1, 8),
		"w2": randArray(r, -1, 1, 8, 3), "b2": randArray(r, -1, 1, 3),
	}
}

// TestVmapPerExampleGradients vectorises the gradient of a small MLP over a batch:
// Vmap(Grad(loss), [Unmapped, 0, 0]) gives one gradient per example, equal to the
// gradients computed one example at a time, and their mean is the batch gradient.
func TestVmapPerExampleGradients(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(12))
		params := mlpParams(r)
		const n = 6
		xs := randArray(r, -1, 1, n, 4)
		ys := mx.FromSlice([]int32{0, 2, 1, 1, 0, 2})
		perEx := mx.Vmap(mx.Grad(mlpLoss), []int{mx.Unmapped, 0, 0}, nil)(params, xs, ys).(map[string]*mx.Array)
		for k, g := range perEx {
			var loop []*mx.Array
			for i := range n {
				gi := mx.Grad(mlpLoss)(params, xs.Index(i), ys.Index(i)).(map[string]*mx.Array)
				loop = append(loop, gi[k])
			}
			mxtest.AssertClose(t, "per-example "+k, g, mx.Stack(loop, 0), 1e-5)
		}
		batchLoss := func(args ...any) any {
			losses := mx.Vmap(mlpLoss, []int{mx.Unmapped, 0, 0}, nil)(args...).(*mx.Array)
			return mx.Mean(losses, nil, false)
		}
		full := mx.Grad(batchLoss)(params, xs, ys).(map[string]*mx.Array)
		for k, g := range full {
			mxtest.AssertClose(t, "grad of vmap "+k, g, mx.Mean(perEx[k], []int{0}, false), 1e-5)
		}
	})
}

// TestVmapOutputs checks out axes: placement, one axis per element of a returned
// slice, pytree outputs, and outputs that do not depend on the mapped inputs.
func TestVmapOutputs(t *testing.T) {
	x := mx.Reshape(mx.Arange(0, 6, 1), 2, 3)
	calls := 0
	f := func(args ...any) any {
		calls++
		a := args[0].(*mx.Array)
		return []any{mx.Sum(a, nil, false), map[string]*mx.Array{"twice": mx.Multiply(a, 2.0)}, mx.Ones([]int{2}, mx.Float32)}
	}
	out := mx.Vmap(f, []int{1}, []int{0, 1, 1})(x).([]any)
	if calls != 1 {
		t.Fatalf("f ran %d times; Vmap must trace it once", calls)
	}
	if got := fmt.Sprint(out[0].(*mx.Array).Float32s()); got != "[3 5 7]" {
		t.Fatalf("sums over axis 0 = %s", got)
	}
	tw := out[1].(map[string]*mx.Array)["twice"]
	if fmt.Sprint(tw.Shape(), tw.Float32s()) != "[2 3] [0 2 4 6 8 10]" {
		t.Fatalf("twice at out axis 1: %v %v", tw.Shape(), tw.Float32s())
	}
	if o := out[2].(*mx.Array); fmt.Sprint(o.Shape()) != "[2 3]" {
		t.Fatalf("unmapped output broadcast to %v, want [2 3]", o.Shape())
	}
	// A pytree argument is mapped leaf by leaf; Go values pass through.
	tree := map[string]*mx.Array{"a": x, "b": mx.Multiply(x, 10.0)}
	sum := mx.Vmap(func(args ...any) any {
		m := args[0].(map[string]*mx.Array)
		return mx.Multiply(mx.Add(m["a"], m["b"]), float64(args[1].(int)))
	}, []int{1, mx.Unmapped}, []int{1})(tree, 2).(*mx.Array)
	if fmt.Sprint(sum.Float32s()) != "[0 22 44 66 88 110]" {
		t.Fatalf("pytree argument: %v", sum.Float32s())
	}
	keep := mx.Vmap(f, []int{1}, []int{0, 0, mx.Unmapped})(x).([]any)
	if o := keep[2].(*mx.Array); fmt.Sprint(o.Shape()) != "[2]" {
		t.Fatalf("Unmapped out axis gave shape %v, want [2]", o.Shape())
	}
}

// TestVmapRandomShared checks the documented behaviour of random draws inside a vmapped
// function from an unmapped key: every index sees the same numbers, as in MLX.
func TestVmapRandomShared(t *testing.T) {
	x := mx.Zeros([]int{3, 4}, mx.Float32)
	y := mx.Vmap(func(args ...any) any {
		return mx.Add(args[0].(*mx.Array), mx.Uniform(0, 1, []int{4}, mx.Float32, nil))
	}, nil, nil)(x).(*mx.Array)
	mxtest.AssertClose(t, "index 2 against index 0", y.Index(2), y.Index(0), 0)
}

func expectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want one containing %q", msg, want)
		}
	}()
	f()
}

// TestVmapErrors checks that misuse and ops without a batching rule panic with a
// message naming the problem, never a silently wrong result.
func TestVmapErrors(t *testing.T) {
	x := mx.Ones([]int{3, 2}, mx.Float32)
	id := func(in []*mx.Array) []*mx.Array { return in }
	expectPanic(t, "no batching rule for Cube (primitive mx_test.cubePrim): it cannot be vmapped (at ", func() {
		mx.VmapArrays(func(in []*mx.Array) []*mx.Array { return []*mx.Array{cube(in[0])} }, nil, nil)([]*mx.Array{x})
	})
	expectPanic(t, "Bits from a mapped key has no batching rule", func() {
		mx.VmapArrays(func(in []*mx.Array) []*mx.Array { return []*mx.Array{mx.Bits([]int{2}, in[0])} }, nil, nil)(
			[]*mx.Array{mx.Stack([]*mx.Array{mx.Key(1), mx.Key(2)}, 0)})
	})
	expectPanic(t, "vmap_test.go:", func() {
		mx.VmapArrays(func(in []*mx.Array) []*mx.Array { return []*mx.Array{cube(in[0])} }, nil, nil)([]*mx.Array{x})
	})
	expectPanic(t, "mapped axes differ in size: 3 and 2", func() {
		mx.VmapArrays(id, []int{0, 1}, nil)([]*mx.Array{x, x})
	})
	expectPanic(t, "in axis 2 is out of range for input 0, of shape [3 2]", func() { mx.VmapArrays(id, []int{2}, nil)([]*mx.Array{x}) })
	expectPanic(t, "mapped axes differ in size: 3 and 4 (array 1 of argument 1, of shape [4]", func() {
		mx.Vmap(func(args ...any) any { return args[0] }, nil, nil)(x, []*mx.Array{x, mx.Ones([]int{4}, mx.Float32)})
	})
	expectPanic(t, "no argument is mapped", func() { mx.VmapArrays(id, []int{mx.Unmapped}, nil)([]*mx.Array{x}) })
	expectPanic(t, "2 out axes for 1 outputs", func() { mx.VmapArrays(id, nil, []int{0, 0})([]*mx.Array{x}) })
	expectPanic(t, "cannot be evaluated inside the function", func() {
		mx.VmapArrays(func(in []*mx.Array) []*mx.Array { _ = in[0].Sum().Item(); return in }, nil, nil)([]*mx.Array{x})
	})
	expectPanic(t, "depends on the mapped inputs but its out axis is Unmapped", func() {
		mx.VmapArrays(id, nil, []int{mx.Unmapped})([]*mx.Array{x})
	})
}

// attentionLoss is a Llama-style attention block on one sequence x (L, D): RMSNorm,
// q/k/v projections split into heads, RoPE, causal fused attention, output projection,
// and a squared-error loss against y.
func attentionLoss(args ...any) any {
	p := args[0].(map[string]*mx.Array)
	x, y := args[1].(*mx.Array), args[2].(*mx.Array)
	L, D, H := x.Dim(0), x.Dim(1), 2
	heads := func(a *mx.Array, rope bool) *mx.Array {
		a = mx.Transpose(mx.Reshape(a, 1, L, H, D/H), 0, 2, 1, 3) // (1, H, L, D/H)
		if rope {
			a = mx.RoPE(a, D/H, false, 10000, 1, 0, nil)
		}
		return a
	}
	h := mx.RMSNorm(x, p["norm"], 1e-5)
	q := heads(mx.Matmul(h, p["wq"]), true)
	k := heads(mx.Matmul(h, p["wk"]), true)
	v := heads(mx.Matmul(h, p["wv"]), false)
	o := mx.ScaledDotProductAttention(q, k, v, 0.5, "causal")
	o = mx.Reshape(mx.Transpose(o, 0, 2, 1, 3), L, D)
	return mx.Mean(mx.Square(mx.Subtract(mx.Matmul(o, p["wo"]), y)), nil, false)
}

// TestVmapAttentionBlock checks per-sequence gradients of an attention block (fused
// RMSNorm, RoPE and attention and their backward kernels under Vmap) against a loop.
func TestVmapAttentionBlock(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(14))
		const n, L, D = 3, 5, 8
		p := map[string]*mx.Array{"norm": randArray(r, 0.5, 1.5, D)}
		for _, k := range []string{"wq", "wk", "wv", "wo"} {
			p[k] = randArray(r, -0.5, 0.5, D, D)
		}
		xs, ys := randArray(r, -1, 1, L, n, D), randArray(r, -1, 1, n, L, D) // xs mapped at axis 1
		got := mx.Vmap(mx.Grad(attentionLoss), []int{mx.Unmapped, 1, 0}, nil)(p, xs, ys).(map[string]*mx.Array)
		for k, g := range got {
			var loop []*mx.Array
			for i := range n {
				xi := mx.Squeeze(mx.SliceAxis(xs, 1, i, i+1), 1)
				loop = append(loop, mx.Grad(attentionLoss)(p, xi, ys.Index(i)).(map[string]*mx.Array)[k])
			}
			mxtest.AssertClose(t, "per-sequence gradient of "+k, g, mx.Stack(loop, 0), 1e-4)
		}
	})
}

// opNames counts the primitives of the graph below the arrays, by op name.
func opNames(arrs ...*mx.Array) map[string]int {
	seen := map[*mx.Array]bool{}
	count := map[string]int{}
	var walk func(a *mx.Array)
	walk = func(a *mx.Array) {
		if seen[a] || a.Primitive() == nil {
			return
		}
		seen[a] = true
		count[a.Primitive().Op().Name()]++
		for _, in := range a.Inputs() {
			walk(in)
		}
	}
	for _, a := range arrs {
		walk(a)
	}
	return count
}

// TestVmapIsOneComputation checks that Vmap batches rather than loops: the graph of
// vmapped per-sequence gradients has the same primitives whatever the number of
// sequences, the fused kernels (attention and its gradient, RoPE, RMSNorm) stay fused, and evaluating it runs as many kernels for 2 sequences as for 7.
func TestVmapIsOneComputation(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	const L, D = 5, 8
	p := map[string]*mx.Array{"norm": randArray(r, 0.5, 1.5, D)}
	for _, k := range []string{"wq", "wk", "wv", "wo"} {
		p[k] = randArray(r, -0.5, 0.5, D, D)
	}
	grads := func(n int) []*mx.Array {
		g := mx.Vmap(mx.Grad(attentionLoss), []int{mx.Unmapped, 0, 0}, nil)(p, randArray(r, -1, 1, n, L, D), randArray(r, -1, 1, n, L, D))
		var out []*mx.Array
		for _, k := range []string{"norm", "wq", "wk", "wv", "wo"} {
			out = append(out, g.(map[string]*mx.Array)[k])
		}
		return out
	}
	g2, g7 := grads(2), grads(7)
	ops2, ops7 := opNames(g2...), opNames(g7...)
	if fmt.Sprint(ops2) != fmt.Sprint(ops7) {
		t.Fatalf("graphs differ with the batch size:\n2: %v\n7: %v", ops2, ops7)
	}
	// (RMSNorm's weight gradient is per sequence here, so it runs as its composite form.)
	for _, op := range []string{"ScaledDotProductAttention", "ScaledDotProductAttentionGrad", "RoPE", "RMSNorm"} {
		if ops7[op] == 0 {
			t.Errorf("no %s in the vmapped graph: %v", op, ops7)
		}
	}
	// Elementwise ops keep the mapped axis in place: no transposes or reshapes are added.
	bias := randArray(r, -1, 1, 4)
	y := mx.Vmap(func(args ...any) any {
		return mx.Multiply(mx.Tanh(mx.Add(args[0].(*mx.Array), bias)), 2.0)
	}, []int{1}, []int{1})(randArray(r, -1, 1, 3, 6, 4)).(*mx.Array)
	if ops := opNames(y); ops["Transpose"]+ops["Reshape"] != 0 {
		t.Errorf("elementwise ops under Vmap moved the mapped axis: %v", ops)
	}
	k0 := mx.KernelCount()
	mx.Eval(g2)
	k1 := mx.KernelCount()
	mx.Eval(g7)
	if k1-k0 != mx.KernelCount()-k1 {
		t.Fatalf("%d kernels for 2 sequences, %d for 7", k1-k0, mx.KernelCount()-k1)
	}
}

// TestVmapJacobians builds full Jacobians the way JAX and MLX users do: VJP vmapped over
// the rows of the identity (reverse mode) and JVP vmapped over its columns (forward
// mode); both equal the loop over basis vectors and each other's transpose.
func TestVmapJacobians(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(16))
		w := randArray(r, -1, 1, 4, 3)
		x := randArray(r, -1, 1, 4)
		f := func(p []*mx.Array) []*mx.Array { return []*mx.Array{mx.Softmax(mx.Tanh(mx.Matmul(p[0], w)), -1)} }
		vjpRow := func(in []*mx.Array) []*mx.Array { _, g := mx.VJP(f, []*mx.Array{in[0]}, []*mx.Array{in[1]}); return g }
		jvpCol := func(in []*mx.Array) []*mx.Array { _, j := mx.JVP(f, []*mx.Array{in[0]}, []*mx.Array{in[1]}); return j }
		rev := mx.VmapArrays(vjpRow, []int{mx.Unmapped, 0}, nil)([]*mx.Array{x, mx.Eye(3, 3, 0)})[0]      // (3, 4)
		fwd := mx.VmapArrays(jvpCol, []int{mx.Unmapped, 1}, []int{1})([]*mx.Array{x, mx.Eye(4, 4, 0)})[0] // (3, 4)
		var rows, cols []*mx.Array
		for i := range 3 {
			rows = append(rows, vjpRow([]*mx.Array{x, mx.Eye(3, 3, 0).Index(i)})[0])
		}
		for j := range 4 {
			cols = append(cols, jvpCol([]*mx.Array{x, mx.Eye(4, 4, 0).Index(j)})[0])
		}
		mxtest.AssertClose(t, "reverse-mode Jacobian", rev, mx.Stack(rows, 0), 1e-6)
		mxtest.AssertClose(t, "forward-mode Jacobian", fwd, mx.Stack(cols, 1), 1e-6)
		mxtest.AssertClose(t, "forward against reverse", fwd, rev, 1e-5)
	})
}
