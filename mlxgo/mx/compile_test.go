package mx_test

import (
	"bytes"
	"math"
	"math/rand"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// geluChain is the tanh GELU written as separate ops, with a broadcast bias.
func geluChain(in []*mx.Array) []*mx.Array {
	x := mx.Add(in[0], in[1])
	inner := mx.Multiply(mx.Add(x, mx.Multiply(mx.Power(x, 3.0), 0.044715)), math.Sqrt(2/math.Pi))
	return []*mx.Array{mx.Multiply(mx.Multiply(x, 0.5), mx.Add(mx.Tanh(inner), 1.0))}
}

// siluChain is x·sigmoid(x) written as exp, add, divide, times a scale.
func siluChain(in []*mx.Array) []*mx.Array {
	x := in[0]
	return []*mx.Array{mx.Multiply(mx.Divide(x, mx.Add(mx.Exp(mx.Negative(x)), 1.0)), in[1])}
}

// counted wraps f to count how often its Go code runs.
func counted(f func([]*mx.Array) []*mx.Array, n *int) func([]*mx.Array) []*mx.Array {
	return func(in []*mx.Array) []*mx.Array { *n++; return f(in) }
}

// TestCompileFusedIsBitIdentical: a fused chain does the float32 ops of the unfused
// kernels in the same order, so its output has the same bits, in float32 and with
// bfloat16 intermediates rounded as the unfused arrays store them.
func TestCompileFusedIsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []struct {
		name string
		f    func([]*mx.Array) []*mx.Array
		in   []*mx.Array
		op   string
	}{
		{"gelu", geluChain, []*mx.Array{randArray(r, -3, 3, 33, 65), randArray(r, -1, 1, 65)},
			"CompiledAddMultiplyPowerMultiplyAddMultiplyTanhAddMultiply"},
		{"silu", siluChain, []*mx.Array{randArray(r, -8, 8, 4, 1000), randArray(r, 0, 2, 4, 1)},
			"CompiledNegativeExpAddDivideMultiply"},
		{"bf16", func(in []*mx.Array) []*mx.Array {
			x := in[0].AsType(mx.Bfloat16)
			return []*mx.Array{mx.Sigmoid(mx.Multiply(x, x)).AsType(mx.Float32)}
		}, []*mx.Array{randArray(r, -2, 2, 3000)}, "CompiledAsTypeMultiplySigmoidAsType"},
		{"broadcast", func(in []*mx.Array) []*mx.Array {
			return []*mx.Array{mx.Add(mx.Multiply(mx.Exp(in[0]), in[1]), mx.Square(in[2]))}
		}, []*mx.Array{randArray(r, -2, 2, 4, 37, 29), randArray(r, -1, 1, 37, 1).AsType(mx.Float16), randArray(r, -1, 1, 4, 1, 29)},
			"CompiledExpMultiplySquareAdd"},
		{"where", func(in []*mx.Array) []*mx.Array {
			x := in[0]
			return []*mx.Array{mx.Where(mx.Greater(x, 0.5), mx.Exp(x), mx.Clip(x, -1, nil))}
		}, []*mx.Array{randArray(r, -2, 2, 7, 300)}, "CompiledGreaterExpMaximumWhere"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mx.Eval(c.in)
			want := c.f(c.in)[0]
			got := mx.Compile(c.f)(c.in)[0]
			if names := opNames(got); len(names) != 1 || names[c.op] != 1 {
				t.Fatalf("compiled graph %v, want one %s", names, c.op)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("fused result differs from the unfused ops:\n%v\n%v", got, want)
			}
		})
	}
}

// TestCompileTracesOncePerSignature: the Go function runs once per input shapes and
// dtypes; other calls replay the graph.
func TestCompileTracesOncePerSignature(t *testing.T) {
	traces := 0
	f := mx.Compile(counted(siluChain, &traces))
	a, s := mx.Ones([]int{2, 3}, mx.Float32), mx.Ones([]int{2, 1}, mx.Float32)
	for range 3 {
		f([]*mx.Array{a, s})
	}
	if traces != 1 {
		t.Fatalf("%d traces for 3 calls of one shape, want 1", traces)
	}
	f([]*mx.Array{mx.Ones([]int{5, 3}, mx.Float32), mx.Ones([]int{5, 1}, mx.Float32)})
	f([]*mx.Array{a.AsType(mx.Float16), s})
	f([]*mx.Array{a, s})
	if traces != 3 {
		t.Fatalf("%d traces after a new shape, a new dtype and the first signature again, want 3", traces)
	}
	// Different values of the same signature give their own results.
	got := f([]*mx.Array{mx.Full([]int{2, 3}, 2, mx.Float32), s})[0].Float32s()[0]
	if want := float32(2 / (1 + math.Exp(-2))); math.Abs(float64(got-want)) > 1e-6 {
		t.Fatalf("replayed graph gave %v, want %v", got, want)
	}
}

