package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// primStat accumulates one primitive's kernels over a profiled step.
type primStat struct {
	name  string
	calls int
	dur   time.Duration
	cpu   time.Duration // the process's CPU time over the kernels
	bytes float64       // read and written
	flops float64       // of the kernels that have a count (matrix products, attention)
}

// gemmStat accumulates the matrix products of one shape.
type gemmStat struct {
	shape string
	calls int
	dur   time.Duration
	flops float64
}

// profiler is an mx.Backend that hands the backend it wraps one step of the
// tape at a time and times each.
type profiler struct {
	inner mx.Backend
	stats map[string]*primStat
}

func (p *profiler) Name() string { return "profile(" + p.inner.Name() + ")" }

func (p *profiler) Run(tape []backend.Step, done func(int)) {
	for i, st := range tape {
		name := st.Op.Name()
		t0, c0 := time.Now(), processCPU()
		p.inner.Run(tape[i:i+1], func(int) { done(i) })
		d, c := time.Since(t0), processCPU()-c0
		s := p.stats[name]
		if s == nil {
			s = &primStat{name: name}
			p.stats[name] = s
		}
		s.calls++
		s.dur += d
		s.cpu += c
		s.bytes += float64(st.Out.NBytes())
		for _, x := range st.Inputs {
			s.bytes += float64(x.NBytes())
		}
		s.flops += kernelFLOPs(name, st.Inputs, st.Out)
	}
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// kernelFLOPs counts the floating-point operations a kernel performs, for
// the primitives that dominate a training step; 0 for the others.
func kernelFLOPs(name string, in []*backend.Node, out *backend.Node) float64 {
	switch name {
	case "Matmul":
		return 2 * float64(out.Size()) * float64(in[0].Shape[in[0].Ndim()-1])
	case "ScaledDotProductAttention", "ScaledDotProductAttentionGrad":
		q, k, v := in[0].Shape, in[1].Shape, in[2].Shape
		heads := float64(q[0] * q[1])
		ls := float64(q[2] * k[2])
		f := heads * ls * 2 * float64(q[3]+v[3]) // scores and values, all of them
		if name == "ScaledDotProductAttentionGrad" {
			f += heads * ls * 4 * float64(q[3]+v[3]) // dV, dP, dQ, dK
		}
		return f
	}
	return 0
}

// profileStep runs step once with every kernel and every matrix product
// timed and writes two tables to w: primitives by time, with the cores they
// kept busy (the process's CPU time over the kernels' time), bytes moved and
// FLOP rates, and the matrix-product shapes by time. modelFLOPs is the
// step's count as mfu uses it, printed for comparison.
func profileStep(w io.Writer, modelFLOPs float64, step func()) {
	p := &profiler{inner: mx.CurrentBackend().Backend, stats: map[string]*primStat{}}
	var mu sync.Mutex
	gemms := map[string]*gemmStat{}
	blas.SetTrace(func(c blas.Call) {
		t := func(b bool) string {
			if b {
				return "T"
			}
			return "N"
		}
		key := fmt.Sprintf("%s%s %5d×%5d×%5d", t(c.TransA), t(c.TransB), c.M, c.N, c.K)
		mu.Lock()
		g := gemms[key]
		if g == nil {
			g = &gemmStat{shape: key}
			gemms[key] = g
		}
		g.calls++
		g.dur += c.Dur
		g.flops += 2 * float64(c.M) * float64(c.N) * float64(c.K)
		mu.Unlock()
	})
	old := mx.SetBackend(p)
	t0 := time.Now()
	step()
	total := time.Since(t0)
	mx.SetBackend(old)
	blas.SetTrace(nil)

	prims := slices.Collect(func(yield func(*primStat) bool) {
		for _, s := range p.stats {
			if !yield(s) {
				return
			}
		}
	})
	slices.SortFunc(prims, func(a, b *primStat) int { return int(b.dur - a.dur) })
	var kernels time.Duration
	for _, s := range prims {
		kernels += s.dur
	}
	fmt.Fprintf(w, "profile of one step: %.3f s, %.3f s in kernels, model %.1f GFLOP (%.1f GFLOP/s)\n",
		total.Seconds(), kernels.Seconds(), modelFLOPs/1e9, modelFLOPs/total.Seconds()/1e9)
	fmt.Fprintf(w, "%-32s %7s %9s %6s %6s %10s %9s %10s\n", "primitive", "calls", "time s", "%", "cores", "GB r+w", "GB/s", "GFLOP/s")
	for _, s := range prims {
		rate := "-"
		if s.flops > 0 {
			rate = fmt.Sprintf("%.1f", s.flops/s.dur.Seconds()/1e9)
		}
		fmt.Fprintf(w, "%-32s %7d %9.4f %6.1f %6.2f %10.3f %9.1f %10s\n", s.name, s.calls, s.dur.Seconds(),
			100*s.dur.Seconds()/kernels.Seconds(), s.cpu.Seconds()/s.dur.Seconds(), s.bytes/1e9, s.bytes/1e9/s.dur.Seconds(), rate)
	}
	gs := slices.Collect(func(yield func(*gemmStat) bool) {
		for _, g := range gemms {
			if !yield(g) {
				return
			}
		}
	})
	slices.SortFunc(gs, func(a, b *gemmStat) int { return int(b.dur - a.dur) })
	fmt.Fprintf(w, "matrix products (op(A) M×K times op(B) K×N, shape MxNxK), %s:\n", blas.Backend())
	fmt.Fprintf(w, "%-22s %7s %9s %9s\n", "shape", "calls", "time s", "GFLOP/s")
	for _, g := range gs {
		fmt.Fprintf(w, "%-22s %7d %9.4f %9.1f\n", g.shape, g.calls, g.dur.Seconds(), g.flops/g.dur.Seconds()/1e9)
	}
}
