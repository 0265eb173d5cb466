package mlxc

import "unsafe"

// Every operation returns a new lazy array owned by the caller, computed on the
// library's default stream; nothing runs until [Ctx.Eval]. Errors MLX raises while
// building the graph (shape and dtype mismatches) panic with an [*Error], which
// [Lib.Do] returns.

// Unary applies the one-input mlx-c operation mlx_<name> (e.g. "exp", "logical_not").
func (c *Ctx) Unary(name string, a Array) Array {
	var r uintptr
	c.check(lazyFn[unaryFn](c.l, "mlx_"+name)(&r, uintptr(a), c.l.stream), "mlx_"+name)
	return Array(r)
}

// Binary applies the two-input mlx-c operation mlx_<name> (e.g. "add", "less_equal"),
// broadcasting as MLX does.
func (c *Ctx) Binary(name string, a, b Array) Array {
	var r uintptr
	c.check(lazyFn[binaryFn](c.l, "mlx_"+name)(&r, uintptr(a), uintptr(b), c.l.stream), "mlx_"+name)
	return Array(r)
}

// Reduce applies mlx_<name>_axes ("sum", "max", "min", "prod", "logsumexp") over axes.
func (c *Ctx) Reduce(name string, a Array, axes []int, keepDims bool) Array {
	var r uintptr
	ax, p := ints32(axes)
	fn := "mlx_" + name + "_axes"
	c.check(lazyFn[reduceFn](c.l, fn)(&r, uintptr(a), p, uintptr(len(ax)), keepDims, c.l.stream), fn)
	return Array(r)
}

// ArgMax returns the indices of the maxima along axis (uint32).
func (c *Ctx) ArgMax(a Array, axis int, keepDims bool) Array {
	var r uintptr
	c.check(c.l.f.argmax(&r, uintptr(a), int32(axis), keepDims, c.l.stream), "mlx_argmax_axis")
	return Array(r)
}

// ArgMin returns the indices of the minima along axis (uint32).
func (c *Ctx) ArgMin(a Array, axis int, keepDims bool) Array {
	var r uintptr
	c.check(c.l.f.argmin(&r, uintptr(a), int32(axis), keepDims, c.l.stream), "mlx_argmin_axis")
	return Array(r)
}

// Full returns an array of shape and dtype dt filled by broadcasting vals.
func (c *Ctx) Full(shape []int, vals Array, dt Dtype) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.full(&r, p, uintptr(len(s)), uintptr(vals), int32(dt), c.l.stream), "mlx_full")
	return Array(r)
}

// AsType converts a to dtype dt.
func (c *Ctx) AsType(a Array, dt Dtype) Array {
	var r uintptr
	c.check(c.l.f.astype(&r, uintptr(a), int32(dt), c.l.stream), "mlx_astype")
	return Array(r)
}

// Reshape gives a a new shape with the same number of elements.
func (c *Ctx) Reshape(a Array, shape []int) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.reshape(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_reshape")
	return Array(r)
}

// Transpose permutes a's axes.
func (c *Ctx) Transpose(a Array, perm []int) Array {
	var r uintptr
	s, p := ints32(perm)
	c.check(c.l.f.transpose(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_transpose_axes")
	return Array(r)
}

// BroadcastTo broadcasts a to shape.
func (c *Ctx) BroadcastTo(a Array, shape []int) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.broadcastTo(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_broadcast_to")
	return Array(r)
}

// Slice returns a[start:stop:strides] along every axis.
func (c *Ctx) Slice(a Array, start, stop, strides []int) Array {
	var r uintptr
	s0, p0 := ints32(start)
	s1, p1 := ints32(stop)
	s2, p2 := ints32(strides)
	c.check(c.l.f.slice(&r, uintptr(a), p0, uintptr(len(s0)), p1, uintptr(len(s1)), p2, uintptr(len(s2)), c.l.stream), "mlx_slice")
	return Array(r)
}

// SliceUpdate returns src with src[start:stop:strides] replaced by update.
func (c *Ctx) SliceUpdate(src, update Array, start, stop, strides []int) Array {
	var r uintptr
	s0, p0 := ints32(start)
	s1, p1 := ints32(stop)
	s2, p2 := ints32(strides)
	c.check(c.l.f.sliceUpdate(&r, uintptr(src), uintptr(update), p0, uintptr(len(s0)), p1, uintptr(len(s1)), p2, uintptr(len(s2)), c.l.stream), "mlx_slice_update")
	return Array(r)
}

// Concatenate joins arrays along axis.
func (c *Ctx) Concatenate(arrays []Array, axis int) Array {
	var r uintptr
	var p *uintptr
	if len(arrays) > 0 {
		p = (*uintptr)(unsafe.Pointer(&arrays[0]))
	}
	v := c.l.f.vectorArrayNewData(p, uintptr(len(arrays)))
	c.check(0, "mlx_vector_array_new_data")
	defer c.l.f.vectorArrayFree(v)
	c.check(c.l.f.concatenate(&r, v, int32(axis), c.l.stream), "mlx_concatenate_axis")
	return Array(r)
}

// Contiguous returns a with row-major contiguous storage.
func (c *Ctx) Contiguous(a Array) Array {
	var r uintptr
	c.check(c.l.f.contiguous(&r, uintptr(a), false, c.l.stream), "mlx_contiguous")
	return Array(r)
}

// Where selects x where cond is true, else y.
func (c *Ctx) Where(cond, x, y Array) Array {
	var r uintptr
	c.check(c.l.f.where(&r, uintptr(cond), uintptr(x), uintptr(y), c.l.stream), "mlx_where")
	return Array(r)
}

// Round rounds half to even, as MLX does.
func (c *Ctx) Round(a Array) Array {
	var r uintptr
	c.check(c.l.f.round(&r, uintptr(a), 0, c.l.stream), "mlx_round")
	return Array(r)
}

// Softmax normalizes exp(a) over axes; precise accumulates in float32 for half inputs.
func (c *Ctx) Softmax(a Array, axes []int, precise bool) Array {
	var r uintptr
	s, p := ints32(axes)
	c.check(c.l.f.softmax(&r, uintptr(a), p, uintptr(len(s)), precise, c.l.stream), "mlx_softmax_axes")
	return Array(r)
}

// Cumsum is the cumulative sum along axis.
func (c *Ctx) Cumsum(a Array, axis int, reverse, inclusive bool) Array {
	var r uintptr
	c.check(c.l.f.cumsum(&r, uintptr(a), int32(axis), reverse, inclusive, c.l.stream), "mlx_cumsum")
	return Array(r)
}

// TakeAxis gathers a's slices at indices along axis.
func (c *Ctx) TakeAxis(a, indices Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.takeAxis(&r, uintptr(a), uintptr(indices), int32(axis), c.l.stream), "mlx_take_axis")
	return Array(r)
}

// TakeAlongAxis gathers a's elements at indices (same rank) along axis.
func (c *Ctx) TakeAlongAxis(a, indices Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.takeAlongAxis(&r, uintptr(a), uintptr(indices), int32(axis), c.l.stream), "mlx_take_along_axis")
	return Array(r)
}

