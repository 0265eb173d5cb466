package mx

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// --- RMSNorm ---

type rmsNormPrim struct{ eps float32 }

func (p rmsNormPrim) Op() backend.Op { return backend.RMSNorm{Eps: p.eps} }

func (p rmsNormPrim) VJP(in []*Array, _, g *Array) []*Array {
	x, w := in[0], in[1]
	gx := newArray(cloneInts(x.shape), x.dtype, rmsNormGradPrim{p.eps, false}, x, w, g)
	gw := newArray([]int{w.shape[0]}, w.dtype, rmsNormGradPrim{p.eps, true}, x, w, g)
	return []*Array{gx, gw}
}

// rmsNormGradPrim is RMSNorm's backward pass in one kernel: with r = 1/rms(x) and
// n = x·r, the input gradient is r·(g·w − n·mean(g·w·n)) and the weight gradient is
// the sum over rows of g·n.
type rmsNormGradPrim struct {
	eps    float32
	weight bool // compute the weight gradient instead of the input gradient
}

func (p rmsNormGradPrim) Op() backend.Op { return backend.RMSNormGrad{Eps: p.eps, Weight: p.weight} }

func (p rmsNormGradPrim) VJP(in []*Array, _, g *Array) []*Array {
	// Second derivatives go through the composite form of the same gradient.
	f := func(a []*Array) []*Array {
		x, w, gg := a[0], a[1], a[2]
		r := Rsqrt(Add(Mean(Square(x), []int{-1}, true), float64(p.eps)))
		n := Multiply(x, r)
		if p.weight {
			return []*Array{sumToShape(Multiply(gg, n), w.shape)}
		}
		gn := Multiply(gg, w)
		return []*Array{Multiply(r, Subtract(gn, Multiply(n, Mean(Multiply(gn, n), []int{-1}, true))))}
	}
	_, v := VJP(f, in, []*Array{g})
	return v
}

// RMSNorm returns x / sqrt(mean(x², last axis) + eps) * weight, computed in one kernel
// (accumulating in float32, as Hugging Face's Llama does).
func RMSNorm(x, weight *Array, eps float64) *Array {
	d := x.shape[x.Ndim()-1]
	if weight.Ndim() != 1 || weight.shape[0] != d {
		panicf("RMSNorm", "weight of shape %v does not match input of shape %v", weight.shape, x.shape)
	}
	return newArray(cloneInts(x.shape), PromoteTypes(x.dtype, weight.dtype), rmsNormPrim{float32(eps)}, x, weight)
}

// --- LayerNorm ---

type layerNormPrim struct{ eps float32 }

func (p layerNormPrim) Op() backend.Op { return backend.LayerNorm{Eps: p.eps} }

func (p layerNormPrim) VJP(in []*Array, _, g *Array) []*Array {
	x, w, b := in[0], in[1], in[2]
	mu := Mean(x, []int{-1}, true)
	xc := Subtract(x, mu)
	r := Rsqrt(Add(Mean(Square(xc), []int{-1}, true), float64(p.eps)))
	n := Multiply(xc, r)
	gn := Multiply(g, w)
	gx := Multiply(r, Subtract(Subtract(gn, Mean(gn, []int{-1}, true)), Multiply(n, Mean(Multiply(gn, n), []int{-1}, true))))
	return []*Array{gx, sumToShape(Multiply(g, n), w.shape), sumToShape(g, b.shape)}
}

// LayerNorm normalises the last axis to zero mean and unit variance, then scales by
// weight and shifts by bias (either may be nil).
func LayerNorm(x, weight, bias *Array, eps float64) *Array {
	d := x.shape[x.Ndim()-1]
	if weight == nil {
		weight = Ones([]int{d}, x.dtype)
	}
	if bias == nil {
		bias = Zeros([]int{d}, x.dtype)
	}
	if weight.Size() != d || bias.Size() != d {
		panicf("LayerNorm", "weight %v / bias %v do not match input of shape %v", weight.shape, bias.shape, x.shape)
	}
	return newArray(cloneInts(x.shape), x.dtype, layerNormPrim{float32(eps)}, x, weight, bias)
}

// --- RoPE ---

type ropePrim struct {
	dims        int
	traditional bool
	invFreq     []float32
	scale       float32
	offset      int
	inverse     bool
}

func (p ropePrim) Op() backend.Op {
	return backend.RoPE{Dims: p.dims, Traditional: p.traditional, InvFreq: p.invFreq, Scale: p.scale, Offset: p.offset, Inverse: p.inverse}
}

func (p ropePrim) VJP(in []*Array, _, g *Array) []*Array {
	q := p
	q.inverse = !p.inverse
	return []*Array{newArray(cloneInts(g.shape), g.dtype, q, g)}
}

