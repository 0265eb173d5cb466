package lm_test

import (
	"math"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestForwardWithAttention: the weights are causal probability rows, the logits are Forward's,
// and a layer's weights times its values give the fused attention's output (checked through
// a sliding-window model too, whose mask is an array).
func TestForwardWithAttention(t *testing.T) {
	for _, js := range []string{
		`{"model_type":"llama","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
		"num_key_value_heads":2,"intermediate_size":64,"rms_norm_eps":1e-5}`,
		`{"model_type":"mistral","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,
		"num_key_value_heads":1,"intermediate_size":64,"rms_norm_eps":1e-5,"sliding_window":3}`,
	} {
		cfg, err := lm.ParseConfig([]byte(js), "test.json")
		if err != nil {
			t.Fatal(err)
		}
		mx.Seed(3)
		m := lm.New(cfg)
		ids := mx.FromSlice([]int32{1, 5, 9, 2, 7, 3}, 1, 6)
		logits, weights := m.ForwardWithAttention(ids)
		if len(weights) != cfg.NumHiddenLayers {
			t.Fatalf("%d weight arrays for %d layers", len(weights), cfg.NumHiddenLayers)
		}
		if d := mx.Max(mx.Abs(mx.Subtract(logits, m.Forward(ids, nil))), nil, false).Item(); d != 0 {
			t.Errorf("%s: logits differ from Forward's by %g", cfg.ModelType, d)
		}
		for li, w := range weights {
			if got, want := w.Shape(), []int{1, cfg.NumAttentionHeads, 6, 6}; !slices.Equal(got, want) {
				t.Fatalf("layer %d weights shape %v, want %v", li, got, want)
			}
			vals := w.Float64s()
			for h := 0; h < cfg.NumAttentionHeads; h++ {
				for i := 0; i < 6; i++ {
					sum := 0.0
					for j := 0; j < 6; j++ {
						v := vals[(h*6+i)*6+j]
						sum += v
						masked := j > i || (cfg.SlidingWindow > 0 && j <= i-cfg.SlidingWindow)
						if masked && v != 0 {
							t.Errorf("%s layer %d head %d: position %d attends to masked %d (%g)", cfg.ModelType, li, h, i, j, v)
						}
					}
					if math.Abs(sum-1) > 1e-5 {
						t.Errorf("%s layer %d head %d row %d sums to %g", cfg.ModelType, li, h, i, sum)
					}
				}
			}
		}
		// Layer 0 by hand: its weights times its values, through o_proj, are its attention output.
		a := m.Model.Layers[0].SelfAttn
		h := m.Model.Layers[0].InputLayernorm.Forward(m.Model.EmbedTokens.Forward(ids))
		v := mx.Transpose(mx.Reshape(a.VProj.Forward(h), 1, 6, a.KVHeads, a.HeadDim), 0, 2, 1, 3)
		rep := a.Heads / a.KVHeads
		v = mx.Reshape(mx.BroadcastTo(mx.ExpandDims(v, 2), 1, a.KVHeads, rep, 6, a.HeadDim), 1, a.Heads, 6, a.HeadDim)
		o := mx.Reshape(mx.Transpose(mx.Matmul(weights[0], v), 0, 2, 1, 3), 1, 6, a.Heads*a.HeadDim)
		if d := mx.Max(mx.Abs(mx.Subtract(a.OProj.Forward(o), a.Forward(h, nil))), nil, false).Item(); d > 1e-5 {
			t.Errorf("%s: weights·values differ from the fused attention by %g", cfg.ModelType, d)
		}
		// The probes are gone after the call.
		_, again := m.ForwardWithAttention(ids)
		if d := mx.Max(mx.Abs(mx.Subtract(again[0], weights[0])), nil, false).Item(); d != 0 {
			t.Errorf("a second call changed the weights by %g", d)
		}
	}
}
