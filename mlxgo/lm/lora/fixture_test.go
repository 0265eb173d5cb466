package lora_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

const fixture = "../testdata/hf-tiny-llama"

func loadModel(t *testing.T) *lm.Model {
	t.Helper()
	m, err := lm.Load(filepath.Join(fixture, "model"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadST(t *testing.T, path string) map[string]*mx.Array {
	t.Helper()
	w, _, err := mx.LoadSafetensors(filepath.Join(fixture, path))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func maxAbsDiff(a, b *mx.Array) float64 {
	return mx.Max(mx.Abs(mx.Subtract(a, b)), nil, false).Item()
}

func relDiff(a, b *mx.Array) float64 {
	n := mx.Sqrt(mx.Sum(mx.Square(mx.Subtract(a, b)), nil, false)).Item()
	return n / mx.Sqrt(mx.Sum(mx.Square(b), nil, false)).Item()
}

func TestForwardLogitsMatchTransformers(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		m := loadModel(t)
		ref := loadST(t, "forward.safetensors")
		logits := m.Forward(ref["input_ids"], nil)
		if d := maxAbsDiff(logits, ref["logits"]); d > 1e-4 {
			t.Fatalf("logits differ from transformers by %g (tolerance 1e-4)", d)
		} else {
			t.Logf("max |logits - transformers| = %.2g", d)
		}
	})
}

type trainFixture struct {
	Losses  []float64 `json:"losses"`
	Batches []struct {
		InputIDs       [][]int32 `json:"input_ids"`
		CompletionMask [][]int32 `json:"completion_mask"`
	} `json:"batches"`
}

func readTrain(t *testing.T) trainFixture {
	data, err := os.ReadFile(filepath.Join(fixture, "lora/train.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f trainFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func toArray(rows [][]int32) *mx.Array {
	var flat []int32
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return mx.FromSlice(flat, len(rows), len(rows[0]))
}

// fixtureLoss is train.json's loss: mean cross-entropy over completion tokens.
func fixtureLoss(m *lm.Model, b [2]*mx.Array) *mx.Array {
	ids, mask := b[0], b[1]
	L := ids.Dim(1)
	logits := m.Forward(mx.SliceAxis(ids, 1, 0, L-1), nil)
	return nn.CrossEntropy(logits, mx.SliceAxis(ids, 1, 1, L), mx.SliceAxis(mask, 1, 1, L), nn.ReduceMean)
}

func withAdapter(t *testing.T, dir string) *lm.Model {
	m := loadModel(t)
	m.Freeze()
	if err := lora.LoadAdapters(m, filepath.Join(fixture, dir)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGradientsMatchPEFT(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		m := withAdapter(t, "lora/adapter_init")
		f := readTrain(t)
		b := [2]*mx.Array{toArray(f.Batches[0].InputIDs), toArray(f.Batches[0].CompletionMask)}
		loss, grads := nn.ValueAndGrad(m, fixtureLoss)(m, b)
		if d := math.Abs(loss.Item() - f.Losses[0]); d > 1e-4 {
			t.Fatalf("step-0 loss %v, PEFT %v", loss.Item(), f.Losses[0])
		}
		ref, err := lora.FromPEFTGradients(loadST(t, "lora/grads_step0.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		flat := flatten(grads)
		if len(flat) != len(ref) {
			t.Fatalf("%d gradients, PEFT has %d", len(flat), len(ref))
		}
		for k, r := range ref {
			g, ok := flat[k]
			if !ok {
				t.Fatalf("no gradient for %s", k)
			}
			if d := relDiff(g, r); d > 1e-4 {
				t.Fatalf("%s: relative difference %g (tolerance 1e-4)", k, d)
			}
		}
	})
}

func flatten(t map[string]any) map[string]*mx.Array {
	out := map[string]*mx.Array{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case *mx.Array:
			out[prefix] = x
		case map[string]any:
			for k, c := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), c)
			}
		case []any:
			for i, c := range x {
				walk(strings.TrimPrefix(prefix+"."+itoa(i), "."), c)
			}
		}
	}
	walk("", t)
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestTwelveStepLossCurveMatchesPEFT trains 12 steps with the step as it is and compiled
// (trainer.CompiledValueAndGrad, the trainer's default): both follow PEFT's curve.
func TestTwelveStepLossCurveMatchesPEFT(t *testing.T) {
	steps := map[string]func(*lm.Model) func(*lm.Model, [2]*mx.Array) (*mx.Array, map[string]any){
		"eager": func(m *lm.Model) func(*lm.Model, [2]*mx.Array) (*mx.Array, map[string]any) {
			return nn.ValueAndGrad(m, fixtureLoss)
		},
		"compiled": func(m *lm.Model) func(*lm.Model, [2]*mx.Array) (*mx.Array, map[string]any) {
			return trainer.CompiledValueAndGrad(m, fixtureLoss)
		},
	}
	for name, makeStep := range steps {
		t.Run(name, func(t *testing.T) { twelveSteps(t, makeStep) })
	}
}

func twelveSteps(t *testing.T, makeStep func(*lm.Model) func(*lm.Model, [2]*mx.Array) (*mx.Array, map[string]any)) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		m := withAdapter(t, "lora/adapter_init")
		f := readTrain(t)
		opt := optim.NewAdamW(optim.Constant(5e-3), optim.AdamConfig{Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, BiasCorrection: true})
		step := makeStep(m)
		for i, batch := range f.Batches {
			loss, grads := step(m, [2]*mx.Array{toArray(batch.InputIDs), toArray(batch.CompletionMask)})
			opt.Update(m, grads)
			mx.Eval(loss, m.Parameters(), opt.State())
			if d := math.Abs(loss.Item() - f.Losses[i]); d > 1e-3 {
				t.Fatalf("step %d: loss %v, PEFT %v (|diff| %g > 1e-3)", i, loss.Item(), f.Losses[i], d)
			}
		}
		final := withAdapter(t, "lora/adapter_final")
		want := lora.AdapterWeights(final)
		for k, w := range lora.AdapterWeights(m) {
			if d := relDiff(w, want[k]); d > 1e-3 {
				t.Fatalf("%s after 12 steps: relative difference %g from PEFT (tolerance 1e-3)", k, d)
			}
		}
	})
}