// TestCompileSimplifies: identical ops on identical inputs run once and equal scalar
// constants are shared.
func TestCompileSimplifies(t *testing.T) {
	f := func(in []*mx.Array) []*mx.Array {
		a := mx.Matmul(in[0], in[0])
		b := mx.Matmul(in[0], in[0]) // the same product
		return []*mx.Array{mx.Add(mx.Sum(mx.Multiply(a, 2.0), nil, false), mx.Sum(mx.Multiply(b, 2.0), nil, false))}
	}
	x := randArray(rand.New(rand.NewSource(2)), -1, 1, 8, 8)
	got := mx.Compile(f)([]*mx.Array{x})[0]
	names := opNames(got)
	if names["Matmul"] != 1 || names["Sum"] != 1 || names["Multiply"] != 1 || names["Full"] != 1 {
		t.Fatalf("simplified graph %v: want one Matmul, Multiply, Full and Sum", names)
	}
	if g, w := got.Item(), f([]*mx.Array{x})[0].Item(); g != w {
		t.Fatalf("simplified %v, want %v", g, w)
	}
}

// TestCompileComposesWithGrad: the gradient of a compiled function (through the fused
// op's VJP), a compiled gradient function and the JVP of a compiled function all equal
// the uncompiled ones, bit for bit.
func TestCompileComposesWithGrad(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	x, b := randArray(r, -2, 2, 16, 32), randArray(r, -1, 1, 32)
	loss := func(f func([]*mx.Array) []*mx.Array) func(args ...any) any {
		return func(args ...any) any {
			return mx.Sum(f([]*mx.Array{args[0].(*mx.Array), args[1].(*mx.Array)})[0], nil, false)
		}
	}
	want := mx.Grad(loss(geluChain), 0, 1)(x, b).([]any)
	got := mx.Grad(loss(mx.Compile(geluChain)), 0, 1)(x, b).([]any)
	traces := 0
	gradFn := mx.Compile(counted(func(in []*mx.Array) []*mx.Array {
		g := mx.Grad(loss(geluChain), 0, 1)(in[0], in[1]).([]any)
		return []*mx.Array{g[0].(*mx.Array), g[1].(*mx.Array)}
	}, &traces))
	compiledGrad := gradFn([]*mx.Array{x, b})
	gradFn([]*mx.Array{x, b})
	if traces != 1 {
		t.Fatalf("compiled gradient traced %d times, want 1", traces)
	}
	if n := opNames(compiledGrad[0]); !hasCompiled(n) {
		t.Errorf("compiled gradient graph %v has no fused op", n)
	}
	tangents := []*mx.Array{mx.OnesLike(x), mx.OnesLike(b)}
	_, wantJ := mx.JVP(geluChain, []*mx.Array{x, b}, tangents)
	_, gotJ := mx.JVP(mx.Compile(geluChain), []*mx.Array{x, b}, tangents)
	if !bytes.Equal(gotJ[0].Bytes(), wantJ[0].Bytes()) {
		t.Error("JVP of the compiled function differs from the uncompiled one")
	}
	for i := range want {
		w := want[i].(*mx.Array)
		for name, g := range map[string]*mx.Array{"grad of compiled": got[i].(*mx.Array), "compiled grad": compiledGrad[i]} {
			if !bytes.Equal(g.Bytes(), w.Bytes()) {
				t.Errorf("%s, argument %d: differs from the uncompiled gradient", name, i)
			}
		}
	}
}

func hasCompiled(names map[string]int) bool {
	for n := range names {
		if strings.HasPrefix(n, "Compiled") {
			return true
		}
	}
	return false
}

// sgdModel is a tiny model whose parameters live in a map, as a module's do.
type sgdModel struct{ params map[string]*mx.Array }

func (m *sgdModel) state() mx.State {
	return mx.State{
		Get: func() any { return m.params },
		Set: func(t any) { m.params = t.(map[string]*mx.Array) },
	}
}

