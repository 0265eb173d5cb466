package mx

// Batching rules of the fused primitives (normalisations, RoPE, attention and their
// gradients), of the transforms' primitives and of the primitives that have none.
// A fused kernel keeps running fused when only its data input is mapped; when its
// parameters are mapped too, the rule vectorises the op's composite form.

// Vmap is RMSNorm's batching rule.
func (p rmsNormPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	if axes[1] == Unmapped {
		return vmapTrailing(p, ins, axes[0], 1, out)
	}
	return vmapComposite(func(a []*Array) []*Array {
		x, w := a[0], a[1]
		r := Rsqrt(Add(Mean(Square(AsType(x, Float32)), []int{-1}, true), float64(p.eps)))
		return []*Array{AsType(Multiply(Multiply(x, r), w), out.dtype)}
	}, ins, axes)
}

// Vmap is the batching rule of RMSNorm's backward kernel.
func (p rmsNormGradPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	if axes[1] == Unmapped && !p.weight {
		n := mappedSize(ins, axes)
		fr := frontAll([]*Array{ins[0], ins[2]}, []int{axes[0], axes[2]}, n)
		return newArray(insertAxis(out.shape, 0, n), out.dtype, p, fr[0], ins[1], fr[1]), 0
	}
	return vmapComposite(func(a []*Array) []*Array {
		x, w, g := a[0], a[1], a[2]
		r := Rsqrt(Add(Mean(Square(x), []int{-1}, true), float64(p.eps)))
		nx := Multiply(x, r)
		if p.weight {
			return []*Array{AsType(sumToShape(Multiply(g, nx), w.shape), out.dtype)}
		}
		gn := Multiply(g, w)
		return []*Array{AsType(Multiply(r, Subtract(gn, Multiply(nx, Mean(Multiply(gn, nx), []int{-1}, true)))), out.dtype)}
	}, ins, axes)
}

// Vmap is LayerNorm's batching rule.
func (p layerNormPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	if axes[1] == Unmapped && axes[2] == Unmapped {
		x, ax := ins[0], axes[0]
		if ax == x.Ndim()-1 {
			x, ax = front(x, ax), 0
		}
		return newArray(cloneInts(x.shape), out.dtype, p, x, ins[1], ins[2]), ax
	}
	return vmapComposite(func(a []*Array) []*Array {
		x, w, b := a[0], a[1], a[2]
		xc := Subtract(x, Mean(x, []int{-1}, true))
		r := Rsqrt(Add(Mean(Square(xc), []int{-1}, true), float64(p.eps)))
		return []*Array{AsType(Add(Multiply(Multiply(xc, r), w), b), out.dtype)}
	}, ins, axes)
}

// Vmap is RoPE's batching rule: any axis but the sequence and feature axes can be mapped.
func (p ropePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapTrailing(p, ins, axes[0], 2, out)
}

// foldBatch returns the inputs, mapped first, with the mapped axis merged into the
// next one (attention's batch axis).
func foldBatch(ins []*Array, axes []int, n int) []*Array {
	fr := frontAll(ins, axes, n)
	for i, x := range fr {
		fr[i] = Reshape(x, append([]int{n * x.shape[1]}, x.shape[2:]...)...)
	}
	return fr
}

// Vmap is the batching rule of fused attention: the mapped axis joins the batch axis,
// or, when only the queries are mapped, the query heads that share each key/value head
// (so the keys and values are not copied).
func (p sdpaPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	if axes[1] == Unmapped && axes[2] == Unmapped {
		q, k := front(ins[0], axes[0]), ins[1]
		B, Hq, L, D := q.shape[1], q.shape[2], q.shape[3], q.shape[4]
		Hkv, Dv := k.shape[1], out.shape[3]
		rep := Hq / Hkv
		q = Reshape(Transpose(Reshape(q, n, B, Hkv, rep, L, D), 1, 2, 0, 3, 4, 5), B, Hkv*n*rep, L, D)
		o := newArray([]int{B, Hkv * n * rep, L, Dv}, out.dtype, p, q, k, ins[2])
		return Reshape(Transpose(Reshape(o, B, Hkv, n, rep, L, Dv), 2, 0, 1, 3, 4, 5), n, B, Hq, L, Dv), 0
	}
	f := foldBatch(ins, axes, n)
	r := newArray(insertAxis(out.shape[1:], 0, n*out.shape[0]), out.dtype, p, f...)
	return Reshape(r, insertAxis(out.shape, 0, n)...), 0
}

// Vmap is the batching rule of fused attention's backward kernel, whose output packs
// the gradients of q, k and v end to end.
func (p sdpaGradPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	f := foldBatch(ins, axes, n)
	packed := newArray([]int{n * out.shape[0]}, out.dtype, p, f...)
	var parts []*Array
	off := 0
	for _, x := range f[:3] {
		parts = append(parts, Reshape(SliceAxis(packed, 0, off, off+x.Size()), n, x.Size()/n))
		off += x.Size()
	}
	return Concatenate(parts, 1), 0
}

// vmapComposite returns the batched form of f, a primitive's composite form, with the
// mapped axis first.
func vmapComposite(f func([]*Array) []*Array, ins []*Array, axes []int) (*Array, int) {
	return vmapFunc(f, ins, axes)[0], 0
}

// Vmap is Checkpoint's batching rule: the checkpointed function is itself vmapped, so
// the backward pass recomputes the batched segment.
func (p checkpointPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	if axes[0] == Unmapped {
		return ins[0], Unmapped
	}
	argAxes := axes[1:]
	if !hasMapped(argAxes) {
		panicf("Vmap", "a checkpointed function reads a mapped array that is not among its inputs (Checkpoint's f must compute from its inputs only)")
	}
	f := func(args []*Array) *Array {
		return vmapFunc(func(a []*Array) []*Array { return []*Array{p.f(a)} }, args, argAxes)[0]
	}
	o := front(ins[0], axes[0])
	return newArray(cloneInts(o.shape), out.dtype, checkpointPrim{f}, append([]*Array{o}, ins[1:]...)...), 0
}

func hasMapped(axes []int) bool {
	for _, ax := range axes {
		if ax != Unmapped {
			return true
		}
	}
	return false
}

// Vmap is Depends's batching rule: the first input passes through, the others only order.
func (dependsPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return newArray(cloneInts(ins[0].shape), out.dtype, dependsPrim{}, ins...), axes[0]
}

// Vmap is QuantizedMatmul's batching rule for a mapped x (the quantized weight must be
// the same for every index).
func (p quantMatmulPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	if hasMapped(axes[1:]) {
		panicf("Vmap", "QuantizedMatmul with a mapped quantized weight has no batching rule; map x only")
	}
	x, ax := ins[0], axes[0]
	if ax == x.Ndim()-1 {
		x, ax = front(x, ax), 0
	}
	return newArray(insertAxis(out.shape, ax, x.shape[ax]), out.dtype, p, x, ins[1], ins[2], ins[3]), ax
}

// Vmap panics: Dequantize of mapped quantized data has no batching rule.
func (p dequantPrim) Vmap(_ []*Array, _ []int, _ *Array) (*Array, int) {
	panicf("Vmap", "Dequantize of a mapped quantized array has no batching rule; dequantize outside the vmapped function")
	return nil, 0
}

// Vmap panics: random numbers from a mapped key have no batching rule, as each index
// would need its own draw.
func (p randPrim) Vmap(_ []*Array, _ []int, _ *Array) (*Array, int) {
	panicf("Vmap", "%s from a mapped key has no batching rule; draw the random numbers outside the vmapped function and map them in", p.op.Name())
	return nil, 0
}