func TestAdapterLogitsFuseAndRoundTrip(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		ref := loadST(t, "lora/fused_logits.safetensors")
		ids := ref["input_ids"]
		for _, dir := range []string{"lora/adapter_final", "lora/adapter_final_mlx"} {
			m := withAdapter(t, dir)
			if d := maxAbsDiff(m.Forward(ids, nil), ref["logits_with_adapter"]); d > 1e-4 {
				t.Fatalf("%s: logits with adapter differ by %g", dir, d)
			}
		}
		m := withAdapter(t, "lora/adapter_final")
		// Export to PEFT and re-import: bit-identical factors.
		tmp := t.TempDir()
		if err := lora.ExportPEFT(m, tmp, ""); err != nil {
			t.Fatal(err)
		}
		back := loadModel(t)
		if err := lora.LoadAdapters(back, tmp); err != nil {
			t.Fatal(err)
		}
		got := lora.AdapterWeights(back)
		for k, w := range lora.AdapterWeights(m) {
			if string(w.Bytes()) != string(got[k].Bytes()) {
				t.Fatalf("%s changed in a PEFT export/import round trip", k)
			}
		}
		// mlx-lm format round trip.
		mlxDir := t.TempDir()
		if err := lora.SaveAdapters(mlxDir, m, lora.FromConfig(lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}})); err != nil {
			t.Fatal(err)
		}
		back2 := loadModel(t)
		if err := lora.LoadAdapters(back2, mlxDir); err != nil {
			t.Fatal(err)
		}
		for k, w := range lora.AdapterWeights(back2) {
			if string(w.Bytes()) != string(lora.AdapterWeights(m)[k].Bytes()) {
				t.Fatalf("%s changed in an mlx-lm save/load round trip", k)
			}
		}
		// Fuse, save as a Hugging Face folder, reload.
		if err := lora.Fuse(m); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(m.Forward(ids, nil), ref["logits_fused"]); d > 1e-4 {
			t.Fatalf("fused logits differ by %g", d)
		}
		out := t.TempDir()
		if err := lm.Save(m, out); err != nil {
			t.Fatal(err)
		}
		re, err := lm.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(re.Forward(ids, nil), ref["logits_fused"]); d > 1e-4 {
			t.Fatalf("saved fused model's logits differ by %g", d)
		}
	})
}