// step is one SGD step on a least-squares loss with a dropout-like random mask: it reads
// and writes the parameters and draws from the global key.
func (m *sgdModel) step(in []*mx.Array) []*mx.Array {
	x, y := in[0], in[1]
	lossFn := func(args ...any) any {
		p := args[0].(map[string]*mx.Array)
		keep := mx.Bernoulli(0.8, x.Shape(), nil)
		pred := mx.Add(mx.Matmul(mx.Where(keep, x, 0.0), p["w"]), p["b"])
		return mx.Mean(mx.Square(mx.Subtract(pred, y)), nil, false)
	}
	loss, g := mx.ValueAndGrad(lossFn)(m.params)
	grads := g.(map[string]*mx.Array)
	next := map[string]*mx.Array{}
	for k, p := range m.params {
		next[k] = mx.Subtract(p, mx.Multiply(grads[k], 0.1))
	}
	m.params = next
	return []*mx.Array{loss.(*mx.Array)}
}

// TestCompileStateAndRandom: a training step compiled with the parameters and the
// random key as inputs and outputs follows the uncompiled loop step for step (same
// losses, same parameters, same random masks), tracing once.
func TestCompileStateAndRandom(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	x, y := randArray(r, -1, 1, 8, 4), randArray(r, -1, 1, 8, 2)
	init := func() *sgdModel {
		return &sgdModel{map[string]*mx.Array{"w": randArray(rand.New(rand.NewSource(5)), -1, 1, 4, 2), "b": mx.Zeros([]int{2}, mx.Float32)}}
	}
	run := func(m *sgdModel, step func([]*mx.Array) []*mx.Array) []float64 {
		mx.Seed(7)
		var losses []float64
		for range 4 {
			l := step([]*mx.Array{x, y})[0]
			mx.Eval(l, m.params)
			losses = append(losses, l.Item())
		}
		return losses
	}
	plain := init()
	want := run(plain, plain.step)
	comp := init()
	traces := 0
	st := []mx.State{comp.state(), mx.RandomState}
	step := mx.CompileWith(counted(comp.step, &traces), mx.CompileOptions{Inputs: st, Outputs: st})
	got := run(comp, step)
	if traces != 1 {
		t.Fatalf("%d traces for 4 steps, want 1", traces)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("losses %v, uncompiled %v", got, want)
		}
	}
	if want[0] == want[1] {
		t.Fatalf("the loss did not change between steps: %v", want)
	}
	for k := range plain.params {
		if !bytes.Equal(comp.params[k].Bytes(), plain.params[k].Bytes()) {
			t.Fatalf("parameter %s: %v, uncompiled %v", k, comp.params[k], plain.params[k])
		}
	}
	if mx.GlobalKey() != func() [2]uint32 { run(plain, plain.step); return mx.GlobalKey() }() {
		t.Fatal("the global key after the compiled steps differs from the uncompiled one's")
	}
}

// TestCompileCapturedArraysAreConstants: without state, a captured array is baked into
// the trace, as in MLX.
func TestCompileCapturedArraysAreConstants(t *testing.T) {
	w := mx.FromSlice([]float32{2})
	f := mx.Compile(func(in []*mx.Array) []*mx.Array { return []*mx.Array{mx.Multiply(in[0], w)} })
	one := mx.FromSlice([]float32{1})
	if v := f([]*mx.Array{one})[0].Item(); v != 2 {
		t.Fatalf("got %v, want 2", v)
	}
	w = mx.FromSlice([]float32{3})
	if v := f([]*mx.Array{one})[0].Item(); v != 2 {
		t.Fatalf("got %v after replacing the captured array, want the traced 2", v)
	}
}

// TestCompileRefusesEvalWhileTracing: evaluating a traced value panics with a message
// saying why.
func TestCompileRefusesEvalWhileTracing(t *testing.T) {
	f := mx.Compile(func(in []*mx.Array) []*mx.Array {
		if in[0].Sum().Item() > 0 {
			return in
		}
		return in
	})
	for range 2 { // the second call meets the same refusal, not a lock left held
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "compiled function must stay lazy") {
					t.Fatalf("panic %v, want one explaining that traced arrays cannot be evaluated", r)
				}
			}()
			f([]*mx.Array{mx.Ones([]int{2}, mx.Float32)})
		}()
	}
}

