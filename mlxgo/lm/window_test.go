package lm_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestSlidingWindow: Mistral's window limits attention; within the window the model equals
// full causal attention, beyond it the logits change.
func TestSlidingWindow(t *testing.T) {
	js := `{"model_type":"mistral","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,
		"num_key_value_heads":1,"intermediate_size":64,"rms_norm_eps":1e-5,"sliding_window":%d}`
	ids := mx.FromSlice([]int32{1, 5, 9, 2, 7, 3, 8, 4}, 1, 8)
	logits := func(window int) *mx.Array {
		cfg, err := lm.ParseConfig([]byte(fmt.Sprintf(js, window)), "test")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SlidingWindow != window {
			t.Fatalf("sliding window %d, want %d", cfg.SlidingWindow, window)
		}
		mx.Seed(1)
		return lm.New(cfg).Forward(ids, nil)
	}
	full, wide, narrow := logits(0), logits(8), logits(3)
	if d := mx.Max(mx.Abs(mx.Subtract(full, wide)), nil, false).Item(); d != 0 {
		t.Fatalf("a window covering the sequence changed the logits by %g", d)
	}
	first := func(a *mx.Array) *mx.Array { return mx.SliceAxis(a, 1, 0, 3) }
	if d := mx.Max(mx.Abs(mx.Subtract(first(full), first(narrow))), nil, false).Item(); d > 1e-6 {
		t.Fatalf("positions inside the window changed by %g", d)
	}
	if d := mx.Max(mx.Abs(mx.Subtract(full, narrow)), nil, false).Item(); d < 1e-4 {
		t.Fatal("a 3-position window did not change later positions")
	}
	// Qwen2's per-layer windows: layers from max_window_layers on (transformers 4), or
	// layer_types (transformers 5).
	for _, extra := range []string{`"max_window_layers":1`, `"layer_types":["full_attention","sliding_attention"]`} {
		c, err := lm.ParseConfig([]byte(`{"model_type":"qwen2","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":2,
		"intermediate_size":64,"sliding_window":4,"use_sliding_window":true,`+extra+`}`), "q.json")
		if err != nil || !slices.Equal(c.Arch.LayerWindows, []int{0, 4}) {
			t.Fatalf("qwen2 %s: windows %v, %v", extra, c, err)
		}
		if w := lm.New(c).Model.Layers[1].SelfAttn.Window; w != 4 {
			t.Fatalf("layer 1 window %d", w)
		}
	}
}

// TestTiedHead: with tie_word_embeddings the head is the embedding matrix; the saved
// folder has no lm_head tensor and reloads to the same logits.
func TestTiedHead(t *testing.T) {
	cfg, err := lm.ParseConfig([]byte(`{"model_type":"qwen2","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,
		"num_attention_heads":2,"num_key_value_heads":1,"intermediate_size":64,"tie_word_embeddings":true}`), "tied.json")
	if err != nil {
		t.Fatal(err)
	}
	mx.Seed(2)
	m := lm.New(cfg)
	if m.LMHead != nil {
		t.Fatal("a tied model has a separate head")
	}
	ids := mx.FromSlice([]int32{3, 1, 4, 1, 5}, 1, 5)
	want := m.Forward(ids, nil)
	dir := t.TempDir()
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	w := lm.MustWeights(dir)
	if _, ok := w["lm_head.weight"]; ok {
		t.Fatal("a tied model saved lm_head.weight")
	}
	if _, ok := w["model.layers.0.self_attn.q_proj.bias"]; !ok {
		t.Fatal("qwen2's q/k/v biases are missing")
	}
	back, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := mx.Max(mx.Abs(mx.Subtract(back.Forward(ids, nil), want)), nil, false).Item(); d != 0 {
		t.Fatalf("reloaded tied model differs by %g", d)
	}
}

// TestTrainEvalMode: Eval turns LoRA dropout off (deterministic outputs), Train back on.
func TestTrainEvalMode(t *testing.T) {
	m := lm.MustLoad("testdata/hf-tiny-llama/model")
	m.Model.Layers[0].SelfAttn.QProj = &dropLayer{Inner: m.Model.Layers[0].SelfAttn.QProj, D: &nn.Dropout{P: 0.5}}
	ids := mx.FromSlice([]int32{1, 2, 3, 4}, 1, 4)
	diff := func() float64 {
		return mx.Max(mx.Abs(mx.Subtract(m.Forward(ids, nil), m.Forward(ids, nil))), nil, false).Item()
	}
	if diff() == 0 {
		t.Fatal("dropout inactive in training mode")
	}
	m.Eval()
	if d := diff(); d != 0 {
		t.Fatalf("evaluation mode is not deterministic (%g)", d)
	}
	m.Train()
	if diff() == 0 {
		t.Fatal("Train did not re-enable dropout")
	}
}

type dropLayer struct {
	nn.Base
	Inner nn.Layer    `mx:"inner"`
	D     *nn.Dropout `mx:"dropout"`
}

func (l *dropLayer) Forward(x *mx.Array) *mx.Array { return l.Inner.Forward(l.D.Forward(x)) }
