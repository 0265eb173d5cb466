package cpu

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	"github.com/mlxgo/mlxgo/mlxgo/internal/half"
)

func init() {
	Register(dequantize)
	Register(quantizedMatmul)
}

// dequantRows writes rows of dequantized values: fl32(fl32(scale·q) + bias), no FMA; with
// round set (a bf16 or float16 result), the product is rounded to that dtype before the
// sum, as MLX computes T(T(scale·q) + bias) in the scales' type T.
// Each row's codes are a little-endian bit stream (see mx.Quantize): a code may straddle
// two uint32 words when bits is 3, 5 or 6.
func dequantRows(dst []float32, codes []uint32, sc, bi []float32, cols, groupSize, bits int, round func(float32) float32) {
	mask := uint64(1)<<bits - 1
	groups := cols / groupSize
	rows := len(dst) / cols
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			off := (r*cols + c) * bits
			w := uint64(codes[off/32])
			if off%32+bits > 32 {
				w |= uint64(codes[off/32+1]) << 32
			}
			q := float32((w >> (off % 32)) & mask)
			g := r*groups + c/groupSize
			p := float32(sc[g] * q)
			if round != nil {
				p = round(p)
			}
			dst[r*cols+c] = p + bi[g]
		}
	}
}

// roundTo returns the rounding of float32 values to a half-precision dtype, or nil.
func roundTo(dt backend.Dtype) func(float32) float32 {
	switch dt {
	case backend.Bfloat16:
		return func(v float32) float32 { return half.BF16ToF32(half.F32ToBF16(v)) }
	case backend.Float16:
		return func(v float32) float32 { return half.F16ToF32(half.F32ToF16(v)) }
	}
	return nil
}

func dequantize(p backend.Dequantize, in []*node, out *node) {
	codes := viewAs[uint32](raw(contiguous(in[0])))
	o, commit := outFloats(out)
	dequantRows(o, codes, floats(in[1]), floats(in[2]), out.Shape[out.Ndim()-1], p.GroupSize, p.Bits, roundTo(out.Dtype))
	commit()
}

func quantizedMatmul(p backend.QuantizedMatmul, in []*node, out *node) {
	x := floats(in[0])
	wq := in[1]
	cols := wq.Shape[wq.Ndim()-1] * 32 / p.Bits
	rowsW := wq.Size() * 32 / p.Bits / cols
	w := make([]float32, rowsW*cols)
	dequantRows(w, viewAs[uint32](raw(contiguous(wq))), floats(in[2]), floats(in[3]), cols, p.GroupSize, p.Bits, roundTo(in[2].Dtype))
	k := in[0].Shape[in[0].Ndim()-1]
	m := len(x) / max(k, 1)
	n := out.Shape[out.Ndim()-1]
	o, commit := outFloats(out)
	if p.Transpose { // W is (n, k)
		blas.Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, o, n)
	} else { // W is (k, n)
		blas.Sgemm(false, false, m, n, k, 1, x, k, w, n, 0, o, n)
	}
	commit()
}
