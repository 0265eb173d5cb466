package mx_test

import (
	"math/rand"
	"runtime"
	"testing"
	"time"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// BenchmarkCompileElementwise evaluates elementwise chains on 1M float32 elements, each
// op its own kernel (unfused) and compiled into one fused kernel, and reports both
// times per evaluation (ns/op counts one of each), the speed-up, and the memory one
// evaluation allocates beyond its inputs (peak active memory).
func BenchmarkCompileElementwise(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := randArray(r, -4, 4, 1024, 1024)
	chains := []struct {
		name string
		f    func([]*mx.Array) []*mx.Array
		in   []*mx.Array
	}{
		{"gelu", geluChain, []*mx.Array{x, randArray(r, -1, 1, 1024)}},
		{"silu", siluChain, []*mx.Array{x, randArray(r, 0, 2, 1024, 1)}},
	}
	for _, c := range chains {
		b.Run(c.name, func(b *testing.B) {
			compiled := mx.Compile(c.f)
			// peak is the memory one evaluation allocates beyond what is live before it.
			peak := func(f func([]*mx.Array) []*mx.Array) float64 {
				for range 3 { // release the results of earlier evaluations (cleanups run after GC)
					runtime.GC()
					time.Sleep(10 * time.Millisecond)
				}
				mx.ResetPeakMemory()
				base := mx.ActiveMemory()
				mx.Eval(f(c.in))
				return float64(mx.PeakMemory()-base) / (1 << 20)
			}
			mu, mf := peak(c.f), peak(compiled) // the first compiled call traces
			// The two run alternately, so a change in the load of a shared host hits both.
			var tu, tf time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				mx.Eval(c.f(c.in))
				tu += time.Since(start)
				start = time.Now()
				mx.Eval(compiled(c.in))
				tf += time.Since(start)
			}
			tu, tf = tu/time.Duration(b.N), tf/time.Duration(b.N)
			b.ReportMetric(float64(tu.Microseconds()), "unfused-µs")
			b.ReportMetric(float64(tf.Microseconds()), "fused-µs")
			b.ReportMetric(float64(tu)/float64(tf), "speedup")
			b.ReportMetric(mu, "unfused-MiB")
			b.ReportMetric(mf, "fused-MiB")
		})
	}
}