// TestCompileKeepsRecentGraphs: a compiled function keeps the graphs of its 32 most
// recently used signatures; an older one is traced again.
func TestCompileKeepsRecentGraphs(t *testing.T) {
	traces := 0
	f := mx.Compile(counted(func(in []*mx.Array) []*mx.Array { return []*mx.Array{mx.Exp(mx.Negative(in[0]))} }, &traces))
	call := func(n int) { f([]*mx.Array{mx.Ones([]int{n}, mx.Float32)}) }
	for n := 1; n <= 33; n++ {
		call(n)
	}
	call(33) // kept
	call(2)  // kept: the 32 most recent are 2..33
	if traces != 33 {
		t.Fatalf("%d traces, want 33", traces)
	}
	call(1) // evicted when 33 was traced
	if traces != 34 {
		t.Fatalf("%d traces after the evicted signature, want 34", traces)
	}
}

// TestCompileNested: a compiled function called while another is traced runs its Go
// code, so the outer graph fuses across the call.
func TestCompileNested(t *testing.T) {
	inner := mx.Compile(func(in []*mx.Array) []*mx.Array { return []*mx.Array{mx.Sigmoid(in[0])} })
	outer := mx.Compile(func(in []*mx.Array) []*mx.Array {
		return []*mx.Array{mx.Multiply(in[0], inner([]*mx.Array{mx.Multiply(in[0], 1.5)})[0])}
	})
	x := randArray(rand.New(rand.NewSource(6)), -3, 3, 100)
	got := outer([]*mx.Array{x})[0]
	if names := opNames(got); len(names) != 1 || names["CompiledMultiplySigmoidMultiply"] != 1 {
		t.Fatalf("graph %v, want one CompiledMultiplySigmoidMultiply", names)
	}
	if want := mx.Multiply(x, mx.Sigmoid(mx.Multiply(x, 1.5))); !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("the nested compiled functions differ from the plain ops")
	}
}

// TestCompileComposesWithVmap: Vmap of a compiled function batches the fused op (through
// the unfused ops' batching rules) and Compile of a vmapped function fuses the batched
// ops; both equal the plain vmapped function.
func TestCompileComposesWithVmap(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	x, s := randArray(r, -3, 3, 5, 40), randArray(r, 0, 2, 40, 1)
	want := mx.VmapArrays(siluChain, []int{0, mx.Unmapped}, []int{0})([]*mx.Array{x, s})[0]
	vmapped := mx.VmapArrays(mx.Compile(siluChain), []int{0, mx.Unmapped}, []int{0})([]*mx.Array{x, s})[0]
	compiled := mx.Compile(mx.VmapArrays(siluChain, []int{0, mx.Unmapped}, []int{0}))([]*mx.Array{x, s})[0]
	if !hasCompiled(opNames(compiled)) {
		t.Errorf("compiled vmapped graph %v has no fused op", opNames(compiled))
	}
	for name, got := range map[string]*mx.Array{"vmap of compiled": vmapped, "compiled vmap": compiled} {
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s differs from the plain vmap", name)
		}
	}
}

// TestCompileRecomputesUnaryReadTwice: silu(m) read by two products, with m a matrix
// product (kept in memory anyway), is computed inside both fused kernels instead of
// being stored, as the gradient of silu(gate)·up reads silu(gate) twice; the results
// keep their bits.
func TestCompileRecomputesUnaryReadTwice(t *testing.T) {
	f := func(in []*mx.Array) []*mx.Array {
		s := mx.Silu(mx.Matmul(in[0], in[0]))
		return []*mx.Array{mx.Multiply(s, in[1]), mx.Multiply(s, in[2])}
	}
	r := rand.New(rand.NewSource(4))
	in := []*mx.Array{randArray(r, -1, 1, 16, 16), randArray(r, -1, 1, 16, 16), randArray(r, -1, 1, 16)}
	mx.Eval(in)
	got := mx.Compile(f)(in)
	names := opNames(got...)
	if names["Silu"] != 0 || names["CompiledSiluMultiply"] != 2 {
		t.Fatalf("compiled graph %v: want silu inside two fused kernels and no Silu node", names)
	}
	want := f(in)
	for i := range got {
		if !bytes.Equal(got[i].Bytes(), want[i].Bytes()) {
			t.Fatalf("output %d differs from the unfused ops", i)
		}
	}
}