func TestTrainableParametersAreExactlyLoRA(t *testing.T) {
	m := loadModel(t)
	total := nn.CountParams(m.Parameters())
	m.Freeze()
	paths, err := lora.Apply(m, lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}})
	if err != nil {
		t.Fatal(err)
	}
	tp := flatten(m.TrainableParameters())
	for k := range tp {
		if !strings.HasSuffix(k, ".lora_a") && !strings.HasSuffix(k, ".lora_b") {
			t.Fatalf("trainable parameter %s is not a LoRA factor", k)
		}
	}
	// 2 layers × (q: 64·4 + 4·64, v: 64·4 + 4·32)
	if n, want := nn.CountParams(m.TrainableParameters()), 2*(64*4+4*64+64*4+4*32); n != want || len(tp) != 8 || len(paths) != 4 {
		t.Fatalf("trainable %d in %d arrays, want %d in 8", n, len(tp), want)
	}
	t.Logf("LoRA r=4 on q_proj,v_proj: %d trainable of %d parameters", nn.CountParams(m.TrainableParameters()), total)
}

func TestBadAdapterInput(t *testing.T) {
	dir := t.TempDir()
	write := func(cfg map[string]any) string {
		d, _ := os.MkdirTemp(dir, "a")
		data, _ := json.Marshal(cfg)
		os.WriteFile(filepath.Join(d, "adapter_config.json"), data, 0o644)
		src, _ := os.ReadFile(filepath.Join(fixture, "lora/adapter_init/adapter_model.safetensors"))
		os.WriteFile(filepath.Join(d, "adapter_model.safetensors"), src, 0o644)
		return d
	}
	base := map[string]any{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": []string{"q_proj", "v_proj"}}
	for key, val := range map[string]any{"use_rslora": true, "use_dora": true, "fan_in_fan_out": true, "bias": "all"} {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		cfg[key] = val
		err := lora.LoadAdapters(loadModel(t), write(cfg))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("PEFT option %s=%v: error %v does not name it", key, val, err)
		}
	}
	// Missing and unexpected tensors, wrong shapes when loading a model's weights.
	m := loadModel(t)
	w := lm.MustWeights(filepath.Join(fixture, "model"))
	delete(w, "model.norm.weight")
	w["model.extra.weight"] = mx.Zeros([]int{2}, mx.Float32)
	w["model.layers.0.mlp.up_proj.weight"] = mx.Zeros([]int{3, 3}, mx.Float32)
	err := nn.LoadWeights(m, w, true)
	for _, part := range []string{"missing: model.norm.weight", "unexpected: model.extra.weight", "model.layers.0.mlp.up_proj.weight: expected shape [176 64], found [3 3]"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Fatalf("error %v does not contain %q", err, part)
		}
	}
}

func TestEmbeddingLoRAAndDoRAFuse(t *testing.T) {
	ids := loadST(t, "forward.safetensors")["input_ids"]
	m := loadModel(t)
	m.Freeze()
	e := lora.ApplyEmbedding(m, 4, 2)
	if _, err := lora.Apply(m, lora.Config{FineTuneType: "dora", NumLayers: 1, Rank: 4, Scale: 2}); err != nil {
		t.Fatal(err)
	}
	base := loadModel(t).Forward(ids, nil)
	// With B = 0 both adapters start exactly at the base model.
	if d := maxAbsDiff(m.Forward(ids, nil), base); d > 1e-5 {
		t.Fatalf("fresh LoRA embedding + DoRA changed the logits by %g", d)
	}
	for _, l := range lora.Layers(m) {
		l.LoraB = mx.Normal(l.LoraB.Shape(), 0, 0.1, mx.Float32, mx.Key(1))
	}
	e.LoraB = mx.Normal(e.LoraB.Shape(), 0, 0.1, mx.Float32, mx.Key(2))
	adapted := m.Forward(ids, nil)
	if d := maxAbsDiff(adapted, base); d < 1e-3 {
		t.Fatalf("non-zero B changed nothing (%g)", d)
	}
	n := flatten(m.TrainableParameters())
	if _, ok := n["model.embed_tokens.lora_a"]; !ok {
		t.Fatalf("embedding factors not trainable: %v", n)
	}
	if _, ok := n["model.layers.1.mlp.down_proj.m"]; !ok {
		t.Fatal("DoRA magnitude not trainable")
	}
	if err := lora.Fuse(m); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(m.Forward(ids, nil), adapted); d > 1e-4 {
		t.Fatalf("fused LoRA embedding + DoRA logits differ by %g", d)
	}
}

