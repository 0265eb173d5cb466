package mx_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

// TestAffineQuantizationMatchesMLX checks against real MLX 0.31.2 output
// (testdata/mlx-quant-README.md): codes, scales and biases bit for bit, dequantized
// values bit for bit, and quantized products within float32 accumulation error.
func TestAffineQuantizationMatchesMLX(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		f, _, err := mx.LoadSafetensors("testdata/affine_g64_b4.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		same := func(name string, a, b *mx.Array) {
			t.Helper()
			if string(a.Bytes()) != string(b.Bytes()) {
				t.Fatalf("%s differs from MLX", name)
			}
		}
		wq, sc, bi := mx.Quantize(f["W"], 64, 4)
		same("w_q", wq, f["w_q"])
		same("scales", sc, f["scales"])
		same("biases", bi, f["biases"])
		same("W_deq", mx.Dequantize(f["w_q"], f["scales"], f["biases"], 64, 4), f["W_deq"])
		w2q, sc2, bi2 := mx.Quantize(f["W2"], 64, 4)
		same("w2_q", w2q, f["w2_q"])
		same("W2_deq", mx.Dequantize(w2q, sc2, bi2, 64, 4), f["W2_deq"])
		rel := func(a, b *mx.Array) float64 {
			return mx.Max(mx.Abs(mx.Subtract(a, b)), nil, false).Item() / mx.Max(mx.Abs(b), nil, false).Item()
		}
		if r := rel(mx.QuantizedMatmul(f["x"], f["w_q"], f["scales"], f["biases"], true, 64, 4), f["y"]); r > 1e-5 {
			t.Fatalf("quantized_matmul(transpose) relative error %g", r)
		}
		if r := rel(mx.QuantizedMatmul(f["x"], w2q, sc2, bi2, false, 64, 4), f["y_t"]); r > 1e-5 {
			t.Fatalf("quantized_matmul relative error %g", r)
		}
		// Negative scales are expected (bias = max when |max| >= |min|).
		neg := 0
		for _, s := range sc.Float32s() {
			if s < 0 {
				neg++
			}
		}
		if neg == 0 {
			t.Fatal("no negative scales: the sign rule is not MLX's")
		}
	})
}

// TestAffineQuantizationAllWidthsMatchMLX checks every bit width MLX has (2, 3, 4, 5, 6
// and 8) at group sizes 32, 64 and 128 against MLX 0.31.2's own output
// (testdata/affine_b<bits>.safetensors, made by mlxc's TestQuantGoldensAreMLXs): packed
// codes, scales and biases bit for bit, dequantized values bit for bit, and quantized
// products in both orientations within float32 accumulation error.
func TestAffineQuantizationAllWidthsMatchMLX(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		for _, bits := range mx.QuantBits {
			f, _, err := mx.LoadSafetensors(fmt.Sprintf("testdata/affine_b%d.safetensors", bits))
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []int{32, 64, 128} {
				s := fmt.Sprintf("_g%d", g)
				same := func(name string, a *mx.Array) {
					t.Helper()
					if b := f[name]; string(a.Bytes()) != string(b.Bytes()) {
						t.Fatalf("bits %d: %s differs from MLX", bits, name)
					}
				}
				wq, sc, bi := mx.Quantize(f["W"], g, bits)
				same("w_q"+s, wq)
				same("scales"+s, sc)
				same("biases"+s, bi)
				same("W_deq"+s, mx.Dequantize(wq, sc, bi, g, bits))
				wq2, sc2, bi2 := mx.Quantize(f["W2"], g, bits)
				same("w2_q"+s, wq2)
				same("scales2"+s, sc2)
				same("biases2"+s, bi2)
				if r := relErr(mx.QuantizedMatmul(f["x"], wq, sc, bi, true, g, bits), f["y"+s]); r > 1e-5 {
					t.Fatalf("bits %d group %d: quantized_matmul(transpose) relative error %g", bits, g, r)
				}
				if r := relErr(mx.QuantizedMatmul(f["x2"], wq2, sc2, bi2, false, g, bits), f["y_t"+s]); r > 1e-5 {
					t.Fatalf("bits %d group %d: quantized_matmul relative error %g", bits, g, r)
				}
			}
		}
	})
}

