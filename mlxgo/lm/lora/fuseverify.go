package lora

import (
	"fmt"
	"math"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// FuseVerified fuses the adapters and checks the result on a fixed probe sequence before
// the caller writes anything; on an error the caller must not save the model.
//
// The fusion itself is done and checked in float32: the model's floating-point weights
// are widened to float32, the adapter model's logits are taken as the reference, the
// adapters are merged, and the fused model's logits must be within tol of the reference.
// Both sides then compute at the same precision, so only float32 rounding separates them
// and tol (1e-3 in the CLI) catches any real mistake (wrong layout, scale, DoRA norm).
//
// The fused weights then go back to the dtype each base weight was stored in (a bf16
// checkpoint is written in bf16, as mlx-lm does; a quantized base stays de-quantized in
// float32), and the logits of that model, computed as it will run, must be within
// StorageTolerance of the float32 reference. Comparing a bf16 model with 1e-3 is wrong:
// rounding a weight to bf16 alone moves it by up to 2⁻⁹ of its value, which shows in the
// logits at the 1e-2 level (0.0193 on a Llama-3.2-shaped checkpoint); that second check
// catches what storage can break (overflow to ±Inf in float16, NaN), not rounding.
func FuseVerified(model *lm.Model, tol float64) error {
	stored := map[string]mx.Dtype{}
	for _, p := range tree.Flatten(nn.Parameters(model)) {
		stored[p.Key] = p.Value.Dtype()
	}
	if err := lm.CastParameters(model, func(string, mx.Dtype) mx.Dtype { return mx.Float32 }); err != nil {
		return err
	}
	n := min(16, model.Config.VocabSize)
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((i*7 + 1) % model.Config.VocabSize)
	}
	probe := mx.FromSlice(ids, 1, n)
	ref := model.Forward(probe, nil)
	mx.Eval(ref)
	if err := Fuse(model); err != nil {
		return err
	}
	if d := maxAbsDiff(model.Forward(probe, nil), ref); !(d <= tol) {
		return fmt.Errorf("lora: fused logits differ from adapter logits by %g, both in float32 (tolerance %g); not saving", d, tol)
	}
	var widest mx.Dtype = mx.Float32
	err := lm.CastParameters(model, func(path string, cur mx.Dtype) mx.Dtype {
		dt, ok := stored[path]
		if !ok { // a fused layer: its base weight was stored under .linear / .embedding
			i := strings.LastIndex(path, ".")
			for _, inner := range []string{".linear", ".embedding"} {
				if d, found := stored[path[:i]+inner+path[i:]]; found {
					dt, ok = d, true
				}
			}
		}
		if !ok || !dt.IsFloat() {
			return cur
		}
		if dt != mx.Float32 {
			widest = dt
		}
		return dt
	})
	if err != nil {
		return err
	}
	limit := StorageTolerance(widest, tol, ref)
	if d := maxAbsDiff(model.Forward(probe, nil), ref); !(d <= limit) {
		return fmt.Errorf("lora: the fused model stored in %v gives logits %g away from the float32 fused model (tolerance %g for %v); not saving", widest, d, limit, widest)
	}
	return nil
}

// StorageTolerance is how far the logits of a model stored in dt may be from its float32
// logits ref: tol for float32, and for 16-bit formats 8 units of rounding of the largest
// logit (u = 2⁻⁸ for bfloat16's 8-bit significand, 2⁻¹¹ for float16's 11 bits), enough
// for weight rounding accumulated over a few layers and far below what an overflow or a
// NaN produces.
func StorageTolerance(dt mx.Dtype, tol float64, ref *mx.Array) float64 {
	var u float64
	switch dt {
	case mx.Bfloat16:
		u = math.Ldexp(1, -8)
	case mx.Float16:
		u = math.Ldexp(1, -11)
	default:
		return tol
	}
	scale := mx.Max(mx.Abs(ref), nil, false).Item()
	return max(tol, 8*u*max(1, scale))
}

func maxAbsDiff(a, b *mx.Array) float64 {
	return mx.Max(mx.Abs(mx.Subtract(mx.AsType(a, mx.Float32), mx.AsType(b, mx.Float32))), nil, false).Item()
}
