package cpu

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns how many float32 spacings at want got lies from the exact value want.
func ulps(got float32, want float64) float64 {
	if math.IsInf(want, 0) || want > math.MaxFloat32 {
		if math.IsInf(float64(got), 1) {
			return 0
		}
		return math.Inf(1)
	}
	w := float32(want)
	sp := float64(math.Nextafter32(w, float32(math.Inf(1))) - w)
	if w == math.MaxFloat32 {
		sp = float64(w - math.Nextafter32(w, 0))
	}
	return math.Abs(float64(got)-want) / sp
}

// expSweep returns float32 arguments over the whole range exp is finite and
// nonzero on, by steps of the bit pattern, plus the edges.
func expSweep() []float32 {
	var xs []float32
	for _, lim := range []float32{-104.5, 89} {
		for b := uint32(0); ; b += 997 {
			x := math.Float32frombits(b)
			if x > float32(math.Abs(float64(lim))) {
				break
			}
			if lim < 0 {
				x = -x
			}
			xs = append(xs, x)
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	return append(xs, 88.72283, 88.72284, -87.33, -103.97208, -103.98, -104, -150, 1e-30, -1e-30, 0,
		math.Float32frombits(1), inf, -inf, nan)
}

func TestExpVecAccuracy(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		xs := expSweep()
		got, ref := make([]float32, len(xs)), make([]float32, len(xs))
		expVec(got, xs)
		expVecGo(ref, xs)
		worst, worstRef := 0.0, 0.0
		for i, x := range xs {
			want := math.Exp(float64(x))
			switch {
			case x != x:
				if got[i] == got[i] {
					t.Fatalf("exp(NaN) = %v", got[i])
				}
				continue
			case want < 0x1p-149/2:
				if got[i] != 0 {
					t.Fatalf("exp(%v) = %v, want 0", x, got[i])
				}
				continue
			case want > math.MaxFloat32:
				if !math.IsInf(float64(got[i]), 1) {
					t.Fatalf("exp(%v) = %v, want +Inf", x, got[i])
				}
				continue
			}
			worst = max(worst, ulps(got[i], want))
			if want >= 0x1p-126 { // the scalar reference rounds twice below the normal range
				worstRef = max(worstRef, ulps(ref[i], want))
			}
		}
		t.Logf("exp over %d arguments: max error %.3f ulp (scalar expf %.3f ulp on normal results)", len(xs), worst, worstRef)
		if worst > 1.5 {
			t.Fatalf("max error %.3f ulp", worst)
		}
	})
}

// randVec returns n values in [lo, hi) with a few specials mixed in.
func randVec(r *rand.Rand, n int, lo, hi float32, specials bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float32()
		if specials && r.IntN(50) == 0 {
			x[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 90, -120}[r.IntN(6)]
		}
	}
	return x
}

// close32 reports whether a and b agree to rel relative error (or both NaN,
// or equal).
func close32(a, b float32, rel float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	if a == b {
		return true
	}
	return math.Abs(float64(a)-float64(b)) <= rel*math.Max(math.Abs(float64(a)), math.Abs(float64(b)))+1e-37
}

func TestVecKernelsMatchScalar(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range []int{0, 1, 7, 8, 9, 31, 64, 1000} {
			x := randVec(r, n, -30, 30, true)
			g := randVec(r, n, -2, 2, false)
			for _, k := range []struct {
				name     string
				vec, ref func(dst, src []float32)
			}{{"exp", expVec, expVecGo}, {"sigmoid", sigmoidVec, sigmoidVecGo}, {"silu", siluVec, siluVecGo}} {
				got, want := make([]float32, n), make([]float32, n)
				k.vec(got, x)
				k.ref(want, x)
				for i := range got {
					if !close32(got[i], want[i], 4e-7) {
						t.Fatalf("%s n=%d x=%v: %v, scalar %v", k.name, n, x[i], got[i], want[i])
					}
				}
			}
			got, want := make([]float32, n), make([]float32, n)
			siluGradVec(got, x, g)
			siluGradVecGo(want, x, g)
			for i := range got {
				if !close32(got[i], want[i], 1e-6) {
					t.Fatalf("siluGrad n=%d x=%v g=%v: %v, scalar %v", n, x[i], g[i], got[i], want[i])
				}
			}
			if a, b := maxVec(x), maxVecGo(x); !close32(a, b, 0) {
				t.Fatalf("max n=%d: %v, scalar %v", n, a, b)
			}
			y := randVec(r, n, -30, 30, false)
			m := maxVecGo(y)
			s1, s2 := expSubSum(got, y, m), expSubSumGo(want, y, m)
			if math.Abs(s1-s2) > 1e-6*s2 {
				t.Fatalf("expSubSum n=%d: %v, scalar %v", n, s1, s2)
			}
			for i := range got {
				if !close32(got[i], want[i], 4e-7) {
					t.Fatalf("expSubSum n=%d x=%v: %v, scalar %v", n, y[i], got[i], want[i])
				}
			}
			if s3 := sumExpSub(y, m); math.Abs(s3-s2) > 1e-6*s2 {
				t.Fatalf("sumExpSub n=%d: %v, scalar %v", n, s3, s2)
			}
			if a, b := dotVec(x, g), dotVecGo(x, g); !close32(a, b, 1e-4) && math.Abs(float64(a-b)) > 1e-3 {
				t.Fatalf("dot n=%d: %v, scalar %v", n, a, b)
			}
			p1, p2 := append([]float32(nil), y...), append([]float32(nil), y...)
			d1, d2 := append([]float32(nil), g...), append([]float32(nil), g...)
			expGradRow(p1, d1, m, 0.3, 0.125)
			expGradRowGo(p2, d2, m, 0.3, 0.125)
			softmaxGradRow(d1, p1, 0.2, 0.5)
			softmaxGradRowGo(d2, p2, 0.2, 0.5)
			scaleVec(p1, 3)
			scaleVecGo(p2, 3)
			for i := range p1 {
				if !close32(p1[i], p2[i], 1e-6) || !close32(d1[i], d2[i], 1e-6) {
					t.Fatalf("expGradRow/softmaxGradRow/scale n=%d i=%d: %v %v, scalar %v %v", n, i, p1[i], d1[i], p2[i], d2[i])
				}
			}
		}
	})
}

