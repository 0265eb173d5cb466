package lm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

// mlxCommunity is a checkpoint laid out as mlx-community ships them: the tiny Llama
// fixture with tied embeddings, quantized by mlx-lm's mixed_3_6 recipe at group size 32
// (3-bit embedding used as the tied head through as_linear, 6-bit v_proj of the last
// layer, the other projections 3-bit, down_proj left in float because 176 inputs are
// not a multiple of 32), with per-layer entries in config.json "quantization" and
// "quantization_config". TestMLXCommunityFixtureIsReproducible makes it.
const mlxCommunity = "testdata/mlx-community-tiny"

// makeMLXCommunity builds the fixture's model from the float tiny Llama.
func makeMLXCommunity(t *testing.T) *lm.Model {
	m := lm.MustLoad("testdata/hf-tiny-llama/model")
	m.LMHead = nil
	m.Config.TieWordEmbeddings = true
	m.Config.Raw["tie_word_embeddings"] = true
	pred, err := lm.MixedRecipe(m, "mixed_3_6", 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.QuantizeWith(m, 32, 4, pred); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMLXCommunityFixtureIsReproducible: quantizing the float fixture again gives the
// committed checkpoint byte for byte (MLXGO_WRITE_QUANT_FIXTURE=1 rewrites it).
func TestMLXCommunityFixtureIsReproducible(t *testing.T) {
	dir := t.TempDir()
	if os.Getenv("MLXGO_WRITE_QUANT_FIXTURE") == "1" {
		dir = mlxCommunity
	}
	if err := lm.Save(makeMLXCommunity(t), dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
		a, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(mlxCommunity, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs from %s", f, filepath.Join(mlxCommunity, f))
		}
	}
}

// TestLoadMLXCommunityCheckpoint loads the mixed-precision checkpoint: each module gets
// the width its config entry or its .scales say; the logits equal the de-quantized float
// model's within float32 rounding, and greedy decoding is identical.
func TestLoadMLXCommunityCheckpoint(t *testing.T) {
	m, err := lm.Load(mlxCommunity)
	if err != nil {
		t.Fatal(err)
	}
	layers := m.Model.Layers
	bits := func(l any) int {
		switch q := l.(type) {
		case *nn.QuantizedLinear:
			return q.Bits
		case *nn.QuantizedEmbedding:
			return q.Bits
		}
		return 0
	}
	for _, c := range []struct {
		name string
		l    any
		want int
	}{
		{"embed_tokens", m.Model.EmbedTokens, 3},
		{"layers.0.self_attn.v_proj", layers[0].SelfAttn.VProj, 3},
		{"layers.1.self_attn.v_proj", layers[1].SelfAttn.VProj, 6},
		{"layers.1.self_attn.q_proj", layers[1].SelfAttn.QProj, 3},
		{"layers.1.mlp.down_proj", layers[1].MLP.DownProj, 0},
	} {
		if got := bits(c.l); got != c.want {
			t.Errorf("%s: %d bits (%T), want %d", c.name, got, c.l, c.want)
		}
	}
	if m.LMHead != nil {
		t.Fatal("the tied model has a separate head")
	}
	float, err := lm.Load(mlxCommunity)
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Dequantize(float); err != nil {
		t.Fatal(err)
	}
	ids := mx.FromSlice([]int32{1, 17, 300, 42, 9, 511, 3, 77}, 1, 8)
	q := m.Forward(ids, nil)
	if d := maxDiff(q, float.Forward(ids, nil)); d > 1e-4 {
		t.Fatalf("quantized logits differ from the de-quantized float model by %g", d)
	}
	orig := lm.MustLoad("testdata/hf-tiny-llama/model")
	orig.LMHead, orig.Config.TieWordEmbeddings = nil, true
	t.Logf("logits: quantized vs de-quantized float %g; vs the float model before quantizing %g", maxDiff(q, float.Forward(ids, nil)), maxDiff(q, orig.Forward(ids, nil)))
	opts := generate.Options{MaxTokens: 12, EOS: []int{-1}}
	a, _ := generate.Tokens(m, []int{1, 17, 300}, opts, nil)
	b, _ := generate.Tokens(float, []int{1, 17, 300}, opts, nil)
	if len(a) != 12 || !slices.Equal(a, b) {
		t.Fatalf("greedy decoding: quantized %v, de-quantized %v", a, b)
	}
}

// TestQuantizationConfigEntries: per-layer entries follow mlx-lm's load_model: false keeps
// a module in float (its .scales must then be absent), an entry's widths override the
// global ones, and a wrong width is reported with the tensor's key.
func TestQuantizationConfigEntries(t *testing.T) {
	cfgPath := filepath.Join(mlxCommunity, "config.json")
	var cfg map[string]any
	data, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	q := cfg["quantization"].(map[string]any)
	if q["model.layers.1.self_attn.v_proj"].(map[string]any)["bits"] != 6.0 || q["bits"] != 4.0 {
		t.Fatalf("config quantization entries %v", q)
	}
	if !reflectEqualJSON(cfg["quantization"], cfg["quantization_config"]) {
		t.Fatal("quantization_config must repeat quantization, as mlx-lm writes it")
	}
	copyWith := func(edit func(q map[string]any)) string {
		dir := t.TempDir()
		for _, f := range []string{"model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
			b, err := os.ReadFile(filepath.Join(mlxCommunity, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		var c map[string]any
		json.Unmarshal(data, &c)
		edit(c["quantization"].(map[string]any))
		delete(c, "quantization_config")
		b, _ := json.Marshal(c)
		os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		return dir
	}
	// false for a float module: loads; the model is the same.
	dir := copyWith(func(q map[string]any) { q["model.layers.0.mlp.down_proj"] = false })
	m, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Model.Layers[0].MLP.DownProj.(*nn.Linear); !ok {
		t.Fatal("down_proj listed false is not a float Linear")
	}
	// false for a module stored quantized: its codes are unexpected.
	dir = copyWith(func(q map[string]any) { q["model.layers.0.self_attn.q_proj"] = false })
	if _, err := lm.Load(dir); err == nil || !strings.Contains(err.Error(), "model.layers.0.self_attn.q_proj.scales") {
		t.Fatalf("q_proj listed false but stored quantized: %v", err)
	}
	// A wrong width in an entry: the packed weight has the wrong shape, named by its key.
	dir = copyWith(func(q map[string]any) {
		q["model.layers.1.self_attn.v_proj"] = map[string]any{"group_size": 32, "bits": 4}
	})
	if _, err := lm.Load(dir); err == nil || !strings.Contains(err.Error(), "model.layers.1.self_attn.v_proj.weight") {
		t.Fatalf("v_proj listed at 4 bits but stored at 6: %v", err)
	}
	// Only quantization_config (no "quantization"): read the same way.
	dir = copyWith(func(map[string]any) {})
	var c map[string]any
	json.Unmarshal(data, &c)
	delete(c, "quantization")
	b, _ := json.Marshal(c)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	if m, err := lm.Load(dir); err != nil || m.Model.Layers[1].SelfAttn.VProj.(*nn.QuantizedLinear).Bits != 6 {
		t.Fatalf("quantization_config alone: %v", err)
	}
}

func reflectEqualJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestQLoRAOnMLXCommunityCheckpoint trains LoRA on the mixed-precision checkpoint (only
// the factors train; the loss falls), then fuses and de-quantizes it (fuse --de-quantize)
// into a float model whose logits equal the adapted model's within float32 rounding,
// which saves and loads back with no quantization left.
func TestQLoRAOnMLXCommunityCheckpoint(t *testing.T) {
	m, err := lm.Load(mlxCommunity)
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze()
	if _, err := lora.Apply(m, lora.Config{NumLayers: 2, Rank: 4, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}}); err != nil {
		t.Fatal(err)
	}
	if n := nn.CountParams(m.TrainableParameters()); n != 4*(64+64)*2+4*(64+32)*2 {
		t.Fatalf("trainable parameters %d: only the LoRA factors may train", n)
	}
	ids := mx.FromSlice([]int32{1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45}, 2, 6)
	loss := func(m *lm.Model, ids *mx.Array) *mx.Array {
		n := ids.Dim(1)
		logits := m.Forward(mx.SliceAxis(ids, 1, 0, n-1), nil)
		return nn.CrossEntropy(logits, mx.SliceAxis(ids, 1, 1, n), nil, nn.ReduceMean)
	}
	opt := optim.NewAdamW(optim.Constant(1e-2), optim.AdamConfig{BiasCorrection: true})
	step := nn.ValueAndGrad(m, loss)
	var first, last float64
	for i := 0; i < 15; i++ {
		l, g := step(m, ids)
		opt.Update(m, g)
		mx.Eval(l, m.Parameters(), opt.State())
		if i == 0 {
			first = l.Item()
		}
		last = l.Item()
	}
	if !(last < first-0.5) {
		t.Fatalf("QLoRA on the mixed-precision checkpoint did not learn: %v -> %v", first, last)
	}
	adapted := m.Forward(ids, nil)
	if err := lora.FuseVerified(m, 1e-4); err != nil {
		t.Fatal(err)
	}
	// Fused without de-quantizing: the adapted projections are float now, the rest stays
	// quantized, and the per-layer entries written say so (the checkpoint loads back).
	partial := t.TempDir()
	if err := lm.Save(m, partial); err != nil {
		t.Fatal(err)
	}
	pm, err := lm.Load(partial)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pm.Model.Layers[1].SelfAttn.VProj.(*nn.Linear); !ok || pm.Model.Layers[1].SelfAttn.KProj.(*nn.QuantizedLinear).Bits != 3 {
		t.Fatalf("fused checkpoint: v_proj %T, k_proj %T", pm.Model.Layers[1].SelfAttn.VProj, pm.Model.Layers[1].SelfAttn.KProj)
	}
	if d := maxDiff(pm.Forward(ids, nil), adapted); d > 1e-4 {
		t.Fatalf("reloaded fused (still quantized) model differs from the adapter's logits by %g", d)
	}
	if err := lm.Dequantize(m); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(m.Forward(ids, nil), adapted); d > 1e-4 {
		t.Fatalf("fused, de-quantized logits differ from the adapter's by %g", d)
	}
	dir := t.TempDir()
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.Quantization != nil {
		t.Fatal("the de-quantized checkpoint still declares quantization")
	}
	for _, p := range flattenParams(back) {
		if p.Dtype() == mx.Uint32 {
			t.Fatal("the de-quantized checkpoint still holds packed codes")
		}
	}
	if d := maxDiff(back.Forward(ids, nil), adapted); d > 1e-4 {
		t.Fatalf("reloaded de-quantized model differs from the adapter's logits by %g", d)
	}
	t.Logf("QLoRA loss %.3f -> %.3f", first, last)
}

func flattenParams(m *lm.Model) []*mx.Array {
	var out []*mx.Array
	for _, nm := range nn.NamedModules(m) {
		switch l := nm.Module.(type) {
		case *nn.Linear:
			out = append(out, l.Weight)
		case *nn.Embedding:
			out = append(out, l.Weight)
		case *nn.QuantizedLinear:
			out = append(out, l.Weight)
		case *nn.QuantizedEmbedding:
			out = append(out, l.Weight)
		}
	}
	return out
}

// TestQuantizeEveryWidth: each MLX width quantizes the tiny model, saves, and loads back
// with the same logits; the logits approach the float model's as the width grows.
func TestQuantizeEveryWidth(t *testing.T) {
	float := lm.MustLoad("testdata/hf-tiny-llama/model")
	ids := mx.FromSlice([]int32{1, 17, 300, 42, 9, 511}, 1, 6)
	ref := float.Forward(ids, nil)
	prev := 1e9
	for _, bits := range mx.QuantBits {
		m := lm.MustLoad("testdata/hf-tiny-llama/model")
		if err := lm.Quantize(m, 32, bits); err != nil {
			t.Fatal(err)
		}
		q := m.Forward(ids, nil)
		dir := t.TempDir()
		if err := lm.Save(m, dir); err != nil {
			t.Fatal(err)
		}
		back, err := lm.Load(dir)
		if err != nil {
			t.Fatalf("%d bits: %v", bits, err)
		}
		if d := maxDiff(back.Forward(ids, nil), q); d != 0 {
			t.Fatalf("%d bits: reloaded model differs by %g", bits, d)
		}
		d := maxDiff(q, ref)
		if d >= prev {
			t.Fatalf("%d bits: logits %g from float, not closer than at fewer bits (%g)", bits, d, prev)
		}
		t.Logf("%d bits: max logit difference from float %.4f", bits, d)
		prev = d
	}
}

// ExampleQuantizeWith quantizes a model with mlx-lm's mixed_3_6 recipe, as
// `mlxgo convert -q --quant-predicate mixed_3_6` does.
func ExampleQuantizeWith() {
	m := lm.MustLoad("testdata/hf-tiny-llama/model")
	pred, err := lm.MixedRecipe(m, "mixed_3_6", 32)
	if err != nil {
		panic(err)
	}
	if err := lm.QuantizeWith(m, 32, 4, pred); err != nil {
		panic(err)
	}
	fmt.Println(m.Model.Layers[1].SelfAttn.VProj.(*nn.QuantizedLinear).Bits, m.Model.Layers[0].SelfAttn.VProj.(*nn.QuantizedLinear).Bits)
	// Output: 6 3
}

// TestQuantizationEntryForms: an entry of true takes the global parameters, an object
// without group_size or bits takes MLX's to_quantized defaults (64, 4), false keeps the
// module in float, and an unlisted module takes the global parameters.
func TestQuantizationEntryForms(t *testing.T) {
	base := `{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":32,`
	c, err := lm.ParseConfig([]byte(base+`"quantization":{"group_size":32,"bits":3,"a":true,"b":{"bits":6},"c":false}}`), "q.json")
	if err != nil {
		t.Fatal(err)
	}
	q := c.Quantization
	for _, tc := range []struct {
		path             string
		want             lm.QuantParams
		listed, quantize bool
	}{
		{"a", lm.QuantParams{GroupSize: 32, Bits: 3}, true, true},
		{"b", lm.QuantParams{GroupSize: 64, Bits: 6}, true, true},
		{"c", lm.QuantParams{}, true, false},
		{"d", lm.QuantParams{GroupSize: 32, Bits: 3}, false, true},
	} {
		p, listed, quantize := q.ParamsFor(tc.path)
		if p.GroupSize != tc.want.GroupSize || p.Bits != tc.want.Bits || listed != tc.listed || quantize != tc.quantize {
			t.Errorf("%s: %+v listed %v quantize %v", tc.path, p, listed, quantize)
		}
	}
	if _, err := lm.ParseConfig([]byte(base+`"quantization":{"group_size":32,"bits":3,"a":"yes"}}`), "q.json"); err == nil || !strings.Contains(err.Error(), `quantization["a"]`) || !strings.Contains(err.Error(), "q.json") {
		t.Fatalf("a string entry: %v", err)
	}
}
