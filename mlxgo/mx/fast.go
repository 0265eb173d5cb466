package mx

import "math"

// --- RMSNorm ---

type rmsNormPrim struct{ eps float32 }

func (rmsNormPrim) Name() string { return "RMSNorm" }

func (p rmsNormPrim) Eval(in []*Array, out *Array) {
	x, w := floats(in[0]), floats(in[1])
	d := in[0].shape[in[0].Ndim()-1]
	o, commit := outFloats(out)
	rows := len(x) / max(d, 1)
	parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*d : (i+1)*d]
			var ss float32
			for _, v := range row {
				ss += v * v
			}
			r := float32(1 / math.Sqrt(float64(ss/float32(d)+p.eps)))
			or := o[i*d : (i+1)*d]
			for j, v := range row {
				or[j] = w[j] * (v * r)
			}
		}
	})
	commit()
}

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

func (rmsNormGradPrim) Name() string { return "RMSNormGrad" }

func (p rmsNormGradPrim) Eval(in []*Array, out *Array) {
	x, w, g := floats(in[0]), floats(in[1]), floats(in[2])
	d := len(w)
	rows := len(x) / max(d, 1)
	o, commit := outFloats(out)
	rms := func(row []float32) float32 {
		var ss float32
		for _, v := range row {
			ss += v * v
		}
		return float32(1 / math.Sqrt(float64(ss/float32(d)+p.eps)))
	}
	if p.weight {
		// Fixed split over columns keeps the sum order independent of scheduling.
		acc := make([]float64, d)
		for i := 0; i < rows; i++ {
			row, gr := x[i*d:(i+1)*d], g[i*d:(i+1)*d]
			r := rms(row)
			for j := range acc {
				acc[j] += float64(gr[j] * row[j] * r)
			}
		}
		for j := range o {
			o[j] = float32(acc[j])
		}
		commit()
		return
	}
	parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, gr, or := x[i*d:(i+1)*d], g[i*d:(i+1)*d], o[i*d:(i+1)*d]
			r := rms(row)
			var dot float32
			for j, v := range row {
				dot += gr[j] * w[j] * v * r
			}
			dot /= float32(d)
			for j, v := range row {
				or[j] = r * (gr[j]*w[j] - v*r*dot)
			}
		}
	})
	commit()
}

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

func (layerNormPrim) Name() string { return "LayerNorm" }

func (p layerNormPrim) Eval(in []*Array, out *Array) {
	x, w, b := floats(in[0]), floats(in[1]), floats(in[2])
	d := in[0].shape[in[0].Ndim()-1]
	o, commit := outFloats(out)
	for i := 0; i*d < len(x); i++ {
		row := x[i*d : (i+1)*d]
		var mu, v float64
		for _, e := range row {
			mu += float64(e)
		}
		mu /= float64(d)
		for _, e := range row {
			v += (float64(e) - mu) * (float64(e) - mu)
		}
		r := 1 / math.Sqrt(v/float64(d)+float64(p.eps))
		for j, e := range row {
			o[i*d+j] = float32((float64(e)-mu)*r)*w[j] + b[j]
		}
	}
	commit()
}

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

func (ropePrim) Name() string { return "RoPE" }

func (p ropePrim) Eval(in []*Array, out *Array) {
	x := floats(in[0])
	n := in[0].Ndim()
	L, D := in[0].shape[n-2], in[0].shape[n-1]
	o, commit := outFloats(out)
	copy(o, x)
	half := p.dims / 2
	cos := make([]float32, L*half)
	sin := make([]float32, L*half)
	for t := 0; t < L; t++ {
		pos := float32(p.offset+t) * p.scale
		for i := 0; i < half; i++ {
			th := float64(pos * p.invFreq[i])
			cos[t*half+i] = float32(math.Cos(th))
			s := float32(math.Sin(th))
			if p.inverse {
				s = -s
			}
			sin[t*half+i] = s
		}
	}
	rows := len(x) / D
	for r := 0; r < rows; r++ {
		t := r % L
		xr, or := x[r*D:(r+1)*D], o[r*D:(r+1)*D]
		c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
		for i := 0; i < half; i++ {
			var a, b int
			if p.traditional {
				a, b = 2*i, 2*i+1
			} else {
				a, b = i, i+half
			}
			x1, x2 := xr[a], xr[b]
			or[a] = x1*c[i] - x2*s[i]
			or[b] = x1*s[i] + x2*c[i]
		}
	}
	commit()
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
