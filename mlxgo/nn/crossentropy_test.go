package nn_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestCrossEntropyGradients checks the fused cross-entropy — an op defined outside mx,
// with its own descriptor, CPU kernel and VJP — against finite differences, first and
// second order, on every backend.
func TestCrossEntropyGradients(t *testing.T) {
	ce := func(l, t *mx.Array) *mx.Array { return nn.CrossEntropy(l, t, nil, nn.ReduceNone) }
	cases := []mxtest.GradCase{
		{Name: "CrossEntropy", Shapes: [][]int{{2, 3, 5}}, Lo: -2, Hi: 2, F: func(x []*mx.Array) *mx.Array {
			return ce(x[0], mx.FromSlice([]int32{0, 4, 2, 1, 3, 3}, 2, 3))
		}},
		{Name: "CrossEntropyGrad", Shapes: [][]int{{3, 5}}, Lo: -2, Hi: 2, F: func(x []*mx.Array) *mx.Array {
			g := mx.GradOf(func(l *mx.Array) *mx.Array {
				return mx.Sum(mx.Multiply(ce(l, mx.FromSlice([]int32{0, 4, 2})), mx.FromSlice([]float32{1, 2, 3})), nil, false)
			})
			return g(x[0])
		}},
	}
	mxtest.ForEachBackend(t, func(t *testing.T) { mxtest.CheckGrads(t, cases) })
}

// TestCrossEntropyIsOneKernel shows the op enters the graph as nn's own descriptor.
func TestCrossEntropyIsOneKernel(t *testing.T) {
	logits := mx.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	out := nn.CrossEntropy(logits, mx.FromSlice([]int32{0, 2}), nil, nn.ReduceNone)
	var names []string
	for a := out; a.Primitive() != nil; a = a.Inputs()[0] {
		names = append(names, a.Primitive().Op().Name())
		if _, ok := a.Primitive().Op().(nn.CrossEntropyOp); ok {
			break
		}
	}
	if got := strings.Join(names, " <- "); !strings.HasSuffix(got, "CrossEntropy") {
		t.Fatalf("graph %s does not reach an nn.CrossEntropyOp", got)
	}
}

func TestCrossEntropyShapeErrorNamesCaller(t *testing.T) {
	defer func() {
		var e *mx.Error
		if err, _ := recover().(error); !errors.As(err, &e) || e.Op != "CrossEntropy" || !strings.Contains(e.Caller, "crossentropy_test.go") {
			t.Fatalf("got %v, want an *mx.Error for CrossEntropy naming this file", err)
		}
	}()
	nn.CrossEntropy(mx.Zeros([]int{2, 3}, mx.Float32), mx.Zeros([]int{3}, mx.Int32), nil, nn.ReduceNone)
}

// TestCrossEntropyGradMatchesSoftmax compares the fused kernel's gradient, which
// takes each row's log-sum-exp from the forward's loss, with
// w·(softmax(logits) − onehot(target)) computed in float64, for weights that are
// positive, zero (a masked position), and negative, and a target out of range
// (whose row takes the kernel's full softmax).
func TestCrossEntropyGradMatchesSoftmax(t *testing.T) {
	const rows, V = 6, 300
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, rows*V)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 8) // rows with large and small spread
	}
	targets := []int32{0, 299, 17, 150, 42, 300} // the last out of range
	w := []float32{1.0 / 6, 0, 2.5, -0.5, 1e-3, 1}
	grad := mx.GradOf(func(l *mx.Array) *mx.Array {
		return mx.Sum(mx.Multiply(nn.CrossEntropy(l, mx.FromSlice(targets, rows), nil, nn.ReduceNone), mx.FromSlice(w, rows)), nil, false)
	})
	got := grad(mx.FromSlice(logits, rows, V)).Float32s()
	for i := 0; i < rows; i++ {
		for j, p := range softmax64(logits[i*V : (i+1)*V]) {
			want := p * float64(w[i])
			if int32(j) == targets[i] {
				want -= float64(w[i])
			}
			if d := math.Abs(float64(got[i*V+j]) - want); d > 1e-5*math.Abs(want)+1e-9 {
				t.Fatalf("row %d (weight %v, target %d), column %d: %v, want %v", i, w[i], targets[i], j, got[i*V+j], want)
			}
		}
	}
}

// TestCrossEntropyGradBfloat16 checks the gradient of bf16 logits, whose losses are
// bf16 too (the log-sum-exp to 3 digits, which would make the gradient 4% off when
// taken from them), against the float64 softmax of the same bf16 values.
func TestCrossEntropyGradBfloat16(t *testing.T) {
	const rows, V = 4, 200
	r := rand.New(rand.NewPCG(3, 4))
	f := make([]float32, rows*V)
	for i := range f {
		f[i] = float32(r.NormFloat64() * 6)
	}
	logits := mx.AsType(mx.FromSlice(f, rows, V), mx.Bfloat16)
	vals := logits.Float32s() // the bf16 values, as float32
	targets := []int32{3, 150, 199, 0}
	grad := mx.GradOf(func(l *mx.Array) *mx.Array {
		return mx.Sum(nn.CrossEntropy(l, mx.FromSlice(targets, rows), nil, nn.ReduceNone), nil, false)
	})
	got := grad(logits).Float32s()
	for i := 0; i < rows; i++ {
		for j, want := range softmax64(vals[i*V : (i+1)*V]) {
			if int32(j) == targets[i] {
				want--
			}
			if d := math.Abs(float64(got[i*V+j]) - want); d > 8e-3*math.Abs(want)+1e-6 {
				t.Fatalf("row %d, column %d: %v, want %v", i, j, got[i*V+j], want)
			}
		}
	}
}

// softmax64 is the softmax of row in float64, the reference of the gradients.
func softmax64(row []float32) []float64 {
	m := math.Inf(-1)
	for _, x := range row {
		m = max(m, float64(x))
	}
	p := make([]float64, len(row))
	var s float64
	for j, x := range row {
		p[j] = math.Exp(float64(x) - m)
		s += p[j]
	}
	for j := range p {
		p[j] /= s
	}
	return p
}
