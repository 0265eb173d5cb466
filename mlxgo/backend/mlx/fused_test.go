package mlx

import (
	"math"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

// TestFusedMatchesCPU: a fused chain (sigmoid(x·b + 1) with b broadcast, rounded through
// bfloat16, then where x > 0) lowered to MLX gives the CPU kernel's values.
func TestFusedMatchesCPU(t *testing.T) {
	e := testExecutor(t)
	op := backend.Fused{Steps: []backend.FusedStep{
		{Op: backend.Binary{Kind: backend.Multiply}, Args: []int{0, 1}, Dtype: backend.Float32}, // 2
		{Op: backend.Full{Value: 1}, Dtype: backend.Float32},                                    // 3
		{Op: backend.Binary{Kind: backend.Add}, Args: []int{2, 3}, Dtype: backend.Bfloat16},     // 4
		{Op: backend.Unary{Kind: backend.Sigmoid}, Args: []int{4}, Dtype: backend.Float32},      // 5
		{Op: backend.Binary{Kind: backend.Greater}, Args: []int{0, 1}, Dtype: backend.Bool},     // 6
		{Op: backend.Where{}, Args: []int{6, 5, 0}, Dtype: backend.Float32},                     // 7
	}}
	run := func(ex backend.Executor) []float32 {
		x := hostNode([]int{2, 3}, -2, -0.5, 0, 0.25, 1, 3)
		b := hostNode([]int{3}, 0.5, -1, 2)
		out := &backend.Node{Shape: []int{2, 3}, Dtype: backend.Float32}
		ex.Run([]backend.Step{{Op: op, Inputs: []*backend.Node{x, b}, Out: out, Keep: true}}, func(int) {})
		return values(out)
	}
	want, got := run(cpu.Executor{}), run(e)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("MLX %v, CPU %v", got, want)
		}
	}
}