func TestVecSpecials(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		nan, inf := float32(math.NaN()), float32(math.Inf(1))
		x := []float32{1, 2, nan, 3, 4, 5, 6, 7, 8, 9}
		if m := maxVec(x); m == m {
			t.Fatalf("max with a NaN = %v", m)
		}
		if m := maxVec([]float32{-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf}); m != -inf {
			t.Fatalf("max of -Inf = %v", m)
		}
		if m := maxVec(nil); m != -inf {
			t.Fatalf("max of nothing = %v", m)
		}
		s := make([]float32, 9)
		sigmoidVec(s, []float32{-inf, inf, 0, -200, 200, nan, 1, -1, 50})
		if s[0] != 0 || s[1] != 1 || s[2] != 0.5 || s[3] != 0 || s[4] != 1 || s[5] == s[5] {
			t.Fatalf("sigmoid specials: %v", s)
		}
		p := []float32{0, -200, nan, 5, 0, 0, 0, 0, -1}
		expSubSum(p, p, 0)
		if p[0] != 1 || p[1] != 0 || p[2] == p[2] || p[3] != expf(5) {
			t.Fatalf("expSubSum specials: %v", p)
		}
	})
}

// TestSwiGLUGradVec: the fused kernel gives the same bits as the three kernels it
// replaces (a product, SiLU's gradient, SiLU and a product), on each vector variant
// and on the Go loops, tails included (a NaN as a NaN, whatever its payload).
func TestSwiGLUGradVec(t *testing.T) {
	check := func(t *testing.T, fused func(dg, du, x, u, g []float32), silu, siluGrad func(dst, x, g []float32), mul func(o, x, y []float32)) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{0, 1, 7, 8, 9, 31, 64, 1000} {
			x, u, g := randVec(r, n, -30, 30, true), randVec(r, n, -3, 3, false), randVec(r, n, -2, 2, false)
			dg, du := make([]float32, n), make([]float32, n)
			fused(dg, du, x, u, g)
			tt, wg, wu := make([]float32, n), make([]float32, n), make([]float32, n)
			mul(tt, g, u)
			siluGrad(wg, x, tt)
			silu(tt, x, nil)
			mul(wu, g, tt)
			same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b }
			for i := range n {
				if !same(dg[i], wg[i]) || !same(du[i], wu[i]) {
					t.Fatalf("n=%d gate=%v up=%v g=%v: (%v, %v), the kernels apart (%v, %v)", n, x[i], u[i], g[i], dg[i], du[i], wg[i], wu[i])
				}
			}
		}
	}
	mulVec := func(o, x, y []float32) { floatVV(backend.Multiply, o, x, y) }
	mulGo := func(o, x, y []float32) {
		for i := range o {
			o[i] = x[i] * y[i]
		}
	}
	forEachVariant(t, func(t *testing.T) {
		check(t, swigluGradVec, func(dst, x, _ []float32) { siluVec(dst, x) }, siluGradVec, mulVec)
	})
	t.Run("go", func(t *testing.T) {
		check(t, swigluGradVecGo, func(dst, x, _ []float32) { siluVecGo(dst, x) }, siluGradVecGo, mulGo)
	})
}
