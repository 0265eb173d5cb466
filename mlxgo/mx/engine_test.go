package mx_test

import (
	"errors"
	"math"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/internal/race"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

func close32(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) || math.IsNaN(float64(got[i])) != math.IsNaN(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestForwardAgainstFloat64 checks ops against references written in the test in float64.
func TestForwardAgainstFloat64(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		a := randArray(r, 0.1, 2, 2, 3, 4)
		b := randArray(r, 0.1, 2, 3, 1)
		av, bv := a.Float64s(), b.Float64s()
		at := func(i, j, k int) float64 { return av[(i*3+j)*4+k] }
		bt := func(j int) float64 { return bv[j] }
		ref := func(f func(x, y float64) float64) []float64 {
			var out []float64
			for i := 0; i < 2; i++ {
				for j := 0; j < 3; j++ {
					for k := 0; k < 4; k++ {
						out = append(out, f(at(i, j, k), bt(j)))
					}
				}
			}
			return out
		}
		close32(t, "Add", mx.Add(a, b).Float32s(), ref(func(x, y float64) float64 { return x + y }), 1e-6)
		close32(t, "Divide", mx.Divide(a, b).Float32s(), ref(func(x, y float64) float64 { return x / y }), 1e-6)
		close32(t, "Power", mx.Power(a, b).Float32s(), ref(math.Pow), 1e-5)
		close32(t, "Maximum", mx.Maximum(a, b).Float32s(), ref(math.Max), 0)
		close32(t, "Atan2", mx.Atan2(a, b).Float32s(), ref(math.Atan2), 1e-6)
		unary := map[string]struct {
			f   func(*mx.Array) *mx.Array
			ref func(float64) float64
		}{
			"Exp": {mx.Exp, math.Exp}, "Log": {mx.Log, math.Log}, "Sqrt": {mx.Sqrt, math.Sqrt},
			"Tanh": {mx.Tanh, math.Tanh}, "Sigmoid": {mx.Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
			"Silu":  {mx.Silu, func(x float64) float64 { return x / (1 + math.Exp(-x)) }},
			"Gelu":  {mx.Gelu, func(x float64) float64 { return x * 0.5 * (1 + math.Erf(x/math.Sqrt2)) }},
			"Log1p": {mx.Log1p, math.Log1p}, "Sin": {mx.Sin, math.Sin}, "Erf": {mx.Erf, math.Erf},
		}
		for name, u := range unary {
			var want []float64
			for _, x := range av {
				want = append(want, u.ref(x))
			}
			close32(t, name, u.f(a).Float32s(), want, 2e-6)
		}
		// Reductions over axis 1.
		var sum, mx1, lse []float64
		for i := 0; i < 2; i++ {
			for k := 0; k < 4; k++ {
				s, m, e := 0.0, math.Inf(-1), 0.0
				for j := 0; j < 3; j++ {
					s += at(i, j, k)
					m = math.Max(m, at(i, j, k))
					e += math.Exp(at(i, j, k))
				}
				sum, mx1, lse = append(sum, s), append(mx1, m), append(lse, math.Log(e))
			}
		}
		close32(t, "Sum", mx.Sum(a, []int{1}, false).Float32s(), sum, 1e-6)
		close32(t, "Max", mx.Max(a, []int{1}, false).Float32s(), mx1, 0)
		close32(t, "LogSumExp", mx.LogSumExp(a, []int{-2}, false).Float32s(), lse, 1e-6)
		// Matmul with a transposed view and batch broadcast.
		x := randArray(r, -1, 1, 2, 5, 3)
		w := randArray(r, -1, 1, 4, 3)
		xv, wv := x.Float64s(), w.Float64s()
		var mm []float64
		for bi := 0; bi < 2; bi++ {
			for i := 0; i < 5; i++ {
				for j := 0; j < 4; j++ {
					s := 0.0
					for k := 0; k < 3; k++ {
						s += xv[(bi*5+i)*3+k] * wv[j*3+k]
					}
					mm = append(mm, s)
				}
			}
		}
		close32(t, "Matmul", mx.Matmul(x, w.T()).Float32s(), mm, 1e-5)
		// Shape ops.
		s := mx.Arange(0, 24, 1).Reshape(2, 3, 4)
		got := mx.Slice(s, []int{1, 0, 3}, []int{2, 3, 0}, []int{1, 2, -2}).Ints()
		if want := []int{15, 13, 23, 21}; !equalInts(got, want) {
			t.Fatalf("Slice = %v, want %v", got, want)
		}
		if got := mx.Transpose(s, 2, 0, 1).Reshape(-1).Ints()[:6]; !equalInts(got, []int{0, 4, 8, 12, 16, 20}) {
			t.Fatalf("Transpose = %v", got)
		}
		if got := mx.Take(s, mx.FromSlice([]int32{2, -1}), 2).Ints(); !equalInts(got[:4], []int{2, 3, 6, 7}) {
			t.Fatalf("Take = %v", got)
		}
		if got := mx.Cumsum(mx.FromSlice([]int32{1, 2, 3}), 0, false, true).Ints(); !equalInts(got, []int{1, 3, 6}) {
			t.Fatalf("Cumsum = %v", got)
		}
		if got := mx.ArgMax(mx.FromSlice([]float32{1, 5, 2, 7, 0, 9}, 2, 3), 1, false).Ints(); !equalInts(got, []int{1, 2}) {
			t.Fatalf("ArgMax = %v", got)
		}
		if got := mx.Pad(mx.FromSlice([]int32{1, 2}), [][2]int{{1, 2}}, 9).Ints(); !equalInts(got, []int{9, 1, 2, 9, 9}) {
			t.Fatalf("Pad = %v", got)
		}
		if got := mx.Where(mx.FromSlice([]bool{true, false}), 1, mx.FromSlice([]int32{5, 6})).Ints(); !equalInts(got, []int{1, 6}) {
			t.Fatalf("Where = %v", got)
		}
		if got := mx.Tri(3, 3, 0).Sum().Item(); got != 6 {
			t.Fatalf("Tri sum = %v", got)
		}
		if got := mx.Linspace(0, 1, 5).Float32s(); got[1] != 0.25 {
			t.Fatalf("Linspace = %v", got)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPromotionAndDtypes(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		i := mx.FromSlice([]int32{1, 2})
		if d := i.Mul(2.5).Dtype(); d != mx.Float32 {
			t.Fatalf("int32 * float scalar -> %v", d)
		}
		if d := i.Mul(2).Dtype(); d != mx.Int32 {
			t.Fatalf("int32 * int scalar -> %v", d)
		}
		h := mx.AsType(mx.FromSlice([]float32{1, 2}), mx.Float16)
		if d := h.Mul(3.0).Dtype(); d != mx.Float16 {
			t.Fatalf("float16 * scalar -> %v", d)
		}
		if d := mx.Add(h, mx.AsType(h, mx.Bfloat16)).Dtype(); d != mx.Float32 {
			t.Fatalf("float16 + bfloat16 -> %v", d)
		}
		if d := mx.Divide(i, i).Dtype(); d != mx.Float32 {
			t.Fatalf("int / int -> %v", d)
		}
		if got := mx.AsType(mx.FromSlice([]float32{1.0009765625, 3.14159}), mx.Bfloat16).Float32s(); got[1] != 3.140625 {
			t.Fatalf("bfloat16 rounding: %v", got)
		}
	})
}

// TestLaziness: building a graph runs no kernel, Eval runs it and detaches.
func TestLaziness(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		a := mx.FromSlice([]float32{1, 2, 3})
		before := mx.KernelCount()
		b := a.Mul(a).Sum()
		c := b.Add(1)
		if mx.KernelCount() != before {
			t.Fatalf("building a graph ran %d kernels", mx.KernelCount()-before)
		}
		if b.Evaluated() || c.Evaluated() {
			t.Fatal("arrays evaluated before Eval")
		}
		nodes := countNodes(c)
		mx.Eval(c)
		if n := mx.KernelCount() - before; n != uint64(nodes) || n < 3 {
			t.Fatalf("Eval ran %d kernels for a graph of %d primitives", n, nodes)
		}
		if !c.Evaluated() || len(c.Inputs()) != 0 || c.Primitive() != nil {
			t.Fatal("an evaluated array must hold data and no inputs")
		}
		if c.Item() != 15 {
			t.Fatalf("value %v", c.Item())
		}
		// The intermediate was released and is recomputed on demand.
		if b.Item() != 14 {
			t.Fatalf("intermediate recomputed to %v", b.Item())
		}
	})
}

// TestForgettingEval: an update loop without Eval leaves the parameter's data unchanged
// while its graph grows; one Eval applies every step.
func countNodes(a *mx.Array) int {
	seen := map[*mx.Array]bool{}
	var walk func(*mx.Array)
	walk = func(x *mx.Array) {
		if seen[x] || x.Primitive() == nil {
			return
		}
		seen[x] = true
		for _, in := range x.Inputs() {
			walk(in)
		}
	}
	walk(a)
	return len(seen)
}

func TestForgettingEval(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		p := mx.FromSlice([]float32{1})
		orig := p
		for i := 0; i < 50; i++ {
			p = p.Sub(mx.Multiply(0.1, mx.Multiply(2, p)))
		}
		if !orig.Evaluated() || orig.Item() != 1 {
			t.Fatal("the original parameter changed")
		}
		if p.Evaluated() {
			t.Fatal("the updated parameter ran without Eval")
		}
		depth := 0
		for a := p; a.Primitive() != nil; a = a.Inputs()[0] {
			depth++
		}
		if depth != 50 {
			t.Fatalf("graph depth %d, want 50 (one subtract per step)", depth)
		}
		mx.Eval(p)
		want := math.Pow(0.8, 50)
		if math.Abs(p.Item()-want) > 1e-6 {
			t.Fatalf("after Eval %v, want %v", p.Item(), want)
		}
	})
}

