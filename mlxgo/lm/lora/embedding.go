package lora

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Embedding is a LoRA-adapted token embedding: Weight[ids] + Scale·LoraA[ids]·LoraB, with
// LoraA (vocab, rank) and LoraB (rank, dims). Used as a tied output head it computes
// x·Weightᵀ + Scale·(x·LoraBᵀ)·LoraAᵀ, so the head stays tied to the adapted table.
type Embedding struct {
	nn.Base
	Embedding *nn.Embedding `mx:"embedding"`
	LoraA     *mx.Array     `mx:"lora_a"`
	LoraB     *mx.Array     `mx:"lora_b"`
	Scale     float64       `mx:"-"`
}

// NewEmbedding wraps base with rank-r factors: A uniform in ±1/sqrt(vocab), B zeros.
func NewEmbedding(base *nn.Embedding, rank int, scale float64) *Embedding {
	vocab, dims := base.Weight.Dim(0), base.Weight.Dim(1)
	s := 1 / math.Sqrt(float64(vocab))
	return &Embedding{Embedding: base, LoraA: mx.Uniform(-s, s, []int{vocab, rank}, mx.Float32, nil),
		LoraB: mx.Zeros([]int{rank, dims}, mx.Float32), Scale: scale}
}

// Forward looks up the adapted rows.
func (e *Embedding) Forward(ids *mx.Array) *mx.Array {
	y := e.Embedding.Forward(ids)
	z := mx.Matmul(mx.Take(e.LoraA, ids, 0), e.LoraB)
	return mx.Add(y, mx.Multiply(z, e.Scale))
}

// AsLinear uses the adapted table as an output projection.
func (e *Embedding) AsLinear(x *mx.Array) *mx.Array {
	y := e.Embedding.AsLinear(x)
	z := mx.Matmul(mx.Matmul(x, mx.Transpose(e.LoraB)), mx.Transpose(e.LoraA))
	return mx.Add(y, mx.Multiply(z, e.Scale))
}

// Fused returns the plain embedding with the adapter merged into its table.
func (e *Embedding) Fused() *nn.Embedding {
	w := mx.Add(mx.AsType(e.Embedding.Weight, mx.Float32), mx.Multiply(mx.Matmul(e.LoraA, e.LoraB), e.Scale))
	return &nn.Embedding{Weight: mx.AsType(w, e.Embedding.Weight.Dtype())}
}

// ApplyEmbedding adapts the model's token embedding (and, for tied models, its output
// head with it). Fuse merges it back like the linear adapters.
func ApplyEmbedding(model *lm.Model, rank int, scale float64) *Embedding {
	base, ok := model.Model.EmbedTokens.(*nn.Embedding)
	if !ok {
		panic("lora: the embedding is already adapted")
	}
	e := NewEmbedding(base, rank, scale)
	model.Model.EmbedTokens = e
	return e
}
