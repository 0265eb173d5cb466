package lora_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// bf16Checkpoint saves the fixture model in bfloat16 and returns the folder.
func bf16Checkpoint(t *testing.T) string {
	t.Helper()
	m := loadModel(t)
	if err := lm.SetDtype(m, mx.Bfloat16); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := lm.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFuseBF16Checkpoint: a bf16 checkpoint with a float32 adapter fuses (the check that
// failed with 0.0193 > 0.001 before), the fused weights stay bf16, and the fused model is
// as close to transformers' float32 fused logits as bf16 storage allows.
func TestFuseBF16Checkpoint(t *testing.T) {
	dir := bf16Checkpoint(t)
	m, err := lm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if dt := m.Model.Layers[0].SelfAttn.QProj.(interface{ DequantizedWeight() *mx.Array }).DequantizedWeight().Dtype(); dt != mx.Bfloat16 {
		t.Fatalf("checkpoint weights are %v, want bfloat16", dt)
	}
	m.Freeze()
	if err := lora.LoadAdapters(m, filepath.Join(fixture, "lora/adapter_final")); err != nil {
		t.Fatal(err)
	}
	if err := lora.FuseVerified(m, 1e-3); err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Model.Layers {
		for name, l := range map[string]any{"q_proj": b.SelfAttn.QProj, "v_proj": b.SelfAttn.VProj, "k_proj": b.SelfAttn.KProj} {
			if dt := l.(interface{ DequantizedWeight() *mx.Array }).DequantizedWeight().Dtype(); dt != mx.Bfloat16 {
				t.Fatalf("fused %s is %v, want bfloat16 as stored", name, dt)
			}
		}
	}
	ref := loadST(t, "lora/fused_logits.safetensors")
	got := m.Forward(ref["input_ids"], nil)
	limit := lora.StorageTolerance(mx.Bfloat16, 1e-3, ref["logits_fused"])
	d := maxAbsDiff(got, ref["logits_fused"])
	t.Logf("bf16 fused logits vs transformers float32: %.4f (tolerance %.4f)", d, limit)
	if d > limit || d < 1e-4 {
		t.Fatalf("bf16 fused logits differ from float32 by %g; want rounding-sized, at most %g", d, limit)
	}
	out := t.TempDir()
	if err := lm.Save(m, out); err != nil {
		t.Fatal(err)
	}
	w := lm.MustWeights(out)
	if dt := w["model.layers.0.self_attn.q_proj.weight"].Dtype(); dt != mx.Bfloat16 {
		t.Fatalf("saved fused weight is %v, want bfloat16", dt)
	}
}

// TestFuseVerifiedRefusesNaN: an adapter that breaks the model (NaN) fails verification
// (a NaN distance used to compare as "not above the tolerance").
func TestFuseVerifiedRefusesNaN(t *testing.T) {
	m := withAdapter(t, "lora/adapter_final")
	for _, l := range lora.Layers(m) {
		l.LoraB = mx.Full(l.LoraB.Shape(), math.NaN(), mx.Float32)
		break
	}
	if err := lora.FuseVerified(m, 1e-3); err == nil {
		t.Fatal("NaN adapter passed verification")
	}
}

func TestStorageTolerance(t *testing.T) {
	ref := mx.FromSlice([]float32{-12, 3}, 2)
	if got := lora.StorageTolerance(mx.Float32, 1e-3, ref); got != 1e-3 {
		t.Fatalf("float32: %g", got)
	}
	if got := lora.StorageTolerance(mx.Bfloat16, 1e-3, ref); got != 8*12.0/256 {
		t.Fatalf("bfloat16: %g", got)
	}
	if got := lora.StorageTolerance(mx.Float16, 1e-3, ref); got != 8*12.0/2048 {
		t.Fatalf("float16: %g", got)
	}
}
