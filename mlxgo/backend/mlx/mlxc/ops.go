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
	return c.made(r)
}

// Binary applies the two-input mlx-c operation mlx_<name> (e.g. "add", "less_equal"),
// broadcasting as MLX does.
func (c *Ctx) Binary(name string, a, b Array) Array {
	var r uintptr
	c.check(lazyFn[binaryFn](c.l, "mlx_"+name)(&r, uintptr(a), uintptr(b), c.l.stream), "mlx_"+name)
	return c.made(r)
}

// Reduce applies mlx_<name>_axes ("sum", "max", "min", "prod", "logsumexp") over axes.
func (c *Ctx) Reduce(name string, a Array, axes []int, keepDims bool) Array {
	var r uintptr
	ax, p := ints32(axes)
	fn := "mlx_" + name + "_axes"
	c.check(lazyFn[reduceFn](c.l, fn)(&r, uintptr(a), p, uintptr(len(ax)), keepDims, c.l.stream), fn)
	return c.made(r)
}

// ArgMax returns the indices of the maxima along axis (uint32).
func (c *Ctx) ArgMax(a Array, axis int, keepDims bool) Array {
	var r uintptr
	c.check(c.l.f.argmax(&r, uintptr(a), int32(axis), keepDims, c.l.stream), "mlx_argmax_axis")
	return c.made(r)
}

// ArgMin returns the indices of the minima along axis (uint32).
func (c *Ctx) ArgMin(a Array, axis int, keepDims bool) Array {
	var r uintptr
	c.check(c.l.f.argmin(&r, uintptr(a), int32(axis), keepDims, c.l.stream), "mlx_argmin_axis")
	return c.made(r)
}

// Full returns an array of shape and dtype dt filled by broadcasting vals.
func (c *Ctx) Full(shape []int, vals Array, dt Dtype) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.full(&r, p, uintptr(len(s)), uintptr(vals), int32(dt), c.l.stream), "mlx_full")
	return c.made(r)
}

// AsType converts a to dtype dt.
func (c *Ctx) AsType(a Array, dt Dtype) Array {
	var r uintptr
	c.check(c.l.f.astype(&r, uintptr(a), int32(dt), c.l.stream), "mlx_astype")
	return c.made(r)
}

// Reshape gives a a new shape with the same number of elements.
func (c *Ctx) Reshape(a Array, shape []int) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.reshape(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_reshape")
	return c.made(r)
}

// Transpose permutes a's axes.
func (c *Ctx) Transpose(a Array, perm []int) Array {
	var r uintptr
	s, p := ints32(perm)
	c.check(c.l.f.transpose(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_transpose_axes")
	return c.made(r)
}

// BroadcastTo broadcasts a to shape.
func (c *Ctx) BroadcastTo(a Array, shape []int) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.broadcastTo(&r, uintptr(a), p, uintptr(len(s)), c.l.stream), "mlx_broadcast_to")
	return c.made(r)
}

// Slice returns a[start:stop:strides] along every axis.
func (c *Ctx) Slice(a Array, start, stop, strides []int) Array {
	var r uintptr
	s0, p0 := ints32(start)
	s1, p1 := ints32(stop)
	s2, p2 := ints32(strides)
	c.check(c.l.f.slice(&r, uintptr(a), p0, uintptr(len(s0)), p1, uintptr(len(s1)), p2, uintptr(len(s2)), c.l.stream), "mlx_slice")
	return c.made(r)
}

// SliceUpdate returns src with src[start:stop:strides] replaced by update.
func (c *Ctx) SliceUpdate(src, update Array, start, stop, strides []int) Array {
	var r uintptr
	s0, p0 := ints32(start)
	s1, p1 := ints32(stop)
	s2, p2 := ints32(strides)
	c.check(c.l.f.sliceUpdate(&r, uintptr(src), uintptr(update), p0, uintptr(len(s0)), p1, uintptr(len(s1)), p2, uintptr(len(s2)), c.l.stream), "mlx_slice_update")
	return c.made(r)
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
	return c.made(r)
}

// Contiguous returns a with row-major contiguous storage.
func (c *Ctx) Contiguous(a Array) Array {
	var r uintptr
	c.check(c.l.f.contiguous(&r, uintptr(a), false, c.l.stream), "mlx_contiguous")
	return c.made(r)
}

// Where selects x where cond is true, else y.
func (c *Ctx) Where(cond, x, y Array) Array {
	var r uintptr
	c.check(c.l.f.where(&r, uintptr(cond), uintptr(x), uintptr(y), c.l.stream), "mlx_where")
	return c.made(r)
}

// Round rounds half to even, as MLX does.
func (c *Ctx) Round(a Array) Array {
	var r uintptr
	c.check(c.l.f.round(&r, uintptr(a), 0, c.l.stream), "mlx_round")
	return c.made(r)
}