// TestActiveMemoryFlat: a 5,000-step update loop with Eval keeps active memory flat
// (500 steps under -race, which slows it twentyfold).
func TestActiveMemoryFlat(t *testing.T) {
	steps := 5000
	if race.Enabled {
		steps = 500
	}
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(4))
		param := randArray(r, -1, 1, 256, 256)
		target := randArray(r, -1, 1, 256, 256)
		grad := mx.GradOf(func(p *mx.Array) *mx.Array { return mx.Sum(mx.Square(mx.Subtract(p, target)), nil, false) })
		settle := func() int64 {
			for i := 0; i < 3; i++ {
				runtime.GC()
				time.Sleep(2 * time.Millisecond)
			}
			return mx.ActiveMemory()
		}
		var warm int64
		for step := 0; step < steps; step++ {
			param = param.Sub(mx.Multiply(grad(param), 1e-3))
			mx.Eval(param)
			if step == 100 {
				warm = settle()
			}
		}
		end := settle()
		if float64(end) > 1.05*float64(warm) {
			t.Fatalf("active memory grew from %d to %d bytes over %d steps", warm, end, steps-100)
		}
		t.Logf("active memory after warm-up %d B, after %d steps %d B; peak %d B", warm, steps, end, mx.PeakMemory())
	})
}

