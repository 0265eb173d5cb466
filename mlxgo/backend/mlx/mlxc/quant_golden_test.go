package mlxc_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// quantGoldenDir holds the MLX affine-quantization references that package mx tests
// against without MLX (see its mlx-quant-README.md).
const quantGoldenDir = "../../../mx/testdata"

// TestQuantGoldensAreMLXs regenerates mx/testdata/affine_b<bits>.safetensors with the
// loaded MLX (mlx_quantize, mlx_dequantize and mlx_quantized_matmul for bits 2, 3, 4,
// 5, 6, 8 and group sizes 32, 64, 128) and checks that the committed files are byte for
// byte what MLX produces. MLXGO_WRITE_QUANT_GOLDENS=1 writes them instead.
func TestQuantGoldensAreMLXs(t *testing.T) {
	l, err := mlxc.Load()
	if err != nil {
		if strings.Contains(err.Error(), mlxc.EnvPath+"=") {
			t.Fatal(err)
		}
		t.Skipf("mlx-c not available, set %s to run the MLX tests: %v", mlxc.EnvPath, err)
	}
	write := os.Getenv("MLXGO_WRITE_QUANT_GOLDENS") == "1"
	for _, bits := range []int{2, 3, 4, 5, 6, 8, 0} {
		arrays := quantGoldensBF16(t, l)
		path := filepath.Join(quantGoldenDir, "affine_bf16.safetensors")
		if bits != 0 {
			arrays = quantGoldens(t, l, bits)
			path = filepath.Join(quantGoldenDir, fmt.Sprintf("affine_b%d.safetensors", bits))
		}
		meta := map[string]string{"bits": fmt.Sprint(bits), "group_sizes": "32,64,128", "mode": "affine", "mlx": l.Version(), "device": l.Device()}
		if bits == 0 {
			meta["bits"], meta["group_sizes"], meta["dtype"] = "3,4,6", "64", "bfloat16 (stored as float32)"
		}
		if write {
			if err := mx.SaveSafetensors(path, arrays, meta); err != nil {
				t.Fatal(err)
			}
			continue
		}
		held, _, err := mx.LoadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		for k, a := range arrays {
			if h := held[k]; h == nil || !bytes.Equal(h.Bytes(), a.Bytes()) {
				t.Errorf("%s: %s differs from what %s computes now", path, k, l.Version())
			}
		}
	}
}

// goldenInputs returns the weights W (8×256, with the edge cases listed in the README:
// all-zero, constant, all-positive and all-negative groups and spikes), W2 (16×128) and
// activations x (3×256) and x2 (3×16), from a fixed PCG seed.
func goldenInputs() (w, w2, x, x2 []float32) {
	r := rand.New(rand.NewPCG(2024, 6))
	normal := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64()) * s
		}
		return v
	}
	w = normal(8*256, 0.05)
	row := func(i int) []float32 { return w[i*256 : (i+1)*256] }
	for j := range row(1) {
		row(1)[j] *= 20
	}
	row(0)[7] *= 100
	row(0)[200] = -3
	clear(row(2)[:128])
	for j := range row(3) {
		row(3)[j] = float32(math.Abs(float64(row(3)[j])))
		row(4)[j] = -float32(math.Abs(float64(row(4)[j])))
	}
	for j := 64; j < 128; j++ {
		row(5)[j] = 0.125
	}
	return w, normal(16*128, 0.05), normal(3*256, 1), normal(3*16, 1)
}

