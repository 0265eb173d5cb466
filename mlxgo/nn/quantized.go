package nn

import (
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// QuantizedLinear is a Linear layer whose weight is stored in MLX's affine quantized
// layout: Weight holds packed uint32 codes (out × in·Bits/32), Scales and Biases one
// value per group of GroupSize inputs. Keys match mlx-lm's quantized checkpoints.
type QuantizedLinear struct {
	Base
	Weight    *mx.Array `mx:"weight"`
	Scales    *mx.Array `mx:"scales"`
	Biases    *mx.Array `mx:"biases"`
	Bias      *mx.Array `mx:"bias"`
	GroupSize int       `mx:"-"`
	Bits      int       `mx:"-"`
}

// QuantizeLinear returns l with its weight quantized (groupSize 64 and 4 bits are MLX's
// defaults). The result is frozen: quantized codes are not trained.
func QuantizeLinear(l *Linear, groupSize, bits int) *QuantizedLinear {
	wq, sc, bi := mx.Quantize(l.Weight, groupSize, bits)
	q := &QuantizedLinear{Weight: wq, Scales: sc, Biases: bi, Bias: l.Bias, GroupSize: groupSize, Bits: bits}
	_ = Freeze(q, false, false)
	return q
}

// Forward computes x @ Wᵀ + Bias without materialising W between kernels.
func (q *QuantizedLinear) Forward(x *mx.Array) *mx.Array {
	y := mx.QuantizedMatmul(x, q.Weight, q.Scales, q.Biases, true, q.GroupSize, q.Bits)
	if q.Bias != nil {
		y = mx.Add(y, q.Bias)
	}
	return y
}

// Dims returns the layer's input and output sizes.
func (q *QuantizedLinear) Dims() (in, out int) {
	return q.Weight.Dim(1) * 32 / q.Bits, q.Weight.Dim(0)
}

// DequantizedWeight returns the (out, in) float weight the codes represent.
func (q *QuantizedLinear) DequantizedWeight() *mx.Array {
	return mx.Dequantize(q.Weight, q.Scales, q.Biases, q.GroupSize, q.Bits)
}

// Dequantized returns a float Linear with the same outputs.
func (q *QuantizedLinear) Dequantized() *Linear {
	return &Linear{Weight: q.DequantizedWeight(), Bias: q.Bias}
}