func TestDeterministicRandom(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		k := mx.Key(42)
		a := mx.Normal([]int{1000}, 0, 1, mx.Float32, k).Float32s()
		b := mx.Normal([]int{1000}, 0, 1, mx.Float32, mx.Key(42)).Float32s()
		for i := range a {
			if a[i] != b[i] {
				t.Fatal("same key, different numbers")
			}
		}
		var mean, v float64
		for _, x := range a {
			mean += float64(x)
		}
		mean /= 1000
		for _, x := range a {
			v += (float64(x) - mean) * (float64(x) - mean)
		}
		if math.Abs(mean) > 0.1 || math.Abs(v/1000-1) > 0.15 {
			t.Fatalf("normal mean %v var %v", mean, v/1000)
		}
		u := mx.Uniform(2, 3, []int{500}, mx.Float32, mx.Key(1)).Float32s()
		for _, x := range u {
			if x < 2 || x >= 3 {
				t.Fatalf("uniform value %v outside [2,3)", x)
			}
		}
		ks := mx.SplitKey(mx.Key(1), 3).Ints()
		if ks[0] == ks[2] && ks[1] == ks[3] {
			t.Fatal("split keys are equal")
		}
		mx.Seed(7)
		s1 := mx.RandInt(0, 10, []int{20}, nil).Ints()
		mx.Seed(7)
		s2 := mx.RandInt(0, 10, []int{20}, nil).Ints()
		if !equalInts(s1, s2) {
			t.Fatal("Seed does not reproduce the global sequence")
		}
		c := mx.Categorical(mx.FromSlice([]float32{-100, 0, -100}), 0, mx.Key(3)).Item()
		if c != 1 {
			t.Fatalf("categorical picked %v", c)
		}
		tn := mx.TruncatedNormal(-1, 1, []int{200}, mx.Float32, mx.Key(5)).Float32s()
		for _, x := range tn {
			if x < -1 || x > 1 {
				t.Fatalf("truncated normal value %v", x)
			}
		}
	})
}

