// Command 02-autodiff-and-pytrees runs the code of the guide in README.md: Grad and
// ValueAndGrad as function transformations, VJP and JVP, second derivatives,
// StopGradient, Checkpoint, and the pytree helpers of package tree.
package main

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Params is a pytree too: ValueAndGradOf returns a gradient of the same struct type.
type Params struct {
	W, B *mx.Array
}

func main() {
	// 1. Grad turns a function into its derivative, and composes.
	cube := func(args ...any) any { x := args[0].(*mx.Array); return x.Mul(x).Mul(x) }
	d1 := mx.Grad(cube)
	d2 := mx.Grad(func(args ...any) any { return d1(args...) })
	d3 := mx.Grad(func(args ...any) any { return d2(args...) })
	x := mx.Scalar(2)
	fmt.Println("f(x) = x³ at x = 2:")
	fmt.Println("  f' =", d1(x).(*mx.Array).Item(), " f'' =", d2(x).(*mx.Array).Item(), " f''' =", d3(x).(*mx.Array).Item())

	// 2. argnums: differentiate with respect to several arguments.
	xs := mx.FromSlice([]float32{1, 2, 3, 4})
	ys := mx.FromSlice([]float32{3, 5, 7, 9}) // y = 2x + 1
	mse := func(args ...any) any {
		w, b := args[0].(*mx.Array), args[1].(*mx.Array)
		return xs.Mul(w).Add(b).Sub(ys).Square().Mean()
	}
	loss, grads := mx.ValueAndGrad(mse, 0, 1)(mx.Scalar(0), mx.Scalar(0))
	g := grads.([]any)
	fmt.Printf("\nmse at w=0, b=0: %.2f  dw = %.2f  db = %.2f\n", loss.(*mx.Array).Item(),
		g[0].(*mx.Array).Item(), g[1].(*mx.Array).Item())

	// 3. Auxiliary outputs: the first output is differentiated, the rest ride along.
	withAux := func(args ...any) any {
		w := args[0].(*mx.Array)
		pred := xs.Mul(w).Add(1)
		return []any{pred.Sub(ys).Square().Mean(), pred}
	}
	out, dw := mx.ValueAndGrad(withAux)(mx.Scalar(1))
	fmt.Println("aux output (predictions at w=1):", out.([]any)[1].(*mx.Array).Float32s(),
		" loss:", out.([]any)[0].(*mx.Array).Item(), " dw:", dw.(*mx.Array).Item())

	// 4. Pytree arguments: the gradient has the argument's structure.
	params := map[string]any{"w": mx.Scalar(0), "b": mx.Scalar(0)}
	treeLoss := func(args ...any) any {
		p := args[0].(map[string]any)
		return xs.Mul(p["w"].(*mx.Array)).Add(p["b"].(*mx.Array)).Sub(ys).Square().Mean()
	}
	_, gt := mx.ValueAndGrad(treeLoss)(params)
	for _, p := range tree.Flatten(gt) {
		fmt.Printf("grad[%q] = %.2f\n", p.Key, p.Value.Item())
	}

	// ... and ValueAndGradOf keeps the Go type: a struct in, the same struct back.
	structLoss := func(p Params) *mx.Array { return xs.Mul(p.W).Add(p.B).Sub(ys).Square().Mean() }
	lossAndGrad := mx.ValueAndGradOf(structLoss)
	p := Params{W: mx.Scalar(0), B: mx.Scalar(0)}
	for range 200 {
		l, gp := lossAndGrad(p)
		p = Params{W: p.W.Sub(gp.W.Mul(0.05)), B: p.B.Sub(gp.B.Mul(0.05))}
		mx.Eval(l, p)
	}
	fmt.Printf("fitted with ValueAndGradOf[Params]: w = %.3f, b = %.3f\n", p.W.Item(), p.B.Item())

	// 5. VJP and JVP: products with the Jacobian, backwards and forwards.
	prod := func(in []*mx.Array) []*mx.Array { return []*mx.Array{in[0].Mul(in[1])} }
	a, b := mx.FromSlice([]float32{1, 2, 3}), mx.FromSlice([]float32{4, 5, 6})
	_, vjps := mx.VJP(prod, []*mx.Array{a, b}, []*mx.Array{mx.OnesLike(a)})
	fmt.Println("\nVJP of a*b with cotangent 1: d/da =", vjps[0].Float32s(), " d/db =", vjps[1].Float32s())
	_, jvps := mx.JVP(prod, []*mx.Array{a, b}, []*mx.Array{mx.OnesLike(a), mx.ZerosLike(b)})
	fmt.Println("JVP of a*b with tangent (1, 0):", jvps[0].Float32s())

	// 6. StopGradient: the value flows, the gradient does not.
	sq := mx.Grad(func(args ...any) any { x := args[0].(*mx.Array); return x.Mul(x) })
	half := mx.Grad(func(args ...any) any { x := args[0].(*mx.Array); return x.Mul(mx.StopGradient(x)) })
	fmt.Println("\nd/dx x·x at 3 =", sq(mx.Scalar(3)).(*mx.Array).Item(),
		" d/dx x·stop(x) at 3 =", half(mx.Scalar(3)).(*mx.Array).Item())

	// 7. Checkpoint: same gradient, less memory, some forward work done twice.
	w := mx.Normal([]int{256, 256}, 0, 0.1, mx.Float32, mx.Key(1))
	in := mx.Normal([]int{512, 256}, 0, 1, mx.Float32, mx.Key(2))
	mx.Eval(w, in)
	block := func(v []*mx.Array) *mx.Array { return mx.Tanh(mx.Matmul(mx.Tanh(mx.Matmul(v[0], v[1])), v[1])) }
	for _, ckpt := range []bool{false, true} {
		f := block
		if ckpt {
			f = mx.Checkpoint(block)
		}
		deep := func(w *mx.Array) *mx.Array {
			h := in
			for range 8 {
				h = f([]*mx.Array{h, w})
			}
			return h.Square().Mean()
		}
		mx.ResetPeakMemory()
		before, k := mx.ActiveMemory(), mx.KernelCount()
		l, gw := mx.ValueAndGradOf(deep)(w)
		mx.Eval(l, gw)
		fmt.Printf("checkpoint=%-5v loss %.6f |dL/dw| %.6f  kernels %d  peak +%.1f MB\n", ckpt, l.Item(),
			gw.Square().Sum().Sqrt().Item(), mx.KernelCount()-k, float64(mx.PeakMemory()-before)/1e6)
	}

	// 8. Pytrees: Flatten, Unflatten, Map, Map2.
	model := map[string]any{
		"layers": []any{
			map[string]any{"weight": mx.Ones([]int{2, 2}, mx.Float32), "bias": mx.Zeros([]int{2}, mx.Float32)},
			map[string]any{"weight": mx.Ones([]int{1, 2}, mx.Float32), "bias": mx.Zeros([]int{1}, mx.Float32)},
		},
		"scale": mx.Scalar(1),
	}
	flat := tree.Flatten(model)
	fmt.Println()
	for _, p := range flat {
		fmt.Println("flatten:", p.Key, p.Value.Shape())
	}
	back := tree.Unflatten(flat).(map[string]any)
	fmt.Printf("unflatten: layers is a %T of %d\n", back["layers"], len(back["layers"].([]any)))
	halved := tree.Map(model, func(a *mx.Array) *mx.Array { return a.Mul(0.5) })
	fmt.Println("map(x/2): layers.1.weight =", tree.FlattenMap(halved)["layers.1.weight"])
	fmt.Println("parameters in the tree:", tree.Reduce(model, func(n int, a *mx.Array) int { return n + a.Size() }, 0))
	stepped := tree.Map2(params, gt, func(p, g *mx.Array) *mx.Array { return p.Sub(g.Mul(0.01)) })
	fmt.Printf("one SGD step with Map2 on section 4's tree: %v\n", tree.FlattenMap(stepped))
}
