package lm_test

import (
	"path/filepath"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestComputeDtypeAccuracy makes a bf16 checkpoint of each fixture (weights rounded
// to bf16, as on the Hub) and compares its logits, computed in bf16 and in float32,
// with transformers' float32 logits of the original weights. float32 compute, the CPU
// default for half-precision checkpoints, must be the closer one; its only error left
// is the rounding of the weights.
func TestComputeDtypeAccuracy(t *testing.T) {
	if name := mx.CurrentBackend().Name(); name != "cpu" {
		t.Skipf("the default under test is the CPU backend's; this run uses %s", name)
	}
	dirs := map[string]string{"llama": filepath.Join("testdata", "hf-tiny-llama")}
	for _, name := range archs {
		dirs[name] = archDir(name)
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			ref, _, err := mx.LoadSafetensors(filepath.Join(dir, "forward.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			m := lm.MustLoad(filepath.Join(dir, "model"))
			if dt := lm.DefaultComputeDtype(m); dt != mx.Float32 {
				t.Fatalf("default compute dtype of a float32 checkpoint: %v", dt)
			}
			if err := lm.SetDtype(m, mx.Bfloat16); err != nil {
				t.Fatal(err)
			}
			bf16Logits := m.Forward(ref["input_ids"], nil)
			bf16 := maxDiff(bf16Logits, ref["logits"])
			dt := lm.DefaultComputeDtype(m)
			if dt != mx.Float32 {
				t.Fatalf("default compute dtype of a bf16 checkpoint on the CPU: %v, want float32", dt)
			}
			if err := lm.SetComputeDtype(m, dt); err != nil {
				t.Fatal(err)
			}
			if m.Config.Dtype != "bfloat16" {
				t.Fatalf("SetComputeDtype changed the stored dtype to %q", m.Config.Dtype)
			}
			f32Logits := m.Forward(ref["input_ids"], nil)
			f32 := maxDiff(f32Logits, ref["logits"])
			t.Logf("%s: max |logits - transformers float32|: bf16 compute %.3g, float32 compute %.3g (bf16 vs float32 compute of the same bf16 weights: %.3g)",
				name, bf16, f32, maxDiff(bf16Logits, f32Logits))
			if !(f32 <= bf16) {
				t.Fatalf("float32 compute is %g from the reference, bf16 compute %g", f32, bf16)
			}
		})
	}
}
