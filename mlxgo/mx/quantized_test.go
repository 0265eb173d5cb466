package mx_test

import (
	"math"
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

// TestQuantizeOtherWidths: 2-, 4- and 8-bit codes round-trip within a step and a half
// (half a step of rounding, plus clipping at the end opposite the exactly stored edge), and the
// gradient of a quantized product with respect to x equals the dequantized one's.
func TestQuantizeOtherWidths(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		w := mx.Normal([]int{8, 128}, 0, 1, mx.Float32, mx.Key(1))
		for _, bits := range []int{2, 4, 8} {
			for _, g := range []int{32, 64, 128} {
				wq, sc, bi := mx.Quantize(w, g, bits)
				d := mx.Dequantize(wq, sc, bi, g, bits)
				err := mx.Max(mx.Abs(mx.Subtract(d, w)), nil, false).Item()
				step := mx.Max(mx.Abs(sc), nil, false).Item()
				if err > 1.5*step+1e-6 {
					t.Fatalf("bits %d group %d: max error %g above 1.5 steps of %g", bits, g, err, step)
				}
			}
		}
		wq, sc, bi := mx.Quantize(w, 64, 4)
		x := mx.Normal([]int{3, 128}, 0, 1, mx.Float32, mx.Key(2))
		gq := mx.GradOf(func(x *mx.Array) *mx.Array {
			return mx.Sum(mx.Square(mx.QuantizedMatmul(x, wq, sc, bi, true, 64, 4)), nil, false)
		})(x)
		wd := mx.Dequantize(wq, sc, bi, 64, 4)
		gd := mx.GradOf(func(x *mx.Array) *mx.Array { return mx.Sum(mx.Square(mx.Matmul(x, wd.T())), nil, false) })(x)
		if d := mx.Max(mx.Abs(mx.Subtract(gq, gd)), nil, false).Item(); d > 1e-4*math.Max(1, mx.Max(mx.Abs(gd), nil, false).Item()) {
			t.Fatalf("quantized gradient differs by %g", d)
		}
	})
}
