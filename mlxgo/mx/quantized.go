package mx

import (
	"math"
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// MLX's affine quantization: each group of groupSize consecutive elements along the last
// axis is stored as bits-wide unsigned codes q with one scale and one bias, and
// represents scale·q + bias. Each row's codes form one little-endian bit stream: element
// j occupies bits j·bits … j·bits+bits−1, so 3-, 5- and 6-bit codes cross uint32 word
// boundaries (MLX's byte packs of 8, 8 and 4 codes read the same way). Quantize,
// Dequantize and QuantizedMatmul reproduce MLX's CPU arithmetic.

// QuantBits lists the affine bit widths MLX supports.
var QuantBits = []int{2, 3, 4, 5, 6, 8}

func checkQuant(op string, cols, groupSize, bits int) {
	if !slices.Contains(QuantBits, bits) {
		panicf(op, "bits must be one of %v, got %d", QuantBits, bits)
	}
	if groupSize <= 0 || cols%groupSize != 0 {
		panicf(op, "the last axis (%d) must be a multiple of group_size %d", cols, groupSize)
	}
	if cols*bits%32 != 0 {
		panicf(op, "a row of %d %d-bit codes does not fill whole uint32 words", cols, bits)
	}
}

// Quantize evaluates w (rows × cols, float) and returns its packed codes (uint32, rows ×
// cols·bits/32), scales and biases (rows × cols/groupSize, in w's float dtype; codes use
// the unrounded float32 scale and bias, as MLX's do), computed as MLX's
// CPU backend does: scale = max((max−min)/(2^bits−1), 1e-7), negated unless |min| > |max|;
// the edge value (min or max, whichever is larger in magnitude) is represented exactly.
func Quantize(w *Array, groupSize, bits int) (wq, scales, biases *Array) {
	if w.Ndim() < 2 {
		panicf("Quantize", "needs a matrix, got shape %v", w.shape)
	}
	cols := w.shape[w.Ndim()-1]
	checkQuant("Quantize", cols, groupSize, bits)
	rows := w.Size() / cols
	x := w.Float32s()
	levels := float32(int(1)<<bits - 1)
	groups := cols / groupSize
	codes := make([]uint32, rows*cols*bits/32)
	sc := make([]float32, rows*groups)
	bi := make([]float32, rows*groups)
	for r := 0; r < rows; r++ {
		for g := 0; g < groups; g++ {
			grp := x[r*cols+g*groupSize : r*cols+(g+1)*groupSize]
			mn, mxv := grp[0], grp[0]
			for _, v := range grp {
				mn, mxv = min(mn, v), max(mxv, v)
			}
			scale := max((mxv-mn)/levels, 1e-7)
			side := float32(math.Abs(float64(mn))) > float32(math.Abs(float64(mxv)))
			if !side {
				scale = -scale
			}
			edge := mxv
			if side {
				edge = mn
			}
			q0 := float32(math.RoundToEven(float64(edge / scale)))
			bias := float32(0)
			if q0 != 0 {
				scale = edge / q0
				bias = edge
			}
			sc[r*groups+g], bi[r*groups+g] = scale, bias
			for j, v := range grp {
				q := float32(math.RoundToEven(float64((v - bias) / scale)))
				q = min(max(q, 0), levels)
				off := (r*cols + g*groupSize + j) * bits
				codes[off/32] |= uint32(q) << (off % 32)
				if spill := off%32 + bits - 32; spill > 0 {
					codes[off/32+1] |= uint32(q) >> (bits - spill)
				}
			}
		}
	}
	lead := cloneInts(w.shape[:w.Ndim()-1])
	scales = FromSlice(sc, append(cloneInts(lead), groups)...)
	biases = FromSlice(bi, append(lead, groups)...)
	if w.dtype.IsFloat() && w.dtype != Float32 { // MLX stores them in the weight's dtype
		scales, biases = AsType(scales, w.dtype), AsType(biases, w.dtype)
	}
	return FromSlice(codes, append(cloneInts(lead), cols*bits/32)...), scales, biases
}

type dequantPrim struct{ groupSize, bits int }

func (p dequantPrim) Op() backend.Op { return backend.Dequantize{GroupSize: p.groupSize, Bits: p.bits} }

func (dequantPrim) VJP(in []*Array, _, _ *Array) []*Array { return make([]*Array, len(in)) }

// Dequantize returns scale·q + bias for packed codes wq with their scales and biases, in
// the scales' dtype.
func Dequantize(wq, scales, biases *Array, groupSize, bits int) *Array {
	if wq.dtype != Uint32 {
		panicf("Dequantize", "codes must be uint32, got %s of shape %v", wq.dtype, wq.shape)
	}
	cols := quantCols("Dequantize", wq, groupSize, bits)
	shape := append(cloneInts(wq.shape[:wq.Ndim()-1]), cols)
	if scales.shape[scales.Ndim()-1] != cols/groupSize || !sameShape(scales.shape, biases.shape) {
		panicf("Dequantize", "scales %v / biases %v do not match codes %v (group_size %d)", scales.shape, biases.shape, wq.shape, groupSize)
	}
	return newArray(shape, scales.dtype, dequantPrim{groupSize, bits}, wq, scales, biases)
}

// quantMatmulPrim computes x @ Wᵀ (transpose) or x @ W for a quantized W without keeping
// the dequantized weight: each evaluation dequantizes into scratch memory for one BLAS call.
type quantMatmulPrim struct {
	transpose       bool
	groupSize, bits int
}

func (p quantMatmulPrim) Op() backend.Op {
	return backend.QuantizedMatmul{Transpose: p.transpose, GroupSize: p.groupSize, Bits: p.bits}
}

func (p quantMatmulPrim) VJP(in []*Array, _, g *Array) []*Array {
	// d/dx of x·Wᵀ is g·W, i.e. the same quantized product with the other orientation.
	gx := newArray(cloneInts(in[0].shape), g.dtype, quantMatmulPrim{!p.transpose, p.groupSize, p.bits}, g, in[1], in[2], in[3])
	return []*Array{gx, nil, nil, nil}
}

// QuantizedMatmul returns x @ Wᵀ (transpose true, W stored (out, in)) or x @ W for the
// quantized W = (wq, scales, biases). Gradients flow to x only; the weight is never held
// dequantized between kernels, so a quantized model's memory stays at its packed size.
func QuantizedMatmul(x, wq, scales, biases *Array, transpose bool, groupSize, bits int) *Array {
	if wq.Ndim() != 2 {
		panicf("QuantizedMatmul", "quantized weight must be 2-D, got %v", wq.shape)
	}
	rows, cols := wq.shape[0], quantCols("QuantizedMatmul", wq, groupSize, bits)
	k, n := cols, rows
	if !transpose {
		k, n = rows, cols
	}
	if x.shape[x.Ndim()-1] != k {
		panicf("QuantizedMatmul", "x of shape %v does not match a quantized weight of %d×%d (transpose %v)", x.shape, rows, cols, transpose)
	}
	shape := append(cloneInts(x.shape[:x.Ndim()-1]), n)
	dt := x.dtype
	if !dt.IsFloat() {
		dt = Float32
	}
	return newArray(shape, dt, quantMatmulPrim{transpose, groupSize, bits}, x, wq, scales, biases)
}

// quantCols returns the number of values a row of packed codes wq holds.
func quantCols(op string, wq *Array, groupSize, bits int) int {
	words := wq.shape[wq.Ndim()-1]
	if slices.Contains(QuantBits, bits) && words*32%bits != 0 {
		panicf(op, "%d uint32 words per row do not hold whole %d-bit codes (shape %v)", words, bits, wq.shape)
	}
	cols := words * 32 / max(bits, 1)
	checkQuant(op, cols, groupSize, bits)
	return cols
}