// TestAffineQuantizationBF16MatchesMLX: a bfloat16 weight quantizes to MLX's codes with
// bf16 scales and biases, and dequantizes to MLX's bf16 values, bit for bit
// (testdata/affine_bf16.safetensors); the bf16 product is within bf16 accumulation error.
func TestAffineQuantizationBF16MatchesMLX(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		f, _, err := mx.LoadSafetensors("testdata/affine_bf16.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		w, x := mx.AsType(f["W"], mx.Bfloat16), mx.AsType(f["x"], mx.Bfloat16)
		for _, bits := range []int{3, 4, 6} {
			s := fmt.Sprintf("_b%d", bits)
			same := func(name string, a *mx.Array) {
				t.Helper()
				if b := f[name]; string(a.Bytes()) != string(b.Bytes()) {
					t.Fatalf("%s differs from MLX", name)
				}
			}
			wq, sc, bi := mx.Quantize(w, 64, bits)
			if sc.Dtype() != mx.Bfloat16 || bi.Dtype() != mx.Bfloat16 {
				t.Fatalf("bf16 weight: scales %v, biases %v; MLX gives bfloat16", sc.Dtype(), bi.Dtype())
			}
			same("w_q"+s, wq)
			same("scales"+s, mx.AsType(sc, mx.Float32))
			same("biases"+s, mx.AsType(bi, mx.Float32))
			d := mx.Dequantize(wq, sc, bi, 64, bits)
			if d.Dtype() != mx.Bfloat16 {
				t.Fatalf("dequantized dtype %v", d.Dtype())
			}
			same("W_deq"+s, mx.AsType(d, mx.Float32))
			// MLX's CPU kernel accumulates in bf16 term by term (256 roundings: 2.5-4.5% off
			// the exact product here); ours sums in float32 and rounds once. Either must be
			// no further from the exact product than MLX's plus one bf16 rounding.
			y := mx.AsType(mx.QuantizedMatmul(x, wq, sc, bi, true, 64, bits), mx.Float32)
			exact := mx.Matmul(mx.AsType(x, mx.Float32), mx.AsType(d, mx.Float32).T())
			if r, m := relErr(y, exact), relErr(f["y"+s], exact); r > m+1.0/256 {
				t.Fatalf("bits %d: bf16 quantized_matmul %g from the exact product (MLX's: %g)", bits, r, m)
			}
			t.Logf("bits %d: bf16 product %.2g from exact, %.2g from MLX's (MLX's from exact: %.2g)", bits, relErr(y, exact), relErr(y, f["y"+s]), relErr(f["y"+s], exact))
		}
	})
}

func relErr(a, b *mx.Array) float64 {
	return mx.Max(mx.Abs(mx.Subtract(a, b)), nil, false).Item() / mx.Max(mx.Abs(b), nil, false).Item()
}

// TestQuantizeBadArguments: an unsupported width or a row that does not fill whole words
// is refused with a message naming it.
func TestQuantizeBadArguments(t *testing.T) {
	for _, c := range []struct {
		cols, bits, group int
		want              string
	}{{64, 7, 32, "bits must be one of"}, {64, 4, 48, "multiple of group_size 48"}, {48, 3, 16, "whole uint32 words"}} {
		func() {
			defer func() {
				if r := fmt.Sprint(recover()); !strings.Contains(r, c.want) {
					t.Errorf("bits %d group %d: panic %q, want %q", c.bits, c.group, r, c.want)
				}
			}()
			mx.Quantize(mx.Zeros([]int{2, c.cols}, mx.Float32), c.group, c.bits)
		}()
	}
}

// TestQuantizedGradient: the gradient of a quantized product with respect to x equals
// the dequantized one's, for a width whose codes straddle words.
func TestQuantizedGradient(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		w := mx.Normal([]int{8, 128}, 0, 1, mx.Float32, mx.Key(1))
		for _, bits := range []int{3, 4} {
			wq, sc, bi := mx.Quantize(w, 64, bits)
			x := mx.Normal([]int{3, 128}, 0, 1, mx.Float32, mx.Key(2))
			gq := mx.GradOf(func(x *mx.Array) *mx.Array {
				return mx.Sum(mx.Square(mx.QuantizedMatmul(x, wq, sc, bi, true, 64, bits)), nil, false)
			})(x)
			wd := mx.Dequantize(wq, sc, bi, 64, bits)
			gd := mx.GradOf(func(x *mx.Array) *mx.Array { return mx.Sum(mx.Square(mx.Matmul(x, wd.T())), nil, false) })(x)
			if d := mx.Max(mx.Abs(mx.Subtract(gq, gd)), nil, false).Item(); d > 1e-4*math.Max(1, mx.Max(mx.Abs(gd), nil, false).Item()) {
				t.Fatalf("bits %d: quantized gradient differs by %g", bits, d)
			}
		}
	})
}
