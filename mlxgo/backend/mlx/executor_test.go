package mlx

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

// testExecutor returns the MLX executor, or skips when mlx-c is not available (CI has
// no MLX). With MLXGO_MLXC_PATH set, failing to open is a test failure.
func testExecutor(t testing.TB) *Executor {
	t.Helper()
	e, err := Open()
	if err != nil {
		if os.Getenv(mlxc.EnvPath) != "" {
			t.Fatal(err)
		}
		t.Skipf("mlx-c not available, set %s to run the MLX backend tests: %v", mlxc.EnvPath, err)
	}
	return e
}

// hostNode returns a computed float32 node in CPU storage.
func hostNode(shape []int, v ...float32) *backend.Node {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return &backend.Node{Shape: shape, Dtype: backend.Float32, Storage: cpu.External(b, nil)}
}

// values copies a computed float32 node's elements out.
func values(n *backend.Node) []float32 {
	b, _ := backend.HostBytes(n.Storage)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestTapeRunsAsOneEvalAndStaysInMLX(t *testing.T) {
	e := testExecutor(t)
	x := hostNode([]int{2, 2}, 1, 2, 3, 4)
	y := hostNode([]int{2}, 10, 20)
	sum := &backend.Node{Shape: []int{2, 2}, Dtype: backend.Float32}
	prod := &backend.Node{Shape: []int{2, 2}, Dtype: backend.Float32}
	tape := []backend.Step{
		{Op: backend.Binary{Kind: backend.Add}, Inputs: []*backend.Node{x, y}, Out: sum},
		{Op: backend.Matmul{}, Inputs: []*backend.Node{sum, x}, Out: prod, Keep: true},
	}
	before := e.Stats()
	var done []int
	e.Run(tape, func(i int) { done = append(done, i) })
	d := e.Stats().Sub(before)
	if len(done) != 2 || done[0] != 0 || done[1] != 1 {
		t.Fatalf("done calls %v", done)
	}
	if d.Evals != 1 || d.ToMLX != 24 || d.ToHost != 0 {
		t.Fatalf("stats %+v: want one eval, 24 bytes in, none out", d)
	}
	if _, ok := sum.Storage.(dropped); !ok {
		t.Fatalf("the intermediate (Keep false) holds %T, want it dropped", sum.Storage)
	}
	if prod.Storage.Backend() != "mlx" || x.Storage.Backend() != "mlx" {
		t.Fatalf("result storage is %s, input's %s: want both in MLX", prod.Storage.Backend(), x.Storage.Backend())
	}
	// (x + y) @ x = [[11 22] [13 24]] @ [[1 2] [3 4]]
	want := []float32{77, 110, 85, 122}
	if got := values(prod); !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if d := e.Stats().Sub(before); d.ToHost != 16 || d.Downloads != 1 {
		t.Fatalf("reading the result: stats %+v", d)
	}
	// A second tape reading the MLX result copies nothing in.
	neg := &backend.Node{Shape: []int{2, 2}, Dtype: backend.Float32}
	before = e.Stats()
	e.Run([]backend.Step{{Op: backend.Unary{Kind: backend.Negative}, Inputs: []*backend.Node{prod}, Out: neg, Keep: true}}, func(int) {})
	if d := e.Stats().Sub(before); d.ToMLX != 0 {
		t.Fatalf("stats %+v: an MLX input was copied", d)
	}
	for _, n := range []*backend.Node{x, y, sum, prod, neg} {
		n.Free()
	}
}

func TestMLXErrorPanicsWithMLXMessage(t *testing.T) {
	e := testExecutor(t)
	a := hostNode([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	b := hostNode([]int{2, 2}, 1, 2, 3, 4)
	out := &backend.Node{Shape: []int{2, 2}, Dtype: backend.Float32}
	defer func() {
		r := recover()
		err, ok := r.(error)
		var oe *backend.OpError
		if !ok || !errors.As(err, &oe) || oe.Op != "Matmul" || !strings.Contains(oe.Msg, "[matmul]") {
			t.Fatalf("recovered %v, want an OpError of Matmul carrying MLX's message", r)
		}
		if out.Storage != nil {
			t.Fatal("failed step has storage")
		}
		// The executor goes on working.
		TestTapeRunsAsOneEvalAndStaysInMLX(t)
	}()
	e.Run([]backend.Step{{Op: backend.Matmul{}, Inputs: []*backend.Node{a, b}, Out: out, Keep: true}}, func(int) {})
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5*math.Max(1, math.Abs(float64(b[i]))) {
			return false
		}
	}
	return true
}

func TestOutOfMemoryPanicsInsteadOfExiting(t *testing.T) {
	e := testExecutor(t)
	huge := &backend.Node{Shape: []int{1 << 20, 1 << 20, 1 << 10}, Dtype: backend.Float32} // 4 PiB
	sum := &backend.Node{Shape: []int{1, 1, 1}, Dtype: backend.Float32}
	tape := []backend.Step{
		{Op: backend.Full{Value: 1}, Out: huge},
		{Op: backend.Reduce{Kind: backend.Sum, Axes: []int{0, 1, 2}}, Inputs: []*backend.Node{huge}, Out: sum, Keep: true},
	}
	defer func() {
		r := recover()
		var oe *backend.OpError
		if err, ok := r.(error); !ok || !errors.As(err, &oe) || !strings.Contains(oe.Msg, "emory") && !strings.Contains(oe.Msg, "allocate") {
			t.Fatalf("recovered %v, want an OpError about memory", r)
		}
		t.Log(r)
	}()
	e.Run(tape, func(int) {})
}
