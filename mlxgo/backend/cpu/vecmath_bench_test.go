package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// The benchmarks run each kernel twice: "scalar" is the loop of vecmath.go the
// kernels used before (and still use without AVX2), "vec" the dispatched kernel.
// They report wall and CPU nanoseconds per element (the CPU time of the process
// is the steadier figure on a shared host); their ratio is the speedup.

// benchVec runs f over n elements, once with the scalar loops and once vectorised.
func benchVec(b *testing.B, n int, f func()) {
	for _, mode := range []string{"scalar", "vec"} {
		b.Run(mode, func(b *testing.B) {
			saved := haveVec
			haveVec = saved && mode == "vec"
			defer func() { haveVec = saved }()
			c0 := cpuTime()
			for b.Loop() {
				f()
			}
			per := float64(b.N) * float64(n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/elem")
			b.ReportMetric(float64(cpuTime()-c0)/per, "cpu-ns/elem")
		})
	}
}

func BenchmarkVecKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1 << 16
	x, g, o := randVec(r, n, -10, 10, false), randVec(r, n, -1, 1, false), make([]float32, n)
	b.Run("exp", func(b *testing.B) { benchVec(b, n, func() { expVec(o, x) }) })
	b.Run("sigmoid", func(b *testing.B) { benchVec(b, n, func() { sigmoidVec(o, x) }) })
	b.Run("silu", func(b *testing.B) { benchVec(b, n, func() { siluVec(o, x) }) })
	b.Run("siluGrad", func(b *testing.B) { benchVec(b, n, func() { siluGradVec(o, x, g) }) })
	b.Run("multiply", func(b *testing.B) { benchVec(b, n, func() { floatVV(backend.Multiply, o, x, g) }) })
	b.Run("geluApprox", func(b *testing.B) {
		benchVec(b, n, func() {
			if haveVec {
				geluApproxVec(o, x)
				return
			}
			for i, v := range x {
				o[i] = unaryF(backend.GeluApprox, v) // the tanh form of before
			}
		})
	})
	// Rows of the vocabulary size: the cross-entropy loss and its gradient.
	const V = 49152
	row := randVec(r, V, -10, 10, false)
	out := make([]float32, V)
	b.Run("softmaxRow49152", func(b *testing.B) { benchVec(b, V, func() { softmaxRow(out, row) }) })
	b.Run("logSumExpRow49152", func(b *testing.B) { benchVec(b, V, func() { LogSumExpRow(row) }) })
}

func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	// One decoding step against a cache of 2048 keys.
	{
		d := sdpaDims{B: 1, Hq: 9, Hkv: 3, L: 1, S: 2048, D: 64, Dv: 64}
		q := randVec(r, d.Hq*d.D, -1, 1, false)
		k, v := randVec(r, d.Hkv*d.S*d.D, -1, 1, false), randVec(r, d.Hkv*d.S*d.Dv, -1, 1, false)
		o := make([]float32, len(q))
		b.Run("decode/S=2048", func(b *testing.B) {
			benchVec(b, d.Hq*d.S, func() { attnForward(o, nil, q, k, v, d, 0.125, true) })
		})
	}
	for _, L := range []int{128, 512, 2048} {
		d := sdpaDims{B: 1, Hq: 9, Hkv: 3, L: L, S: L, D: 64, Dv: 64}
		q := randVec(r, d.B*d.Hq*L*d.D, -1, 1, false)
		k := randVec(r, d.B*d.Hkv*L*d.D, -1, 1, false)
		v := randVec(r, d.B*d.Hkv*L*d.Dv, -1, 1, false)
		dO := randVec(r, len(q), -1, 1, false)
		o, dq, dk, dv := make([]float32, len(q)), make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		elems := d.B * d.Hq * L * L / 2 // visible scores
		b.Run(fmt.Sprintf("forward/L=%d", L), func(b *testing.B) {
			benchVec(b, elems, func() { attnForward(o, nil, q, k, v, d, 0.125, true) })
		})
		b.Run(fmt.Sprintf("backward/L=%d", L), func(b *testing.B) {
			benchVec(b, elems, func() { attnBackward(dq, dk, dv, q, k, v, dO, nil, nil, d, 0.125, true) })
		})
		lse := make([]float32, d.B*d.Hq*L)
		attnForward(o, lse, q, k, v, d, 0.125, true)
		b.Run(fmt.Sprintf("backwardKept/L=%d", L), func(b *testing.B) {
			benchVec(b, elems, func() { attnBackward(dq, dk, dv, q, k, v, dO, o, lse, d, 0.125, true) })
		})
	}
}

// BenchmarkAttentionModel times attention in the layout a model gives it: q,
// k, v and dO are the transposes of (B, L, H, D) projections (a row's heads
// side by side), the output is sdpa's own (B, L, H, Dv) buffer with the
// log-sum-exps after it, and the products run on the package's kernels
// ("vec"; "scalar" is the scalar exp and softmax).
func BenchmarkAttentionModel(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range []struct{ B, L int }{{4, 128}, {1, 512}, {1, 2048}} {
		d := sdpaDims{B: sh.B, Hq: 9, Hkv: 3, L: sh.L, S: sh.L, D: 64, Dv: 64}
		rows := func(h int) heads {
			x := randVec(r, d.B*d.L*h*d.D, -1, 1, false)
			return heads{data: x, s0: d.L * h * d.D, s1: d.D, ld: h * d.D}
		}
		q, k, v, dO := rows(d.Hq), rows(d.Hkv), rows(d.Hkv), rows(d.Hq)
		n := d.B * d.Hq * d.L * d.Dv
		all := make([]float32, n+d.B*d.Hq*d.L)
		o := heads{data: all, s0: d.L * d.Hq * d.Dv, s1: d.Dv, ld: d.Hq * d.Dv}
		dq, dk, dv := make([]float32, n), make([]float32, len(k.data)), make([]float32, len(v.data))
		elems := d.B * d.Hq * d.L * d.L / 2
		name := fmt.Sprintf("%dx%d", sh.B, sh.L)
		b.Run("forward/"+name, func(b *testing.B) {
			benchVec(b, elems, func() { attnForwardHeads(o, all[n:], q, k, v, d, 0.125, true) })
		})
		attnForwardHeads(o, all[n:], q, k, v, d, 0.125, true)
		b.Run("backward/"+name, func(b *testing.B) {
			benchVec(b, elems, func() { attnBackwardHeads(dq, dk, dv, q, k, v, dO, &o, all[n:], d, 0.125, true) })
		})
		b.Run("backwardCold/"+name, func(b *testing.B) {
			// Caches emptied before each call, as a training step finds them.
			evict := make([]float32, 16<<20)
			var took time.Duration
			for b.Loop() {
				var sum float32
				for _, x := range evict {
					sum += x
				}
				evict[0] = sum
				t0 := time.Now()
				attnBackwardHeads(dq, dk, dv, q, k, v, dO, &o, all[n:], d, 0.125, true)
				took += time.Since(t0)
			}
			b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "call-ns")
		})
	}
}
