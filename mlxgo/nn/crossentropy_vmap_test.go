package nn_test

import (
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestCrossEntropyVmap checks the fused cross-entropy's batching rules: per-sequence
// losses and per-sequence gradients of a linear model, vmapped over the batch axis
// (first or last), equal those computed one sequence at a time.
func TestCrossEntropyVmap(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		w := mxtest.RandArray(r, -1, 1, 4, 5)
		xs := mxtest.RandArray(r, -1, 1, 3, 6, 4) // 3 sequences of 6 positions
		ts := mx.FromSlice([]int32{0, 4, 2, 1, 3, 3, 1, 1, 0, 2, 4, 4, 3, 0, 0, 2, 1, 4}, 3, 6)
		loss := func(args ...any) any {
			w, x, t := args[0].(*mx.Array), args[1].(*mx.Array), args[2].(*mx.Array)
			return nn.CrossEntropy(mx.Matmul(x, w), t, nil, nn.ReduceMean)
		}
		for _, xAxis := range []int{0, 2} {
			x := xs
			if xAxis == 2 {
				x = mx.MoveAxis(xs, 0, 2)
			}
			axes := []int{mx.Unmapped, xAxis, 0}
			losses := mx.Vmap(loss, axes, nil)(w, x, ts).(*mx.Array)
			grads := mx.Vmap(mx.Grad(loss), axes, nil)(w, x, ts).(*mx.Array)
			var wantL, wantG []*mx.Array
			for i := range 3 {
				wantL = append(wantL, loss(w, xs.Index(i), ts.Index(i)).(*mx.Array))
				wantG = append(wantG, mx.Grad(loss)(w, xs.Index(i), ts.Index(i)).(*mx.Array))
			}
			mxtest.AssertClose(t, "losses", losses, mx.Stack(wantL, 0), 1e-6)
			mxtest.AssertClose(t, "per-sequence gradients", grads, mx.Stack(wantG, 0), 1e-5)
		}
	})
}
