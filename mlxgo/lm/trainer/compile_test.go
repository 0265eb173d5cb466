package trainer_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// TestCompiledStepMatchesUncompiled: training with the compiled step (the default)
// gives the same losses, step for step, as the uncompiled one: plain, with LoRA dropout
// (the random key is compile state) and with gradient checkpointing.
func TestCompiledStepMatchesUncompiled(t *testing.T) {
	for _, c := range []struct {
		name       string
		dropout    float64
		checkpoint bool
	}{{"plain", 0, false}, {"dropout", 0.2, false}, {"checkpoint", 0, true}} {
		t.Run(c.name, func(t *testing.T) {
			losses := map[bool][]float64{}
			for _, compile := range []bool{false, true} {
				m, tr, _, ac := setupLoRA(t, lora.Config{NumLayers: 2, Rank: 4, Scale: 10, Dropout: c.dropout})
				o := baseOptions(t.TempDir(), 5)
				o.SaveEvery, o.StepsPerEval, o.Compile, o.GradCheckpoint = 0, 0, compile, c.checkpoint
				err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, nil, func(e trainer.Event) {
					if e.Kind == "train" {
						losses[compile] = append(losses[compile], e.Loss)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(losses[true]) != 5 || !slices.Equal(losses[true], losses[false]) {
				t.Fatalf("compiled losses %v, uncompiled %v", losses[true], losses[false])
			}
		})
	}
}

// TestCompiledValueAndGrad: the compiled step's graph has fused kernels, and its loss
// and gradients have the bits of nn.ValueAndGrad's, also after the parameters change.
func TestCompiledValueAndGrad(t *testing.T) {
	m, tr, _, _ := setup(t)
	b := data.Make(tr, []int{0, 1, 2, 3}, 0)
	plain := nn.ValueAndGrad(m, trainer.Loss)
	compiled := trainer.CompiledValueAndGrad(m, trainer.Loss)
	for step := range 2 {
		wl, wg := plain(m, b)
		gl, gg := compiled(m, b)
		n := fusedOps(append(tree.Leaves(gg), gl))
		t.Logf("step %d: %d fused kernels", step, n)
		if step == 0 && n == 0 {
			t.Error("the compiled step's graph has no fused kernel")
		}
		mx.Eval(wl, wg, gl, gg)
		if gl.Item() != wl.Item() {
			t.Fatalf("step %d: compiled loss %v, uncompiled %v", step, gl.Item(), wl.Item())
		}
		want := tree.FlattenMap(wg)
		for k, g := range tree.FlattenMap(gg) {
			if !bytes.Equal(g.Bytes(), want[k].Bytes()) {
				t.Fatalf("step %d: gradient %s differs", step, k)
			}
		}
		// An SGD step changes the parameters the next call must see.
		upd := tree.Map(m.TrainableParameters(), func(p *mx.Array) *mx.Array { return mx.Add(p, 0.01) })
		if err := nn.Update(m, upd.(map[string]any)); err != nil {
			t.Fatal(err)
		}
		mx.Eval(m.Parameters())
	}
}

// fusedOps counts the fused kernels in the graph behind outs.
func fusedOps(outs []*mx.Array) int {
	seen := map[*mx.Array]bool{}
	n := 0
	var walk func(*mx.Array)
	walk = func(a *mx.Array) {
		if seen[a] || a.Primitive() == nil {
			return
		}
		seen[a] = true
		if strings.HasPrefix(a.Primitive().Op().Name(), "Compiled") {
			n++
		}
		for _, in := range a.Inputs() {
			walk(in)
		}
	}
	for _, o := range outs {
		walk(o)
	}
	return n
}

// BenchmarkCompiledStep times training steps (loss, gradients, AdamW update, Eval) of
// the fixture model on a 4 × 128 batch, uncompiled and compiled, alternating step by
// step so that the load of a shared host weighs on both alike. It reports the median
// wall time and the mean CPU time (user + system, less sensitive to other processes) of
// a step of each, their ratios, and each step's peak memory.
func BenchmarkCompiledStep(b *testing.B) {
	m, _, _, _ := setup(b)
	ids := mx.RandInt(0, 100, []int{4, 129}, mx.Key(1))
	batch := data.Batch{Inputs: mx.SliceAxis(ids, 1, 0, 128), Targets: mx.SliceAxis(ids, 1, 1, 129), Mask: mx.Ones([]int{4, 128}, mx.Float32)}
	mx.Eval(batch)
	opt := optim.NewAdamW(optim.Constant(1e-4), optim.AdamConfig{})
	steps := []func(*lm.Model, data.Batch) (*mx.Array, map[string]any){
		nn.ValueAndGrad(m, trainer.Loss), trainer.CompiledValueAndGrad(m, trainer.Loss)}
	var wall [2][]float64
	var cpu, peak [2]float64
	for i := 0; i < b.N+2; i++ {
		for k, step := range steps {
			mx.ResetPeakMemory()
			base, c0, start := mx.ActiveMemory(), cpuTime(), time.Now()
			l, g := step(m, batch)
			opt.Update(m, g)
			mx.Eval(l, m.Parameters(), opt.State())
			if i >= 2 { // the first two are warm-up (and the trace)
				wall[k] = append(wall[k], time.Since(start).Seconds())
				cpu[k] += (cpuTime() - c0).Seconds() / float64(b.N)
				peak[k] = max(peak[k], float64(mx.PeakMemory()-base)/(1<<20))
			}
		}
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	eager, compiled := med(wall[0]), med(wall[1])
	b.ReportMetric(eager*1e3, "eager-ms")
	b.ReportMetric(compiled*1e3, "compiled-ms")
	b.ReportMetric(eager/compiled, "speedup")
	b.ReportMetric(cpu[0]*1e3, "eager-cpu-ms")
	b.ReportMetric(cpu[1]*1e3, "compiled-cpu-ms")
	b.ReportMetric(cpu[0]/cpu[1], "cpu-speedup")
	b.ReportMetric(peak[0], "eager-MiB")
	b.ReportMetric(peak[1], "compiled-MiB")
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