func f32b(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// quantGoldens computes one bit width's references with MLX.
func quantGoldens(t *testing.T, l *mlxc.Lib, bits int) map[string]*mx.Array {
	w, w2, x, x2 := goldenInputs()
	out := map[string]*mx.Array{
		"W": mx.FromSlice(w, 8, 256), "W2": mx.FromSlice(w2, 16, 128),
		"x": mx.FromSlice(x, 3, 256), "x2": mx.FromSlice(x2, 3, 16),
	}
	err := l.Do(func(c *mlxc.Ctx) {
		keep := func(name string, a mlxc.Array, dt mx.Dtype) {
			c.Eval(a)
			shape := c.Shape(a)
			b := c.Bytes(a)
			if dt == mx.Uint32 {
				v := make([]uint32, len(b)/4)
				for i := range v {
					v[i] = binary.LittleEndian.Uint32(b[4*i:])
				}
				out[name] = mx.FromSlice(v, shape...)
				return
			}
			v := make([]float32, len(b)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			out[name] = mx.FromSlice(v, shape...)
		}
		W := c.FromBytes(f32b(w), []int{8, 256}, mlxc.Float32)
		W2 := c.FromBytes(f32b(w2), []int{16, 128}, mlxc.Float32)
		X := c.FromBytes(f32b(x), []int{3, 256}, mlxc.Float32)
		X2 := c.FromBytes(f32b(x2), []int{3, 16}, mlxc.Float32)
		for _, g := range []int{32, 64, 128} {
			s := fmt.Sprintf("_g%d", g)
			wq, sc, bi := c.Quantize(W, g, bits)
			keep("w_q"+s, wq, mx.Uint32)
			keep("scales"+s, sc, mx.Float32)
			keep("biases"+s, bi, mx.Float32)
			keep("W_deq"+s, c.Dequantize(wq, sc, bi, g, bits), mx.Float32)
			keep("y"+s, c.QuantizedMatmul(X, wq, sc, bi, true, g, bits), mx.Float32)
			wq2, sc2, bi2 := c.Quantize(W2, g, bits)
			keep("w2_q"+s, wq2, mx.Uint32)
			keep("scales2"+s, sc2, mx.Float32)
			keep("biases2"+s, bi2, mx.Float32)
			keep("y_t"+s, c.QuantizedMatmul(X2, wq2, sc2, bi2, false, g, bits), mx.Float32)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// quantGoldensBF16 is the bfloat16 case at group size 64 for bits 3, 4 and 6: W and x
// rounded to bf16 by MLX, then quantized, dequantized and multiplied in bf16. Every array
// is stored as float32 (the values are exactly bf16); names end in _b<bits>.
func quantGoldensBF16(t *testing.T, l *mlxc.Lib) map[string]*mx.Array {
	w, _, x, _ := goldenInputs()
	out := map[string]*mx.Array{}
	err := l.Do(func(c *mlxc.Ctx) {
		keep := func(name string, a mlxc.Array, dt mx.Dtype) {
			if dt != mx.Uint32 {
				a = c.AsType(a, mlxc.Float32)
			}
			c.Eval(a)
			shape, b := c.Shape(a), c.Bytes(a)
			if dt == mx.Uint32 {
				v := make([]uint32, len(b)/4)
				for i := range v {
					v[i] = binary.LittleEndian.Uint32(b[4*i:])
				}
				out[name] = mx.FromSlice(v, shape...)
				return
			}
			v := make([]float32, len(b)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			out[name] = mx.FromSlice(v, shape...)
		}
		W := c.AsType(c.FromBytes(f32b(w), []int{8, 256}, mlxc.Float32), mlxc.Bfloat16)
		X := c.AsType(c.FromBytes(f32b(x), []int{3, 256}, mlxc.Float32), mlxc.Bfloat16)
		keep("W", W, mx.Bfloat16)
		keep("x", X, mx.Bfloat16)
		for _, bits := range []int{3, 4, 6} {
			s := fmt.Sprintf("_b%d", bits)
			wq, sc, bi := c.Quantize(W, 64, bits)
			keep("w_q"+s, wq, mx.Uint32)
			keep("scales"+s, sc, mx.Bfloat16)
			keep("biases"+s, bi, mx.Bfloat16)
			keep("W_deq"+s, c.Dequantize(wq, sc, bi, 64, bits), mx.Bfloat16)
			keep("y"+s, c.QuantizedMatmul(X, wq, sc, bi, true, 64, bits), mx.Bfloat16)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