// RoPE applies rotary position embeddings to the first dims features of the last axis of
// x, whose second-to-last axis is the sequence. Positions start at offset and are
// multiplied by scale. The frequencies are base^(-2i/dims), or 1/freqs[i] when freqs is
// given (then base is ignored). Traditional rotates adjacent pairs; otherwise the two
// halves are rotated (the Hugging Face layout).
func RoPE(x *Array, dims int, traditional bool, base, scale float64, offset int, freqs []float32) *Array {
	if x.Ndim() < 2 {
		panicf("RoPE", "input must have at least 2 dimensions, got shape %v", x.shape)
	}
	if dims%2 != 0 || dims > x.shape[x.Ndim()-1] {
		panicf("RoPE", "dims %d must be even and at most the last axis of shape %v", dims, x.shape)
	}
	inv := make([]float32, dims/2)
	for i := range inv {
		if freqs != nil {
			inv[i] = 1 / freqs[i]
		} else {
			inv[i] = float32(1 / math.Pow(base, float64(2*i)/float64(dims)))
		}
	}
	if freqs != nil && len(freqs) != dims/2 {
		panicf("RoPE", "%d frequencies for %d dims", len(freqs), dims)
	}
	return newArray(cloneInts(x.shape), x.dtype, ropePrim{dims, traditional, inv, float32(scale), offset, false}, x)
}

// --- Scaled dot-product attention ---

// ScaledDotProductAttention computes softmax(q·kᵀ·scale + mask)·v for q of shape
// (B, Hq, L, D) and k, v of shape (B, Hkv, S, D), with Hq a multiple of Hkv (grouped-query
// attention). mask may be nil, the string "causal", a bool array (true keeps) or an
// additive float array broadcastable to (B, Hq, L, S).
func ScaledDotProductAttention(q, k, v *Array, scale float64, mask any) *Array {
	if q.Ndim() != 4 || k.Ndim() != 4 || v.Ndim() != 4 {
		panicf("ScaledDotProductAttention", "q, k, v must be 4-D, got %v, %v, %v", q.shape, k.shape, v.shape)
	}
	B, Hq, L, D := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	Hkv := k.shape[1]
	if Hkv == 0 || Hq%Hkv != 0 || k.shape[0] != B || k.shape[3] != D || !sameShape(k.shape[:3], v.shape[:3]) {
		panicf("ScaledDotProductAttention", "incompatible shapes q %v, k %v, v %v", q.shape, k.shape, v.shape)
	}
	if m, ok := mask.(string); mask == nil || (ok && m == "causal") {
		dt := PromoteTypes(PromoteTypes(q.dtype, k.dtype), v.dtype)
		return newArray([]int{B, Hq, L, v.shape[3]}, dt, sdpaPrim{float32(scale), mask != nil}, q, k, v)
	}
	return sdpaComposite(q, k, v, scale, mask)
}

// sdpaComposite is attention built from ordinary ops (any mask; the reference for the
// fused kernel and its second derivatives).
func sdpaComposite(q, k, v *Array, scale float64, mask any) *Array {
	B, Hq, L, D := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	Hkv, S := k.shape[1], k.shape[2]
	rep := Hq / Hkv
	qg := Reshape(q, B, Hkv, rep, L, D)
	kg := ExpandDims(k, 2)
	vg := ExpandDims(v, 2)
	scores := Multiply(Matmul(qg, SwapAxes(kg, -1, -2)), scale) // (B, Hkv, rep, L, S)
	switch m := mask.(type) {
	case nil:
	case string:
		if m != "causal" {
			panicf("ScaledDotProductAttention", "unknown mask %q (want \"causal\" or an array)", m)
		}
		scores = Where(causalMask(L, S), scores, float32(math.Inf(-1)))
	case *Array:
		mm := m
		if mm.Ndim() == 4 {
			mm = Reshape(BroadcastTo(mm, broadcastShapes("ScaledDotProductAttention", mm.shape, []int{B, Hq, L, S})...), B, Hkv, rep, L, S)
		}
		if mm.dtype == Bool {
			scores = Where(mm, scores, float32(math.Inf(-1)))
		} else {
			scores = Add(scores, mm)
		}
	default:
		panicf("ScaledDotProductAttention", "mask must be nil, \"causal\" or *Array, got %T", mask)
	}
	p := Softmax(scores, -1)
	out := Matmul(p, vg) // (B, Hkv, rep, L, Dv)
	return Reshape(out, B, Hq, L, v.shape[3])
}

// causalMask returns an (L, S) bool mask where query i (the last L of S positions) may
// attend to keys 0..i+S-L.
func causalMask(L, S int) *Array {
	return GreaterEqual(Add(ExpandDims(Arange(0, float64(L), 1), 1), S-L), ExpandDims(Arange(0, float64(S), 1), 0))
}
