package mx_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// These tests are meant for `go test -race` (make test runs them so): several
// goroutines build, evaluate and differentiate graphs at once.

// workload builds a small model's loss and gradient from x and the shared
// parameters, and returns their values.
func workload(w, b, x *mx.Array) []float32 {
	loss := func(p [2]*mx.Array) *mx.Array {
		h := mx.Add(mx.Matmul(x, p[0]), p[1])
		return mx.Mean(mx.Square(mx.Softmax(h, -1)), nil, false)
	}
	g := mx.GradOf(loss)([2]*mx.Array{w, b})
	l := loss([2]*mx.Array{w, b})
	mx.Eval(l, g)
	out := append([]float32{float32(l.Item())}, g[0].Float32s()...)
	return append(out, g[1].Float32s()...)
}

// TestConcurrentGraphsSharedParameters evaluates independent graphs from 8
// goroutines at once, all reading the same evaluated parameters: every result
// equals the one computed alone, bit for bit, and the parameters are unchanged.
func TestConcurrentGraphsSharedParameters(t *testing.T) {
	w := mx.Normal([]int{16, 8}, 0, 1, mx.Float32, mx.Key(1))
	b := mx.Normal([]int{8}, 0, 1, mx.Float32, mx.Key(2))
	mx.Eval(w, b)
	w0, b0 := w.Float32s(), b.Float32s()
	const goroutines, rounds = 8, 5
	inputs := make([]*mx.Array, goroutines)
	want := make([][]float32, goroutines)
	for i := range inputs {
		inputs[i] = mx.Normal([]int{4, 16}, 0, 1, mx.Float32, mx.Key(uint64(10+i)))
		mx.Eval(inputs[i])
		want[i] = workload(w, b, inputs[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds)
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if got := workload(w, b, inputs[i]); !slices.Equal(got, want[i]) {
					errs <- fmt.Errorf("goroutine %d round %d: results differ from the serial run", i, r)
				}
				// An AsyncEval among the Evals of the others.
				y := mx.Sum(mx.Matmul(inputs[i], w), nil, false)
				wait := mx.AsyncEval(y)
				wait()
				if !y.Evaluated() {
					errs <- fmt.Errorf("goroutine %d: AsyncEval left its array unevaluated", i)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !slices.Equal(w.Float32s(), w0) || !slices.Equal(b.Float32s(), b0) {
		t.Error("shared parameters changed")
	}
}

// gateOp is an identity op whose CPU kernel waits for its gate to close: a test
// holds an evaluation in flight as long as it needs.
type gateOp struct{ gate chan struct{} }

func (gateOp) Name() string { return "TestGate" }

type gatePrim struct{ gate chan struct{} }

func (p gatePrim) Op() backend.Op { return gateOp(p) }
func (gatePrim) VJP(_ []*mx.Array, _, g *mx.Array) []*mx.Array {
	return []*mx.Array{g}
}

func init() {
	cpu.Register(func(op gateOp, in []*backend.Node, out *backend.Node) {
		<-op.gate
		o, commit := cpu.OutFloats(out)
		copy(o, cpu.Floats(in[0]))
		commit()
	})
}

// TestInFlightArrays holds an evaluation running (AsyncEval of a graph whose
// kernel waits) and checks what another goroutine sees of its arrays:
// Evaluated waits for the evaluation to end instead of racing with it, and a
// gradient through an array being computed panics with a message naming the
// op, instead of silently walking a half-detached graph.
func TestInFlightArrays(t *testing.T) {
	if mx.CurrentBackend().Name() != "cpu" {
		t.Skip("the gate kernel is a CPU kernel")
	}
	x := mx.FromSlice([]float32{1, 2, 3})
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	defer release() // a failed check must not leave the evaluation (and its lock) held
	y := mx.NewArray([]int{3}, mx.Float32, gatePrim{gate}, x)
	wait := mx.AsyncEval(y)

	panicked := make(chan string, 1)
	go func() {
		defer func() { panicked <- fmt.Sprint(recover()) }()
		mx.GradOf(func(a *mx.Array) *mx.Array { return mx.Sum(mx.Multiply(a, y), nil, false) })(x)
	}()
	msg := <-panicked
	if !strings.Contains(msg, "an evaluation running now is computing") || !strings.Contains(msg, "TestGate") {
		t.Errorf("gradient through an array being evaluated: panic %q, want one naming the op and the cause", msg)
	}

	evaluated := make(chan bool, 1)
	go func() { evaluated <- y.Evaluated() }()
	select {
	case <-evaluated:
		t.Fatal("Evaluated returned while the evaluation computing the array was still running")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if !<-evaluated {
		t.Error("Evaluated is false after the evaluation ended")
	}
	wait()
	if got := y.Float32s(); !slices.Equal(got, []float32{1, 2, 3}) {
		t.Errorf("y = %v, want [1 2 3]", got)
	}
}

// TestRecomputedIntermediateFreedOnce evaluates, from several goroutines, graphs
// that share an unevaluated intermediate only through evaluated inputs: each
// goroutine's intermediate is freed by one Eval and recomputed by the next, and
// must be released once when it becomes garbage (two releases would hand its buffer
// to the pool twice; -race saw the two cleanups run at once).
func TestRecomputedIntermediateFreedOnce(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			x := mx.FromSlice([]float32{float32(g), 1, 2, 3})
			for i := 0; i < 50; i++ {
				mid := mx.Exp(x)
				a, b := mx.Sum(mid, nil, false), mx.Max(mid, nil, false)
				mx.Eval(a)
				mx.Eval(b) // mid was freed by the first Eval: computed again
				if a.Item() <= b.Item() {
					t.Errorf("sum %v <= max %v", a.Item(), b.Item())
					return
				}
			}
		}(g)
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	if m := mx.ActiveMemory(); m < 0 {
		t.Errorf("active memory %d < 0: a buffer was released twice", m)
	}
}
