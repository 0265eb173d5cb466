package nn

import (
	"math"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// MultiHeadAttention is mlx.nn.MultiHeadAttention with grouped-query support: queries,
// keys and values are projected, split into heads (KVHeads may be fewer than Heads),
// attended with scaled dot-product attention and projected back.
type MultiHeadAttention struct {
	Base
	QueryProj *Linear `mx:"query_proj"`
	KeyProj   *Linear `mx:"key_proj"`
	ValueProj *Linear `mx:"value_proj"`
	OutProj   *Linear `mx:"out_proj"`
	Heads     int     `mx:"-"`
	KVHeads   int     `mx:"-"`
}

// NewMultiHeadAttention returns attention over dims features with heads query heads and
// kvHeads key/value heads (kvHeads = heads for classic multi-head attention).
func NewMultiHeadAttention(dims, heads, kvHeads int, bias bool) *MultiHeadAttention {
	hd := dims / heads
	return &MultiHeadAttention{
		QueryProj: NewLinear(dims, dims, bias), KeyProj: NewLinear(dims, kvHeads*hd, bias),
		ValueProj: NewLinear(dims, kvHeads*hd, bias), OutProj: NewLinear(dims, dims, bias),
		Heads: heads, KVHeads: kvHeads,
	}
}

// Forward attends queries (B, L, dims) over keys and values (B, S, dims); mask is nil,
// "causal" or an array, as for mx.ScaledDotProductAttention.
func (a *MultiHeadAttention) Forward(queries, keys, values *mx.Array, mask any) *mx.Array {
	B, L, S := queries.Dim(0), queries.Dim(1), keys.Dim(1)
	dims := queries.Dim(2)
	hd := dims / a.Heads
	split := func(x *mx.Array, n, heads int) *mx.Array {
		return mx.Transpose(mx.Reshape(x, B, n, heads, hd), 0, 2, 1, 3)
	}
	q := split(a.QueryProj.Forward(queries), L, a.Heads)
	k := split(a.KeyProj.Forward(keys), S, a.KVHeads)
	v := split(a.ValueProj.Forward(values), S, a.KVHeads)
	o := mx.ScaledDotProductAttention(q, k, v, 1/math.Sqrt(float64(hd)), mask)
	return a.OutProj.Forward(mx.Reshape(mx.Transpose(o, 0, 2, 1, 3), B, L, dims))
}
