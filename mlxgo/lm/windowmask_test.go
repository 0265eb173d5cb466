package lm_test

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestWindowMaskIsFreshAfterDecoding: a full forward pass after cached decoding steps
// of a windowed model gives the same logits as before them (the window masks once read
// stale pooled bytes where they should have been false).
func TestWindowMaskIsFreshAfterDecoding(t *testing.T) {
	m, err := lm.Load("testdata/hf-tiny-llama/model")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Model.Layers {
		b.SelfAttn.Window = 4
	}
	ids := mx.FromSlice([]int32{30, 42, 30, 14, 71, 28, 5, 6, 7, 8, 9, 10}, 1, 12)
	ref := m.Forward(ids, nil)
	mx.Eval(ref)
	c := m.NewCache()
	mx.Eval(m.Forward(mx.FromSlice([]int32{30, 42, 30, 14, 71, 28}, 1, 6), c))
	for i := 0; i < 4; i++ {
		mx.Eval(m.Forward(mx.FromSlice([]int32{28}, 1, 1), c), c.Arrays())
		if d := maxDiff(m.Forward(ids, nil), ref); d != 0 {
			t.Fatalf("after %d decoding steps the same input gives logits %g away", i+1, d)
		}
	}
}
