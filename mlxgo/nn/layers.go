package nn

import (
	"math"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Linear computes x @ Weightᵀ + Bias with Weight of shape (out, in), as PyTorch and
// MLX store it.
type Linear struct {
	Base
	Weight *mx.Array `mx:"weight"`
	Bias   *mx.Array `mx:"bias"`
}

// NewLinear returns a Linear layer initialised uniformly in ±1/sqrt(in), as MLX does.
func NewLinear(in, out int, bias bool) *Linear {
	s := 1 / math.Sqrt(float64(in))
	l := &Linear{Weight: mx.Uniform(-s, s, []int{out, in}, mx.Float32, nil)}
	if bias {
		l.Bias = mx.Uniform(-s, s, []int{out}, mx.Float32, nil)
	}
	return l
}

// Forward applies the layer.
func (l *Linear) Forward(x *mx.Array) *mx.Array {
	y := mx.Matmul(x, l.Weight.T())
	if l.Bias != nil {
		y = mx.Add(y, l.Bias)
	}
	return y
}

// Dims returns the layer's input and output sizes.
func (l *Linear) Dims() (in, out int) { return l.Weight.Dim(1), l.Weight.Dim(0) }

// DequantizedWeight returns the weight (the same method as QuantizedLinear's, so code can
// treat both alike).
func (l *Linear) DequantizedWeight() *mx.Array { return l.Weight }

// LinearLayer is what Linear and QuantizedLinear share: a forward pass, sizes, the float
// weight and the bias.
type LinearLayer interface {
	Layer
	Dims() (in, out int)
	DequantizedWeight() *mx.Array
}

// Embedding maps token ids to rows of Weight (vocab, dims).
type Embedding struct {
	Base
	Weight *mx.Array `mx:"weight"`
}

// NewEmbedding returns an embedding initialised from a standard normal.
func NewEmbedding(vocab, dims int) *Embedding {
	return &Embedding{Weight: mx.Normal([]int{vocab, dims}, 0, 1, mx.Float32, nil)}
}

// Forward looks up the ids.
func (e *Embedding) Forward(ids *mx.Array) *mx.Array { return mx.Take(e.Weight, ids, 0) }

// AsLinear uses the embedding matrix as an output projection (tied heads): x @ Weightᵀ.
func (e *Embedding) AsLinear(x *mx.Array) *mx.Array { return mx.Matmul(x, e.Weight.T()) }

// RMSNorm is root-mean-square normalisation with a learned scale.
type RMSNorm struct {
	Base
	Weight *mx.Array `mx:"weight"`
	Eps    float64   `mx:"-"`
}

// NewRMSNorm returns an RMSNorm with unit weight.
func NewRMSNorm(dims int, eps float64) *RMSNorm {
	return &RMSNorm{Weight: mx.Ones([]int{dims}, mx.Float32), Eps: eps}
}

// Forward normalises the last axis.
func (n *RMSNorm) Forward(x *mx.Array) *mx.Array { return mx.RMSNorm(x, n.Weight, n.Eps) }

// LayerNorm is layer normalisation with optional affine parameters.
type LayerNorm struct {
	Base
	Weight *mx.Array `mx:"weight"`
	Bias   *mx.Array `mx:"bias"`
	Eps    float64   `mx:"-"`
}

// NewLayerNorm returns a LayerNorm with unit weight and zero bias (affine) or none.
func NewLayerNorm(dims int, eps float64, affine bool) *LayerNorm {
	l := &LayerNorm{Eps: eps}
	if affine {
		l.Weight, l.Bias = mx.Ones([]int{dims}, mx.Float32), mx.Zeros([]int{dims}, mx.Float32)
	}
	return l
}

// Forward normalises the last axis.
func (n *LayerNorm) Forward(x *mx.Array) *mx.Array { return mx.LayerNorm(x, n.Weight, n.Bias, n.Eps) }

// RoPE holds rotary-embedding settings; it has no parameters.
type RoPE struct {
	Base
	Dims        int       `mx:"-"`
	Traditional bool      `mx:"-"`
	BaseFreq    float64   `mx:"-"`
	Scale       float64   `mx:"-"`
	Freqs       []float32 `mx:"-"` // custom periods (e.g. llama3 scaling); overrides BaseFreq
}

// Apply rotates x (…, L, D) starting at position offset.
func (r *RoPE) Apply(x *mx.Array, offset int) *mx.Array {
	return mx.RoPE(x, r.Dims, r.Traditional, r.BaseFreq, r.Scale, offset, r.Freqs)
}

// Dropout zeroes elements with probability P in training mode and scales the rest by
// 1/(1-P); in evaluation mode it is the identity.
type Dropout struct {
	Base
	P float64 `mx:"-"`
}

// Forward applies dropout.
func (d *Dropout) Forward(x *mx.Array) *mx.Array {
	if d == nil || d.P == 0 || !d.Training() {
		return x
	}
	keep := mx.Bernoulli(1-d.P, x.Shape(), nil)
	return mx.Where(keep, mx.Multiply(x, 1/(1-d.P)), 0.0)
}