// Softmax normalizes exp(a) over axes; precise accumulates in float32 for half inputs.
func (c *Ctx) Softmax(a Array, axes []int, precise bool) Array {
	var r uintptr
	s, p := ints32(axes)
	c.check(c.l.f.softmax(&r, uintptr(a), p, uintptr(len(s)), precise, c.l.stream), "mlx_softmax_axes")
	return c.made(r)
}

// Cumsum is the cumulative sum along axis.
func (c *Ctx) Cumsum(a Array, axis int, reverse, inclusive bool) Array {
	var r uintptr
	c.check(c.l.f.cumsum(&r, uintptr(a), int32(axis), reverse, inclusive, c.l.stream), "mlx_cumsum")
	return c.made(r)
}

// TakeAxis gathers a's slices at indices along axis.
func (c *Ctx) TakeAxis(a, indices Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.takeAxis(&r, uintptr(a), uintptr(indices), int32(axis), c.l.stream), "mlx_take_axis")
	return c.made(r)
}

// TakeAlongAxis gathers a's elements at indices (same rank) along axis.
func (c *Ctx) TakeAlongAxis(a, indices Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.takeAlongAxis(&r, uintptr(a), uintptr(indices), int32(axis), c.l.stream), "mlx_take_along_axis")
	return c.made(r)
}

// PutAlongAxis returns a with values written at indices along axis.
func (c *Ctx) PutAlongAxis(a, indices, values Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.putAlongAxis(&r, uintptr(a), uintptr(indices), uintptr(values), int32(axis), c.l.stream), "mlx_put_along_axis")
	return c.made(r)
}

// ScatterAddAxis returns a with values added at indices along axis (indices and values
// have a's rank; repeated indices accumulate).
func (c *Ctx) ScatterAddAxis(a, indices, values Array, axis int) Array {
	var r uintptr
	c.check(c.l.f.scatterAddAx(&r, uintptr(a), uintptr(indices), uintptr(values), int32(axis), c.l.stream), "mlx_scatter_add_axis")
	return c.made(r)
}

// Matmul is the matrix product with batch broadcasting.
func (c *Ctx) Matmul(a, b Array) Array {
	var r uintptr
	c.check(c.l.f.matmul(&r, uintptr(a), uintptr(b), c.l.stream), "mlx_matmul")
	return c.made(r)
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
	return c.made(r)
}

// Quantize is MLX's affine quantization of w along its last axis: packed uint32 codes,
// scales and biases.
func (c *Ctx) Quantize(w Array, groupSize, bits int) (wq, scales, biases Array) {
	res := c.l.f.vectorArrayNew()
	defer c.l.f.vectorArrayFree(res)
	mode := cString("affine")
	gs, bs := optInt(groupSize, true), optInt(bits, true)
	var rc int32
	if c.l.cMinor >= 6 {
		rc = c.l.f.quantize6(&res, uintptr(w), gs, bs, mode, 0, c.l.stream)
	} else {
		rc = c.l.f.quantize5(&res, uintptr(w), gs, bs, mode, c.l.stream)
	}
	c.check(rc, "mlx_quantize")
	out := make([]Array, 3)
	for i := range out {
		r := c.l.f.arrayNew()
		c.check(c.l.f.vectorArrayGet(&r, res, uintptr(i)), "mlx_vector_array_get")
		out[i] = c.made(r)
	}
	return out[0], out[1], out[2]
}

// QuantizedMatmul is x @ dequantize(w)ᵀ (transpose true) or x @ dequantize(w).
func (c *Ctx) QuantizedMatmul(x, w, scales, biases Array, transpose bool, groupSize, bits int) Array {
	var r uintptr
	c.check(c.l.f.quantMatmul(&r, uintptr(x), uintptr(w), uintptr(scales), uintptr(biases), transpose,
		optInt(groupSize, true), optInt(bits, true), cString("affine"), c.l.stream), "mlx_quantized_matmul")
	return c.made(r)
}

// RMSNorm is mlx.fast.rms_norm (weight may be the zero Array).
func (c *Ctx) RMSNorm(x, weight Array, eps float32) Array {
	var r uintptr
	c.check(c.l.f.rmsNorm(&r, uintptr(x), uintptr(weight), eps, c.l.stream), "mlx_fast_rms_norm")
	return c.made(r)
}

// LayerNorm is mlx.fast.layer_norm (weight and bias may be the zero Array).
func (c *Ctx) LayerNorm(x, weight, bias Array, eps float32) Array {
	var r uintptr
	c.check(c.l.f.layerNorm(&r, uintptr(x), uintptr(weight), uintptr(bias), eps, c.l.stream), "mlx_fast_layer_norm")
	return c.made(r)
}