// TestQLoRA: a 8-bit quantized model stays close to the float one, saves and loads as an
// mlx-lm quantized checkpoint, trains LoRA factors on top (only they are trainable), and
// fuses into a float model with the adapter's logits.
func TestQLoRA(t *testing.T) {
	ids := loadST(t, "forward.safetensors")["input_ids"]
	float := loadModel(t)
	ref := float.Forward(ids, nil)
	m := loadModel(t)
	if err := lm.Quantize(m, 16, 8); err != nil {
		t.Fatal(err)
	}
	q := m.Forward(ids, nil)
	// Every linear layer, the embedding and the head are quantized (mlx-lm's choice). Rounding
	// to 8 bits moves each weight by at most (max-min)/510 of its group of 16; through the
	// fixture's layers that measured 0.052 on the logits. 0.1 bounds it with 2x headroom and
	// still catches a broken scheme: 4-bit codes read as 8-bit, or a bias or scale dropped,
	// move the logits by more than 0.5 (see TestQuantizeEveryWidth's figures).
	if d := maxAbsDiff(q, ref); d > 0.1 {
		t.Fatalf("8-bit logits differ from float by %g", d)
	}
	dir := t.TempDir()
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(back.Forward(ids, nil), q); d != 0 {
		t.Fatalf("reloaded quantized model differs by %g", d)
	}
	qsize, fsize := 0, 0
	for _, p := range flatten(back.Parameters()) {
		qsize += p.NBytes()
	}
	for _, p := range flatten(float.Parameters()) {
		fsize += p.NBytes()
	}
	back.Freeze()
	if _, err := lora.Apply(back, lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}}); err != nil {
		t.Fatal(err)
	}
	if n := nn.CountParams(back.TrainableParameters()); n != 1792 {
		t.Fatalf("QLoRA trainable parameters %d, want 1792", n)
	}
	f := readTrain(t)
	opt := optim.NewAdamW(optim.Constant(1e-2), optim.AdamConfig{BiasCorrection: true})
	step := nn.ValueAndGrad(back, fixtureLoss)
	b := [2]*mx.Array{toArray(f.Batches[0].InputIDs), toArray(f.Batches[0].CompletionMask)}
	var first, last float64
	for i := 0; i < 10; i++ {
		l, g := step(back, b)
		opt.Update(back, g)
		mx.Eval(l, back.Parameters(), opt.State())
		if i == 0 {
			first = l.Item()
		}
		last = l.Item()
	}
	if !(last < first-0.5) {
		t.Fatalf("QLoRA did not learn batch 0: %v -> %v", first, last)
	}
	adapted := back.Forward(ids, nil)
	if err := lora.FuseVerified(back, 1e-4); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(back.Forward(ids, nil), adapted); d > 1e-4 {
		t.Fatalf("fused QLoRA logits differ by %g", d)
	}
	t.Logf("8-bit model: %d bytes of parameters vs %d in float32 (%.0f%%); QLoRA loss %.3f -> %.3f", qsize, fsize, 100*float64(qsize)/float64(fsize), first, last)
}

// TestLoRADropoutFollowsEvalMode: LoRA dropout is active while training and off after
// model.Eval(), so validation and generation are deterministic.
func TestLoRADropoutFollowsEvalMode(t *testing.T) {
	m := loadModel(t)
	m.Freeze()
	if _, err := lora.Apply(m, lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Dropout: 0.5}); err != nil {
		t.Fatal(err)
	}
	for _, l := range lora.Layers(m) {
		l.LoraB = mx.Normal(l.LoraB.Shape(), 0, 0.5, mx.Float32, mx.Key(1))
	}
	ids := loadST(t, "forward.safetensors")["input_ids"]
	if maxAbsDiff(m.Forward(ids, nil), m.Forward(ids, nil)) == 0 {
		t.Fatal("LoRA dropout inactive in training mode")
	}
	m.Eval()
	if d := maxAbsDiff(m.Forward(ids, nil), m.Forward(ids, nil)); d != 0 {
		t.Fatalf("LoRA dropout still active after Eval (%g)", d)
	}
}
