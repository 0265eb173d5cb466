package lm_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

// archs are the goldens made by testdata/archs/make_goldens.py with transformers 5.17
// and PEFT 0.21 (tiny random models, eager attention, perturbed norms).
var archs = []string{"qwen3", "smollm3", "gemma2", "gemma3", "phi3"}

func archDir(name string) string { return filepath.Join("testdata", "archs", name) }

func maxDiff(a, b *mx.Array) float64 {
	return mx.Max(mx.Abs(mx.Subtract(mx.AsType(a, mx.Float32), mx.AsType(b, mx.Float32))), nil, false).Item()
}

func golden(t *testing.T, name string) map[string]*mx.Array {
	t.Helper()
	w, _, err := mx.LoadSafetensors(filepath.Join(archDir(name), "forward.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestArchitecturesMatchTransformers: logits within 1e-4 of transformers for each
// architecture (and Phi-3's longrope past original_max_position_embeddings), greedy
// decoding with the KV cache identical, and PEFT adapters on every projection giving
// PEFT's logits within 1e-4.
func TestArchitecturesMatchTransformers(t *testing.T) {
	for _, name := range archs {
		t.Run(name, func(t *testing.T) {
			ref := golden(t, name)
			m, err := lm.Load(filepath.Join(archDir(name), "model"))
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(m.Forward(ref["input_ids"], nil), ref["logits"]); d > 1e-4 {
				t.Fatalf("logits differ from transformers by %g", d)
			}
			if long, ok := ref["long_logits"]; ok {
				if d := maxDiff(m.Forward(ref["long_input_ids"], nil), long); d > 1e-4 {
					t.Fatalf("logits past original_max_position_embeddings differ by %g", d)
				}
			}
			var gen struct{ Prompt, Output []int }
			data, _ := os.ReadFile(filepath.Join(archDir(name), "generate.json"))
			if err := json.Unmarshal(data, &gen); err != nil {
				t.Fatal(err)
			}
			out, _ := generate.Tokens(m, gen.Prompt, generate.Options{MaxTokens: len(gen.Output), IgnoreEOS: true}, nil)
			if !slices.Equal(out, gen.Output) {
				t.Fatalf("greedy decoding %v, transformers %v", out, gen.Output)
			}
			m.Freeze()
			if err := lora.LoadAdapters(m, filepath.Join(archDir(name), "adapter")); err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(m.Forward(ref["input_ids"], nil), ref["adapter_logits"]); d > 1e-4 {
				t.Fatalf("logits with the PEFT adapter differ from PEFT's by %g", d)
			}
		})
	}
}

// TestArchitecturesFuseSaveAndTrain: for each architecture, the PEFT adapter fuses
// (verified), the fused model saves as a Hugging Face folder that reloads to PEFT's
// adapter logits, the PEFT export round-trips, and a few LoRA steps lower the loss on a
// fixed batch (gradients flow through every architecture's ops).
func TestArchitecturesFuseSaveAndTrain(t *testing.T) {
	for _, name := range archs {
		t.Run(name, func(t *testing.T) {
			ref := golden(t, name)
			dir := filepath.Join(archDir(name), "model")
			m := lm.MustLoad(dir)
			m.Freeze()
			if err := lora.LoadAdapters(m, filepath.Join(archDir(name), "adapter")); err != nil {
				t.Fatal(err)
			}
			export, err := lora.NewPEFTExport(m, "org/"+name)
			if err != nil {
				t.Fatal(err)
			}
			peft := t.TempDir()
			if err := export.Write(peft); err != nil {
				t.Fatal(err)
			}
			back := lm.MustLoad(dir)
			if err := lora.LoadAdapters(back, peft); err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(back.Forward(ref["input_ids"], nil), ref["adapter_logits"]); d > 1e-4 {
				t.Fatalf("PEFT export round trip: logits %g away", d)
			}
			if err := lora.FuseVerified(m, 1e-3); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := lm.Save(m, out); err != nil {
				t.Fatal(err)
			}
			fused, err := lm.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(fused.Forward(ref["input_ids"], nil), ref["adapter_logits"]); d > 1e-4 {
				t.Fatalf("saved fused model: logits %g from PEFT's adapter logits", d)
			}

			tm := lm.MustLoad(dir)
			tm.Freeze()
			if _, err := lora.Apply(tm, lora.Config{Rank: 4, Scale: 2}); err != nil {
				t.Fatal(err)
			}
			ids := ref["input_ids"]
			in, tg := mx.SliceAxis(ids, 1, 0, 11), mx.SliceAxis(ids, 1, 1, 12)
			loss := func(m *lm.Model, _ int) *mx.Array {
				return nn.CrossEntropy(m.Forward(in, nil), tg, nil, nn.ReduceMean)
			}
			step := nn.ValueAndGrad(tm, loss)
			opt := optim.NewAdamW(optim.Constant(1e-2), optim.AdamConfig{})
			var first, last float64
			for i := 0; i < 8; i++ {
				l, g := step(tm, 0)
				opt.Update(tm, g)
				mx.Eval(tm.Parameters(), opt.State())
				if i == 0 {
					first = l.Item()
				}
				last = l.Item()
			}
			if !(last < first-0.05) {
				t.Fatalf("LoRA training did not lower the loss: %.4f -> %.4f", first, last)
			}
		})
	}
}

// TestArchitecturesTransformers4Keys: the same checkpoints with config.json written the
// transformers 4 way (rope_theta / rope_scaling at the top, no layer_types, Gemma 3's
// rope_local_base_freq and sliding_window_pattern, SmolLM3's no_rope_layer_interval)
// give the same logits.
func TestArchitecturesTransformers4Keys(t *testing.T) {
	edits := map[string]func(c map[string]any){
		"gemma2": func(c map[string]any) {
			delete(c, "layer_types")
			c["rope_theta"] = 10000.0
			delete(c, "rope_parameters")
		},
		"gemma3": func(c map[string]any) {
			delete(c, "layer_types")
			delete(c, "rope_parameters")
			delete(c, "_sliding_window_pattern")
			c["sliding_window_pattern"] = 2.0
			c["rope_theta"], c["rope_local_base_freq"] = 1e6, 1e4
		},
		"phi3": func(c map[string]any) {
			rp := c["rope_parameters"].(map[string]any)
			delete(c, "rope_parameters")
			c["rope_theta"] = rp["rope_theta"]
			c["rope_scaling"] = map[string]any{"type": "longrope", "short_factor": rp["short_factor"], "long_factor": rp["long_factor"]}
		},
		"smollm3": func(c map[string]any) {
			delete(c, "no_rope_layers")
			delete(c, "layer_types")
			c["no_rope_layer_interval"] = 2.0
			c["rope_theta"] = 2e6
			delete(c, "rope_parameters")
		},
	}
	for name, edit := range edits {
		src := filepath.Join(archDir(name), "model")
		data, err := os.ReadFile(filepath.Join(src, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		json.Unmarshal(data, &c)
		edit(c)
		dir := t.TempDir()
		out, _ := json.Marshal(c)
		os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
		abs, _ := filepath.Abs(filepath.Join(src, "model.safetensors"))
		if err := os.Symlink(abs, filepath.Join(dir, "model.safetensors")); err != nil {
			t.Fatal(err)
		}
		m, err := lm.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ref := golden(t, name)
		if d := maxDiff(m.Forward(ref["input_ids"], nil), ref["logits"]); d > 1e-4 {
			t.Fatalf("%s with transformers 4 keys: logits %g away", name, d)
		}
	}
}

// TestArchitecturesQuantize: each architecture quantizes to MLX 8-bit (fused projections
// included) and computes what the float model with the de-quantized weights computes; it
// saves and reloads as an mlx-lm quantized checkpoint with the same logits.
func TestArchitecturesQuantize(t *testing.T) {
	for _, name := range archs {
		ref := golden(t, name)
		m := lm.MustLoad(filepath.Join(archDir(name), "model"))
		if err := lm.Quantize(m, 32, 8); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		float := lm.MustLoad(filepath.Join(archDir(name), "model"))
		deq := map[string]*mx.Array{}
		n := 0
		for _, nm := range nn.NamedModules(m) {
			switch ql := nm.Module.(type) {
			case *nn.QuantizedLinear:
				deq[nm.Name+".weight"] = ql.DequantizedWeight()
				n++
			case *nn.QuantizedEmbedding:
				deq[nm.Name+".weight"] = ql.DequantizedWeight()
			}
		}
		if n == 0 {
			t.Fatalf("%s: nothing was quantized", name)
		}
		if err := nn.LoadWeights(float, deq, false); err != nil {
			t.Fatal(err)
		}
		q := m.Forward(ref["input_ids"], nil)
		if d := maxDiff(q, float.Forward(ref["input_ids"], nil)); d > 1e-4 {
			t.Fatalf("%s: quantized model %g from the float model with its de-quantized weights", name, d)
		}
		dir := t.TempDir()
		if err := lm.Save(m, dir); err != nil {
			t.Fatal(err)
		}
		back, err := lm.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := maxDiff(back.Forward(ref["input_ids"], nil), q); d != 0 {
			t.Fatalf("%s: reloaded quantized model differs by %g", name, d)
		}
	}
}
