package mx_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

// vmapTol is the tolerance of vmapped results against loops: batched kernels may sum in
// another order than per-slice ones (BLAS blocking, folded batch axes), so results agree
// to float32 rounding, |got − want| ≤ vmapTol·(1 + |want|), not always bit for bit.
const vmapTol = 2e-5

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

func assertClose(t *testing.T, name string, got, want *mx.Array, tol float64) {
	t.Helper()
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
	}
	g, w := got.Float64s(), want.Float64s()
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= tol*(1+math.Abs(w[i]))) {
			t.Fatalf("%s: element %d = %v, want %v (diff %.3g)", name, i, g[i], w[i], d)
		}
	}
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
		for _, c := range gradCases() {
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
					assertClose(t, "vmap", got[0], want[0], vmapTol)
				})
			}
		}
	})
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
						assertClose(t, fmt.Sprintf("grad %d", i), g, want[i], 1e-4)
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
					assertClose(t, fmt.Sprintf("grad %d", i), got[i], want[i], 1e-4)
				}
			})
		}
	})
}
