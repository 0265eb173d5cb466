package cpu_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

func floatNode(v []float32, shape ...int) *backend.Node {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return &backend.Node{Shape: shape, Dtype: backend.Float32, Storage: cpu.External(b, nil)}
}

// TestTapeWithoutMx drives the executor the way mx does, with no mx involved: a tape
// whose second step reads the first step's output, a view sharing storage, done called
// once per step in order, and pool memory returned when the last reference goes.
func TestTapeWithoutMx(t *testing.T) {
	pool := cpu.Pool{}
	before := pool.ActiveMemory()
	a := floatNode([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := floatNode([]float32{10, 20, 30}, 3)
	sum := &backend.Node{Shape: []int{2, 3}, Dtype: backend.Float32}
	tr := &backend.Node{Shape: []int{3, 2}, Dtype: backend.Float32}
	ex := &backend.Node{Shape: []int{3, 2}, Dtype: backend.Float32}
	tape := []backend.Step{
		{Op: backend.Binary{Kind: backend.Add}, Inputs: []*backend.Node{a, b}, Out: sum},
		{Op: backend.Transpose{Perm: []int{1, 0}}, Inputs: []*backend.Node{sum}, Out: tr},
		{Op: backend.Unary{Kind: backend.Negative}, Inputs: []*backend.Node{tr}, Out: ex},
	}
	var done []int
	cpu.Executor{}.Run(tape, func(i int) { done = append(done, i) })
	if len(done) != 3 || done[0] != 0 || done[2] != 2 {
		t.Fatalf("done calls %v", done)
	}
	if tr.Storage != sum.Storage || tr.IsContiguous() {
		t.Fatalf("transpose is not a strided view of its input")
	}
	got := cpu.Floats(ex)
	want := []float32{-11, -14, -22, -25, -33, -36}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("-(a+b)ᵀ = %v, want %v", got, want)
		}
	}
	if pool.ActiveMemory() != before+2*24 {
		t.Fatalf("active memory grew by %d, want 48 (sum and ex; the view allocates nothing)", pool.ActiveMemory()-before)
	}
	for _, n := range []*backend.Node{sum, tr, ex} {
		n.Free()
	}
	if pool.ActiveMemory() != before {
		t.Fatalf("active memory %d after freeing, want %d", pool.ActiveMemory(), before)
	}
}

func TestMissingKernelNamesTheOp(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "no kernel registered for op Nothing") {
			t.Fatalf("panic %v", r)
		}
	}()
	cpu.Executor{}.Run([]backend.Step{{Op: nothing{}, Out: &backend.Node{Shape: []int{1}}}}, func(int) {})
}

type nothing struct{}

func (nothing) Name() string { return "Nothing" }