// TestShapeErrorsNameOpShapesAndCaller: mistakes panic with op, shapes and file:line.
func TestShapeErrorsNameOpShapesAndCaller(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		cases := map[string]func(){
			"Matmul":  func() { mx.Matmul(mx.Zeros([]int{2, 3}, mx.Float32), mx.Zeros([]int{4, 5}, mx.Float32)) },
			"Add":     func() { mx.Add(mx.Zeros([]int{2, 3}, mx.Float32), mx.Zeros([]int{4}, mx.Float32)) },
			"Reshape": func() { mx.Reshape(mx.Zeros([]int{2, 3}, mx.Float32), 4, 2) },
			"Take":    func() { mx.Take(mx.Zeros([]int{2}, mx.Float32), mx.Zeros([]int{1}, mx.Float32), 0) },
			"Sum":     func() { mx.Sum(mx.Zeros([]int{2}, mx.Float32), []int{3}, false) },
			"RMSNorm": func() { mx.RMSNorm(mx.Zeros([]int{2, 3}, mx.Float32), mx.Zeros([]int{4}, mx.Float32), 1e-5) },
			"Squeeze": func() { mx.Squeeze(mx.Zeros([]int{2, 3}, mx.Float32), 0) },
			"Concatenate": func() {
				mx.Concatenate([]*mx.Array{mx.Zeros([]int{2, 3}, mx.Float32), mx.Zeros([]int{2, 4}, mx.Float32)}, 0)
			},
		}
		for op, f := range cases {
			func() {
				defer func() {
					r := recover()
					var e *mx.Error
					err, ok := r.(error)
					if !ok || !errors.As(err, &e) {
						t.Fatalf("%s: panic value %v is not an *mx.Error", op, r)
					}
					msg := e.Error()
					if e.Op != op || !strings.Contains(msg, "engine_test.go:") || (op != "Sum" && !strings.Contains(msg, "[")) {
						t.Fatalf("%s: message %q lacks op, shapes or caller", op, msg)
					}
				}()
				f()
			}()
		}
	})
}

func TestAsyncEval(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		a := mx.Arange(0, 100, 1).AsType(mx.Float32).Square().Sum()
		wait := mx.AsyncEval(a)
		wait()
		if !a.Evaluated() || a.Item() != 328350 {
			t.Fatalf("async result %v", a.Item())
		}
	})
}

func TestCacheAndPeak(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		mx.ResetPeakMemory()
		a := mx.Zeros([]int{1 << 16}, mx.Float32).Add(1)
		mx.Eval(a)
		if mx.PeakMemory() < 1<<18 {
			t.Fatalf("peak %d below the 256 KiB just allocated", mx.PeakMemory())
		}
		old := mx.SetCacheLimit(0)
		defer mx.SetCacheLimit(old)
		mx.ClearCache()
		if mx.CacheMemory() != 0 {
			t.Fatal("ClearCache left cached bytes")
		}
	})
}

// TestFusedAttentionMatchesComposite: the fused kernel (no mask, causal, and causal with
// fewer queries than keys as in a KV cache) equals attention built from ordinary ops.
func TestFusedAttentionMatchesComposite(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(5))
		for _, L := range []int{5, 2} {
			q := randArray(r, -1, 1, 2, 4, L, 8)
			k := randArray(r, -1, 1, 2, 2, 5, 8)
			v := randArray(r, -1, 1, 2, 2, 5, 3)
			// An additive causal mask takes the composite path.
			m := make([]float32, L*5)
			for i := 0; i < L; i++ {
				for j := 0; j < 5; j++ {
					if j > i+5-L {
						m[i*5+j] = float32(math.Inf(-1))
					}
				}
			}
			fused := mx.ScaledDotProductAttention(q, k, v, 0.35, "causal")
			ref := mx.ScaledDotProductAttention(q, k, v, 0.35, mx.FromSlice(m, L, 5))
			if d := mx.Max(mx.Abs(mx.Subtract(fused, ref)), nil, false).Item(); d > 1e-6 {
				t.Fatalf("L=%d: fused causal attention differs from the composite by %g", L, d)
			}
			open := mx.ScaledDotProductAttention(q, k, v, 0.35, nil)
			refOpen := mx.ScaledDotProductAttention(q, k, v, 0.35, mx.Zeros([]int{L, 5}, mx.Float32))
			if d := mx.Max(mx.Abs(mx.Subtract(open, refOpen)), nil, false).Item(); d > 1e-6 {
				t.Fatalf("L=%d: fused attention differs from the composite by %g", L, d)
			}
		}
	})
}
