package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// TestConvertWidthsRecipesAndDequantize: convert -q writes every MLX width and mlx-lm's
// mixed recipes (per-layer entries in config.json); convert --dequantize and
// fuse --de-quantize write float models whose logits are the quantized model's (with
// the adapter, for fuse) within float32 rounding; bad widths and recipes are refused.
func TestConvertWidthsRecipesAndDequantize(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	src := filepath.Join(tinyLlama, "model")
	ids := mx.FromSlice([]int32{1, 17, 300, 42, 9, 511}, 1, 6)
	diff := func(a, b *mx.Array) float64 { return mx.Max(mx.Abs(mx.Subtract(a, b)), nil, false).Item() }

	q3 := filepath.Join(dir, "q3")
	mlxgo(t, bin, "convert", "--hf-path", src, "--mlx-path", q3, "-q", "--q-bits", "3", "--q-group-size", "32")
	m3 := lm.MustLoad(q3)
	if l, ok := m3.Model.Layers[0].SelfAttn.QProj.(*nn.QuantizedLinear); !ok || l.Bits != 3 || m3.Config.Quantization.Bits != 3 {
		t.Fatalf("--q-bits 3: q_proj %T", m3.Model.Layers[0].SelfAttn.QProj)
	}

	mixed := filepath.Join(dir, "mixed")
	mlxgo(t, bin, "convert", "--hf-path", src, "--mlx-path", mixed, "-q", "--q-group-size", "32", "--quant-predicate", "mixed_3_6")
	mm := lm.MustLoad(mixed)
	head, ok := mm.LMHead.(*nn.QuantizedLinear)
	if !ok || head.Bits != 6 || mm.Model.Layers[1].SelfAttn.VProj.(*nn.QuantizedLinear).Bits != 6 ||
		mm.Model.Layers[0].SelfAttn.VProj.(*nn.QuantizedLinear).Bits != 3 || mm.Model.EmbedTokens.(*nn.QuantizedEmbedding).Bits != 3 {
		t.Fatalf("mixed_3_6: lm_head %T, widths not mlx-lm's recipe", mm.LMHead)
	}
	if p := mm.Config.Quantization.Layers["model.layers.1.self_attn.v_proj"]; p == nil || p.Bits != 6 {
		t.Fatalf("config.json has no 6-bit entry for layer 1's v_proj: %v", mm.Config.Quantization.Layers)
	}
	qlogits := mm.Forward(ids, nil)

	deq := filepath.Join(dir, "deq")
	mlxgo(t, bin, "convert", "--hf-path", mixed, "--mlx-path", deq, "--dequantize")
	md := lm.MustLoad(deq)
	if md.Config.Quantization != nil || lm.MustWeights(deq)["model.layers.0.self_attn.q_proj.weight"].Dtype() != mx.Float32 {
		t.Fatal("convert --dequantize left quantization behind")
	}
	if d := diff(md.Forward(ids, nil), qlogits); d > 1e-4 {
		t.Fatalf("convert --dequantize: logits differ from the quantized model's by %g", d)
	}

	// fuse --de-quantize: an mlx-lm adapter on the mixed-precision base.
	adapter := filepath.Join(tinyLlama, "lora/adapter_final_mlx")
	ref := lm.MustLoad(mixed)
	ref.Freeze()
	if err := lora.LoadAdapters(ref, adapter); err != nil {
		t.Fatal(err)
	}
	want := ref.Forward(ids, nil)
	fused := filepath.Join(dir, "fused")
	mlxgo(t, bin, "fuse", "--model", mixed, "--adapter-path", adapter, "--save-path", fused, "--de-quantize")
	mf := lm.MustLoad(fused)
	if mf.Config.Quantization != nil {
		t.Fatal("fuse --de-quantize kept the quantization entry")
	}
	for k, w := range lm.MustWeights(fused) {
		if w.Dtype() == mx.Uint32 || strings.HasSuffix(k, ".scales") {
			t.Fatalf("fuse --de-quantize wrote %s (%v)", k, w.Dtype())
		}
	}
	if d := diff(mf.Forward(ids, nil), want); d > 1e-4 {
		t.Fatalf("fuse --de-quantize: logits differ from the adapted quantized model's by %g", d)
	}
	// Without it, as mlx-lm's fuse does, each fused layer is quantized again with its
	// base's widths: the codes are those of W + ΔW, and the checkpoint loads back.
	kept := filepath.Join(dir, "kept")
	mlxgo(t, bin, "fuse", "--model", mixed, "--adapter-path", adapter, "--save-path", kept)
	mk := lm.MustLoad(kept)
	if err := lora.Fuse(ref); err != nil {
		t.Fatal(err)
	}
	for i, b := range mk.Model.Layers {
		for name, l := range map[string]nn.Layer{"q_proj": b.SelfAttn.QProj, "v_proj": b.SelfAttn.VProj} {
			got, ok := l.(*nn.QuantizedLinear)
			base := mm.Model.Layers[i].SelfAttn.VProj.(*nn.QuantizedLinear)
			if name == "q_proj" {
				base = mm.Model.Layers[i].SelfAttn.QProj.(*nn.QuantizedLinear)
			}
			if !ok || got.Bits != base.Bits || got.GroupSize != base.GroupSize {
				t.Fatalf("layer %d %s after fuse: %T, want %d-bit like its base", i, name, l, base.Bits)
			}
			fl := ref.Model.Layers[i].SelfAttn.QProj
			if name == "v_proj" {
				fl = ref.Model.Layers[i].SelfAttn.VProj
			}
			wq, _, _ := mx.Quantize(fl.(*nn.Linear).Weight, base.GroupSize, base.Bits)
			if string(wq.Bytes()) != string(got.Weight.Bytes()) {
				t.Fatalf("layer %d %s: re-quantized codes are not those of the fused weight", i, name)
			}
		}
	}
	t.Logf("fuse of the mixed base, re-quantized: logits %.3g from the adapter's (de-quantized: %.2g)", diff(mk.Forward(ids, nil), want), diff(mf.Forward(ids, nil), want))

	// generate on the mlx-community-style fixture (3-bit tied embedding as the head).
	if out := mlxgo(t, bin, "generate", "--model", "../../lm/testdata/mlx-community-tiny", "--prompt", "hello", "--max-tokens", "5", "--no-chat-template", "--ignore-eos"); strings.TrimSpace(out) == "" {
		t.Fatal("generate on the mixed-precision checkpoint printed nothing")
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"convert", "--hf-path", src, "--mlx-path", filepath.Join(dir, "b7"), "-q", "--q-bits", "7"}, "bits 7"},
		{[]string{"convert", "--hf-path", src, "--mlx-path", filepath.Join(dir, "r"), "-q", "--quant-predicate", "mixed_9_9"}, `"mixed_9_9"`},
		{[]string{"convert", "--hf-path", mixed, "--mlx-path", filepath.Join(dir, "qd"), "-q", "--dequantize"}, "not both"},
		{[]string{"fuse", "--model", src, "--adapter-path", adapter, "--save-path", filepath.Join(dir, "nf"), "--de-quantize"}, "not quantized"},
	} {
		out, err := exec.Command(bin, bad.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), bad.want) {
			t.Errorf("mlxgo %s: %v, want an error with %q:\n%s", strings.Join(bad.args, " "), err, bad.want, out)
		}
	}
}