// RoPE is mlx.fast.rope with a base (freqs absent) or with freqs (base ignored).
func (c *Ctx) RoPE(x Array, dims int, traditional bool, base, scale float32, offset int, freqs Array) Array {
	var r uintptr
	c.check(c.l.f.rope(&r, uintptr(x), int32(dims), traditional, optFloat(base, freqs == 0), scale, int32(offset),
		uintptr(freqs), c.l.stream), "mlx_fast_rope")
	return c.made(r)
}

// SDPA is mlx.fast.scaled_dot_product_attention; maskMode is "", "causal" or "array"
// (then mask is used).
func (c *Ctx) SDPA(q, k, v Array, scale float32, maskMode string, mask Array) Array {
	var r uintptr
	c.check(c.l.f.sdpa(&r, uintptr(q), uintptr(k), uintptr(v), scale, cString(maskMode), uintptr(mask), 0, c.l.stream),
		"mlx_fast_scaled_dot_product_attention")
	return c.made(r)
}

// RandomBits returns uint32 random bits of shape from key (a uint32 array of 2).
func (c *Ctx) RandomBits(shape []int, key Array) Array {
	var r uintptr
	s, p := ints32(shape)
	c.check(c.l.f.randomBits(&r, p, uintptr(len(s)), 4, uintptr(key), c.l.stream), "mlx_random_bits")
	return c.made(r)
}

// AsStrided views a's elements (row-major, flattened) with shape, element strides and
// an element offset.
func (c *Ctx) AsStrided(a Array, shape, strides []int, offset int) Array {
	var r uintptr
	s, p := ints32(shape)
	st := make([]int64, len(strides))
	for i, x := range strides {
		st[i] = int64(x)
	}
	var sp *int64
	if len(st) > 0 {
		sp = &st[0]
	}
	c.check(c.l.f.asStrided(&r, uintptr(a), p, uintptr(len(s)), sp, uintptr(len(st)), uintptr(offset), c.l.stream), "mlx_as_strided")
	return c.made(r)
}

// Ref returns a second handle to the same array (no copy).
func (c *Ctx) Ref(a Array) Array {
	r := c.l.f.arrayNew()
	c.check(c.l.f.arraySet(&r, uintptr(a)), "mlx_array_set")
	return c.made(r)
}

// Arange returns start, start+step, ... below stop, of dtype dt.
func (c *Ctx) Arange(start, stop, step float64, dt Dtype) Array {
	var r uintptr
	c.check(c.l.f.arange(&r, start, stop, step, int32(dt), c.l.stream), "mlx_arange")
	return c.made(r)
}

// Eye returns an n×m array with ones on diagonal k.
func (c *Ctx) Eye(n, m, k int, dt Dtype) Array {
	var r uintptr
	c.check(c.l.f.eye(&r, int32(n), int32(m), int32(k), int32(dt), c.l.stream), "mlx_eye")
	return c.made(r)
}

// Tri returns an n×m array with ones at and below diagonal k.
func (c *Ctx) Tri(n, m, k int, dt Dtype) Array {
	var r uintptr
	c.check(c.l.f.tri(&r, int32(n), int32(m), int32(k), int32(dt), c.l.stream), "mlx_tri")
	return c.made(r)
}

// ScatterAdd adds updates into a at the positions indices give along axes (MLX's
// scatter_add: updates have shape indices.shape + a.shape with the axes set to 1).
func (c *Ctx) ScatterAdd(a Array, indices []Array, updates Array, axes []int) Array {
	var r uintptr
	var ip *uintptr
	if len(indices) > 0 {
		ip = (*uintptr)(unsafe.Pointer(&indices[0]))
	}
	v := c.l.f.vectorArrayNewData(ip, uintptr(len(indices)))
	c.check(0, "mlx_vector_array_new_data")
	defer c.l.f.vectorArrayFree(v)
	ax, p := ints32(axes)
	c.check(c.l.f.scatterAdd(&r, uintptr(a), v, uintptr(updates), p, uintptr(len(ax)), c.l.stream), "mlx_scatter_add")
	return c.made(r)
}

// Depends returns a handle to a that MLX computes only after deps.
func (c *Ctx) Depends(a Array, deps []Array) Array {
	in := c.l.f.vectorArrayNewData((*uintptr)(unsafe.Pointer(&a)), 1)
	c.check(0, "mlx_vector_array_new_data")
	defer c.l.f.vectorArrayFree(in)
	var dp *uintptr
	if len(deps) > 0 {
		dp = (*uintptr)(unsafe.Pointer(&deps[0]))
	}
	dv := c.l.f.vectorArrayNewData(dp, uintptr(len(deps)))
	c.check(0, "mlx_vector_array_new_data")
	defer c.l.f.vectorArrayFree(dv)
	res := c.l.f.vectorArrayNew()
	defer c.l.f.vectorArrayFree(res)
	c.check(c.l.f.depends(&res, in, dv), "mlx_depends")
	r := c.l.f.arrayNew()
	c.check(c.l.f.vectorArrayGet(&r, res, 0), "mlx_vector_array_get")
	return c.made(r)
}
