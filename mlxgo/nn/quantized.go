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

// QuantizedEmbedding is an Embedding whose table is stored in MLX's affine quantized
// layout (Weight: vocab × dims·Bits/32 packed codes; Scales and Biases one value per
// group of GroupSize columns), as mlx-community checkpoints store embed_tokens.
type QuantizedEmbedding struct {
	Base
	Weight    *mx.Array `mx:"weight"`
	Scales    *mx.Array `mx:"scales"`
	Biases    *mx.Array `mx:"biases"`
	GroupSize int       `mx:"-"`
	Bits      int       `mx:"-"`
}

// QuantizeEmbedding returns e with its table quantized; the result is frozen.
func QuantizeEmbedding(e *Embedding, groupSize, bits int) *QuantizedEmbedding {
	wq, sc, bi := mx.Quantize(e.Weight, groupSize, bits)
	q := &QuantizedEmbedding{Weight: wq, Scales: sc, Biases: bi, GroupSize: groupSize, Bits: bits}
	_ = Freeze(q, false, false)
	return q
}

// Forward looks up the ids' packed rows and dequantizes only those.
func (q *QuantizedEmbedding) Forward(ids *mx.Array) *mx.Array {
	return mx.Dequantize(mx.Take(q.Weight, ids, 0), mx.Take(q.Scales, ids, 0), mx.Take(q.Biases, ids, 0), q.GroupSize, q.Bits)
}

// AsLinear uses the quantized table as a tied output head: x @ Weightᵀ computed by
// QuantizedMatmul, as MLX's QuantizedEmbedding.as_linear does.
func (q *QuantizedEmbedding) AsLinear(x *mx.Array) *mx.Array {
	return mx.QuantizedMatmul(x, q.Weight, q.Scales, q.Biases, true, q.GroupSize, q.Bits)
}

// Dims returns the vocabulary size and the embedding width.
func (q *QuantizedEmbedding) Dims() (vocab, dims int) {
	return q.Weight.Dim(0), q.Weight.Dim(1) * 32 / q.Bits
}

// DequantizedWeight returns the (vocab, dims) float table the codes represent.
func (q *QuantizedEmbedding) DequantizedWeight() *mx.Array {
	return mx.Dequantize(q.Weight, q.Scales, q.Biases, q.GroupSize, q.Bits)
}

// Dequantized returns a float Embedding with the same outputs.
func (q *QuantizedEmbedding) Dequantized() *Embedding {
	return &Embedding{Weight: q.DequantizedWeight()}
}

// NewQuantizedLinearShell returns a frozen QuantizedLinear of in inputs and out outputs
// with zero codes, scales and biases, for loading a checkpoint into.
func NewQuantizedLinearShell(in, out int, bias *mx.Array, groupSize, bits int) *QuantizedLinear {
	q := &QuantizedLinear{
		Weight: mx.Zeros([]int{out, in * bits / 32}, mx.Uint32),
		Scales: mx.Zeros([]int{out, in / groupSize}, mx.Float32),
		Biases: mx.Zeros([]int{out, in / groupSize}, mx.Float32),
		Bias:   bias, GroupSize: groupSize, Bits: bits,
	}
	_ = Freeze(q, false, false)
	return q
}

// NewQuantizedEmbeddingShell is NewQuantizedLinearShell for a vocab × dims embedding.
func NewQuantizedEmbeddingShell(vocab, dims, groupSize, bits int) *QuantizedEmbedding {
	q := &QuantizedEmbedding{
		Weight:    mx.Zeros([]int{vocab, dims * bits / 32}, mx.Uint32),
		Scales:    mx.Zeros([]int{vocab, dims / groupSize}, mx.Float32),
		Biases:    mx.Zeros([]int{vocab, dims / groupSize}, mx.Float32),
		GroupSize: groupSize, Bits: bits,
	}
	_ = Freeze(q, false, false)
	return q
}