// PutAlongAxis returns a with values written at indices along axis.
func (c *Ctx) PutAlongAxis(a, indices, values Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.putAlongAxis(&r, uintptr(a), uintptr(indices), uintptr(values), int32(axis), c.l.stream), "mlx_put_along_axis")
	return Array(r)
}

// ScatterAddAxis returns a with values added at indices along axis (indices and values
// have a's rank; repeated indices accumulate).
func (c *Ctx) ScatterAddAxis(a, indices, values Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.scatterAddAx(&r, uintptr(a), uintptr(indices), uintptr(values), int32(axis), c.l.stream), "mlx_scatter_add_axis")
	return Array(r)
}

// Matmul is the matrix product with batch broadcasting.
func (c *Ctx) Matmul(a, b Array) Array {
	var r uintptr
	c.check(c.l.f.matmul(&r, uintptr(a), uintptr(b), c.l.stream), "mlx_matmul")
	return Array(r)
}

// Dequantize expands affine-quantized w (packed uint32) with scales and biases.
func (c *Ctx) Dequantize(w, scales, biases Array, groupSize, bits int) Array {
	var r uintptr
	mode := cString("affine")
	gs, bs := optInt(groupSize, true), optInt(bits, true)
	var rc int32
	if c.l.cMinor >= 6 {
		rc = c.l.f.dequantize6(&r, uintptr(w), uintptr(scales), uintptr(biases), gs, bs, mode, 0, optDtype(0, false), c.l.stream)
	} else {
		rc = c.l.f.dequantize5(&r, uintptr(w), uintptr(scales), uintptr(biases), gs, bs, mode, optDtype(0, false), c.l.stream)
	}
	c.check(rc, "mlx_dequantize")
	return Array(r)
}

// QuantizedMatmul is x @ dequantize(w)ᵀ (transpose true) or x @ dequantize(w).
func (c *Ctx) QuantizedMatmul(x, w, scales, biases Array, transpose bool, groupSize, bits int) Array {
	var r uintptr
	c.check(c.l.f.quantMatmul(&r, uintptr(x), uintptr(w), uintptr(scales), uintptr(biases), transpose,
		optInt(groupSize, true), optInt(bits, true), cString("affine"), c.l.stream), "mlx_quantized_matmul")
	return Array(r)
}

// RMSNorm is mlx.fast.rms_norm (weight may be the zero Array).
func (c *Ctx) RMSNorm(x, weight Array, eps float32) Array {
	var r uintptr
	c.check(c.l.f.rmsNorm(&r, uintptr(x), uintptr(weight), eps, c.l.stream), "mlx_fast_rms_norm")
	return Array(r)
}

// LayerNorm is mlx.fast.layer_norm (weight and bias may be the zero Array).
func (c *Ctx) LayerNorm(x, weight, bias Array, eps float32) Array {
	var r uintptr
	c.check(c.l.f.layerNorm(&r, uintptr(x), uintptr(weight), uintptr(bias), eps, c.l.stream), "mlx_fast_layer_norm")
	return Array(r)
}

// RoPE is mlx.fast.rope with a base (freqs absent) or with freqs (base ignored).
func (c *Ctx) RoPE(x Array, dims int, traditional bool, base, scale float32, offset int, freqs Array) Array {
	var r uintptr
	c.check(c.l.f.rope(&r, uintptr(x), int32(dims), traditional, optFloat(base, freqs == 0), scale, int32(offset),
		uintptr(freqs), c.l.stream), "mlx_fast_rope")
	return Array(r)
}

// SDPA is mlx.fast.scaled_dot_product_attention; maskMode is "", "causal" or "array"
// (then mask is used).
func (c *Ctx) SDPA(q, k, v Array, scale float32, maskMode string, mask Array) Array {
	var r uintptr
	c.check(c.l.f.sdpa(&r, uintptr(q), uintptr(k), uintptr(v), scale, cString(maskMode), uintptr(mask), 0, c.l.stream),
		"mlx_fast_scaled_dot_product_attention")
	return Array(r)
}

// RandomBits returns uint32 random bits of shape from key (a uint32 array of 2).
func (c *Ctx) RandomBits(shape []int, key Array) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.randomBits(&r, p, uintptr(len(s)), 4, uintptr(key), c.l.stream), "mlx_random_bits")
	return Array(r)
}
