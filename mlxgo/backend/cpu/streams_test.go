package cpu_test

import (
	"math"
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

// probe is a test op: its kernel sleeps, copies its first input (or writes Fill), records
// how many probes run at once, and panics when Panic is set.
type probe struct {
	ID      int
	Sleep   time.Duration
	Fill    float32
	Panic   bool
	ordered bool
}

func (probe) Name() string    { return "Probe" }
func (p probe) Ordered() bool { return p.ordered }

var probes struct {
	sync.Mutex
	running, most int
	log           []string // "start ID" and "end ID", in order
	aloneOK       bool     // every ordered probe ran with no other probe running
}

func init() {
	cpu.Register(func(p probe, in []*backend.Node, out *backend.Node) {
		probes.Lock()
		probes.running++
		probes.most = max(probes.most, probes.running)
		if p.ordered && probes.running != 1 {
			probes.aloneOK = false
		}
		probes.log = append(probes.log, "start "+string(rune('A'+p.ID)))
		probes.Unlock()
		time.Sleep(p.Sleep)
		if p.Panic {
			panic("probe failed")
		}
		o := make([]float32, out.Size())
		if len(in) > 0 {
			copy(o, cpu.Floats(in[0]))
		} else {
			for i := range o {
				o[i] = p.Fill
			}
		}
		out.Set(cpu.External(f32bytes(o), nil))
		probes.Lock()
		probes.running--
		probes.log = append(probes.log, "end "+string(rune('A'+p.ID)))
		probes.Unlock()
	})
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		u := math.Float32bits(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

func resetProbes() {
	probes.Lock()
	probes.running, probes.most, probes.log, probes.aloneOK = 0, 0, nil, true
	probes.Unlock()
}

func withStreams(t *testing.T, n int) {
	t.Helper()
	prevProcs := runtime.GOMAXPROCS(4)
	prev := cpu.SetStreams(n)
	t.Cleanup(func() { cpu.SetStreams(prev); runtime.GOMAXPROCS(prevProcs) })
}

func node(n int) *backend.Node { return &backend.Node{Shape: []int{n}, Dtype: backend.Float32} }

// TestStreamsOverlapAndOrdered: independent steps run at once on 4 streams, done is
// called once per step, and an Ordered step runs alone, after every step before it and
// before every step after it.
func TestStreamsOverlapAndOrdered(t *testing.T) {
	withStreams(t, 4)
	resetProbes()
	var tape []backend.Step
	for i := range 7 {
		tape = append(tape, backend.Step{Op: probe{ID: i, Sleep: 20 * time.Millisecond, Fill: float32(i), ordered: i == 3}, Out: node(4)})
	}
	var calls []int
	cpu.Executor{}.Run(tape, func(i int) { calls = append(calls, i) })
	slices.Sort(calls)
	if !slices.Equal(calls, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Fatalf("done calls %v, want each step once", calls)
	}
	if probes.most < 2 {
		t.Errorf("at most %d steps ran at once on 4 streams, want several", probes.most)
	}
	if !probes.aloneOK {
		t.Errorf("the ordered step ran beside another: %v", probes.log)
	}
	at := slices.Index(probes.log, "start D")
	before, after := probes.log[:at], probes.log[at:]
	for _, id := range "ABC" {
		if !slices.Contains(before, "end "+string(id)) {
			t.Errorf("step %c had not finished when the ordered step started: %v", id, probes.log)
		}
	}
	for _, id := range "EFG" {
		if slices.Contains(before, "start "+string(id)) || !slices.Contains(after, "start "+string(id)) {
			t.Errorf("step %c started before the ordered step: %v", id, probes.log)
		}
	}
	for i, st := range tape {
		if got := cpu.Floats(st.Out)[0]; got != float32(i) {
			t.Errorf("step %d wrote %v", i, got)
		}
	}
}

// TestStreamsDonation: a step allowed to donate its input (the last reader in the
// tape's order) does not write over it while an earlier reader, running beside it, still
// reads it.
func TestStreamsDonation(t *testing.T) {
	withStreams(t, 2)
	resetProbes()
	x := node(1024)
	slow, neg := node(1024), node(1024)
	tape := []backend.Step{
		{Op: probe{ID: 0, Fill: 3}, Out: x},
		{Op: probe{ID: 1, Sleep: 30 * time.Millisecond}, Inputs: []*backend.Node{x}, Out: slow},
		{Op: backend.Unary{Kind: backend.Negative}, Inputs: []*backend.Node{x}, Out: neg, Donate: []bool{true}},
	}
	// x is pool memory, as a kernel's output would be.
	tape[0].Op = backend.Full{Value: 3}
	cpu.Executor{}.Run(tape, func(int) {})
	for i, v := range cpu.Floats(slow) {
		if v != 3 {
			t.Fatalf("the slow reader saw %v at %d: its input was written over", v, i)
		}
	}
	if v := cpu.Floats(neg)[0]; v != -3 {
		t.Fatalf("-x = %v, want -3", v)
	}
}

// TestStreamsPanic: a kernel's panic on one stream reaches Run's caller, after the
// other streams have stopped.
func TestStreamsPanic(t *testing.T) {
	withStreams(t, 3)
	resetProbes()
	tape := []backend.Step{
		{Op: probe{ID: 0, Sleep: 10 * time.Millisecond}, Out: node(1)},
		{Op: probe{ID: 1, Panic: true}, Out: node(1)},
		{Op: probe{ID: 2, Sleep: 10 * time.Millisecond}, Out: node(1)},
	}
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "probe failed") {
			t.Fatalf("Run panicked with %v, want the kernel's panic", r)
		}
	}()
	cpu.Executor{}.Run(tape, func(int) {})
	t.Fatal("Run returned after a kernel panicked")
}

// TestStreamsSameBits: a graph of independent branches (matrix products, some of them
// on the BLAS library, elementwise chains, reductions) gives the same bits on 2 and 4
// streams and again on 4.
func TestStreamsSameBits(t *testing.T) {
	run := func(streams int) [][]float32 {
		withStreams(t, streams)
		var outs []*mx.Array
		for b := range 4 {
			x := mx.Normal([]int{64, 96}, 0, 1, mx.Float32, mx.Key(uint64(b)))
			w := mx.Normal([]int{96, 128}, 0, 1, mx.Float32, mx.Key(uint64(10+b)))
			h := mx.Exp(mx.Multiply(mx.Matmul(x, w), mx.Scalar(0.01)))
			outs = append(outs, mx.Sum(mx.Add(h, mx.Matmul(mx.Matmul(h, mx.Transpose(w)), w)), []int{0}, false))
		}
		mx.Eval(outs)
		var got [][]float32
		for _, o := range outs {
			got = append(got, o.Float32s())
		}
		return got
	}
	two, four, again := run(2), run(4), run(4)
	for b := range two {
		if !slices.Equal(two[b], four[b]) || !slices.Equal(four[b], again[b]) {
			t.Fatalf("branch %d differs between runs on 2 and 4 streams", b)
		}
	}
}

// TestParseStreams: MLXGO_STREAMS is a count of 1 or more; anything else is named and
// ignored.
func TestParseStreams(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int
		msg  bool
	}{{"", 0, false}, {"2", 2, false}, {" 4 ", 4, false}, {"0", 0, true}, {"two", 0, true}} {
		var w strings.Builder
		if got := cpu.ParseStreams(c.env, &w); got != c.want || c.msg != strings.Contains(w.String(), "MLXGO_STREAMS") {
			t.Errorf("MLXGO_STREAMS=%q: %d, message %q", c.env, got, w.String())
		}
	}
}
