package lm_test

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// TestVmapPerSequenceLoRAGradients vmaps nn.ValueAndGrad of the fixture Llama with LoRA
// over a batch of sequences: every op of the model (embedding, fused RMSNorm, RoPE and
// attention, LoRA linears, fused cross-entropy) and of its backward pass has a batching
// rule, and each sequence's loss and LoRA gradients equal those computed alone.
func TestVmapPerSequenceLoRAGradients(t *testing.T) {
	m, err := lm.Load("testdata/hf-tiny-llama/model")
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze()
	lora.Apply(m, lora.Config{NumLayers: 2, Rank: 4, Scale: 20})
	ids := mx.FromSlice([]int32{1, 5, 9, 3, 7, 2, 8, 4, 6, 10, 11, 12, 3, 3, 4, 5, 6, 7}, 3, 6)
	lossFn := func(m *lm.Model, seq *mx.Array) *mx.Array {
		in := mx.Reshape(mx.SliceAxis(seq, 0, 0, 5), 1, 5)
		tg := mx.Reshape(mx.SliceAxis(seq, 0, 1, 6), 1, 5)
		return nn.CrossEntropy(m.Forward(in, nil), tg, nil, nn.ReduceMean)
	}
	vg := nn.ValueAndGrad(m, lossFn)
	perSeq := mx.Vmap(func(args ...any) any {
		l, g := vg(m, args[0].(*mx.Array))
		return []any{l, g}
	}, nil, nil)(ids).([]any)
	losses, grads := perSeq[0].(*mx.Array), tree.Leaves(perSeq[1])
	for i := range ids.Dim(0) {
		l, g := vg(m, ids.Index(i))
		mxtest.AssertClose(t, "loss", losses.Index(i), l, 1e-5)
		for j, w := range tree.Leaves(g) {
			mxtest.AssertClose(t, "gradient", grads[j].Index(i), w, 1e-4)
		}
	}
}
