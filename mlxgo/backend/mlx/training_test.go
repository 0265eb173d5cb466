package mlx_test

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

// Weights and optimizer state stay in MLX between steps: a training step copies in only
// its batch (and a few scalars), and out only the loss the loop reads.
func TestTrainingStepCopiesOnlyBatchAndLoss(t *testing.T) {
	e, err := mlx.Open()
	if err != nil {
		t.Skipf("mlx-c not available: %v", err)
	}
	old := mx.SetBackend(e)
	defer mx.SetBackend(old)
	mx.Seed(1)
	model := nn.NewLinear(256, 256, true) // 257 KiB of weights, 771 KiB with AdamW's state
	opt := optim.NewAdamW(optim.Constant(1e-3), optim.AdamConfig{})
	step := nn.ValueAndGrad(model, func(m *nn.Linear, x *mx.Array) *mx.Array {
		return nn.MSE(m.Forward(x), x, nn.ReduceMean)
	})
	batch := func(i int) *mx.Array { return mx.Normal([]int{8, 256}, 0, 1, mx.Float32, mx.Key(uint64(i))) }
	var first, last float64
	var per mlx.Stats
	for i := range 5 {
		x := batch(i)
		mx.Eval(x) // drawn by the CPU kernels: 8 KiB to copy in
		before := e.Stats()
		loss, grads := step(model, x)
		opt.Update(model, grads)
		mx.Eval(loss, nn.Parameters(model), opt.State())
		l := loss.Item()
		per = e.Stats().Sub(before)
		if i == 0 {
			first = l
		}
		last = l
	}
	if !(last < first) {
		t.Fatalf("loss went from %v to %v", first, last)
	}
	if per.ToHost != 4 || per.ToMLX > 8*256*4+1024 || per.Evals > 3 {
		t.Fatalf("one step copied %d bytes in and %d out in %d evaluations; want the 8 KiB batch in, the 4-byte loss out", per.ToMLX, per.ToHost, per.Evals)
	}
	t.Logf("per step: %d bytes in, %d out, %d mlx_eval, %d CPU fallbacks", per.ToMLX, per.ToHost, per.Evals, per.Fallbacks)
}
