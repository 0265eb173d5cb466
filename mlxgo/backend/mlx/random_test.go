package mlx_test

import (
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// draw returns the numbers a seed gives on the current backend, after arithmetic that
// runs on it (so the draws are inputs of lowered steps, not only read back).
func draw() ([]float32, []float32, []int) {
	mx.Seed(7)
	u := mx.Uniform(-1, 1, []int{64}, mx.Float32, nil)
	n := mx.Normal([]int{64}, 0, 1, mx.Float32, mx.Key(3)).Mul(mx.FromSlice([]float32{2})).Sub(mx.FromSlice([]float32{1}))
	i := mx.RandInt(0, 1000, []int{64}, nil)
	mx.Eval(u, n, i)
	return u.Float32s(), n.Float32s(), i.Ints()
}

func TestSameSeedSameNumbersOnBothBackends(t *testing.T) {
	e, err := mlx.Open()
	if err != nil {
		t.Skipf("mlx-c not available: %v", err)
	}
	old := mx.SetBackend(cpu.Executor{})
	defer mx.SetBackend(old)
	u1, n1, i1 := draw()
	mx.SetBackend(e)
	u2, n2, i2 := draw()
	if !slices.Equal(u1, u2) || !slices.Equal(n1, n2) || !slices.Equal(i1, i2) {
		t.Fatalf("cpu and mlx draw differently:\nuniform %v\n        %v\nnormal %v\n       %v\nint %v\n    %v", u1[:4], u2[:4], n1[:4], n2[:4], i1[:4], i2[:4])
	}
}
