package mlxc

import "unsafe"

// mlx-c passes its handle types (mlx_array, mlx_stream, mlx_vector_array, mlx_string,
// mlx_device) as structs holding one pointer; by value they travel as a uintptr.
// mlx_optional_int/float/dtype ({value; bool has_value}, 8 bytes) travel in one integer
// register on amd64 and arm64: see optInt.

type unaryFn func(res *uintptr, a, s uintptr) int32
type binaryFn func(res *uintptr, a, b, s uintptr) int32
type reduceFn func(res *uintptr, a uintptr, axes *int32, n uintptr, keep bool, s uintptr) int32

// funcs holds the mlx-c entry points bound at load (tag: symbol[,v5|v6]).
type funcs struct {
	setErrorHandler func(handler, data, dtor uintptr) `mlx:"mlx_set_error_handler"`
	version         func(str *uintptr) int32          `mlx:"mlx_version"`
	stringNew       func() uintptr                    `mlx:"mlx_string_new"`
	stringData      func(str uintptr) *byte           `mlx:"mlx_string_data"`
	stringFree      func(str uintptr) int32           `mlx:"mlx_string_free"`

	getDefaultDevice func(dev *uintptr) int32                `mlx:"mlx_get_default_device"`
	deviceGetType    func(typ *int32, dev uintptr) int32     `mlx:"mlx_device_get_type"`
	deviceFree       func(dev uintptr) int32                 `mlx:"mlx_device_free"`
	getDefaultStream func(s *uintptr, dev uintptr) int32     `mlx:"mlx_get_default_stream"`
	streamFree       func(s uintptr) int32                   `mlx:"mlx_stream_free"`
	synchronize      func(s uintptr) int32                   `mlx:"mlx_synchronize"`
	getActiveMemory  func(res *uintptr) int32                `mlx:"mlx_get_active_memory"`
	getPeakMemory    func(res *uintptr) int32                `mlx:"mlx_get_peak_memory"`
	setMemoryLimit   func(res *uintptr, limit uintptr) int32 `mlx:"mlx_set_memory_limit"`
	getCacheMemory   func(res *uintptr) int32                `mlx:"mlx_get_cache_memory"`
	resetPeakMemory  func() int32                            `mlx:"mlx_reset_peak_memory"`
	setCacheLimit    func(res *uintptr, limit uintptr) int32 `mlx:"mlx_set_cache_limit"`
	clearCache       func() int32                            `mlx:"mlx_clear_cache"`

	arrayNew       func() uintptr                                                          `mlx:"mlx_array_new"`
	arrayFree      func(a uintptr) int32                                                   `mlx:"mlx_array_free"`
	arrayNewData   func(data unsafe.Pointer, shape *int32, dim int32, dtype int32) uintptr `mlx:"mlx_array_new_data"`
	arrayNewF32    func(v float32) uintptr                                                 `mlx:"mlx_array_new_float32"`
	arrayNewInt    func(v int32) uintptr                                                   `mlx:"mlx_array_new_int"`
	arrayNdim      func(a uintptr) uintptr                                                 `mlx:"mlx_array_ndim"`
	arrayShape     func(a uintptr) unsafe.Pointer                                          `mlx:"mlx_array_shape"`
	arrayDtype     func(a uintptr) int32                                                   `mlx:"mlx_array_dtype"`
	arrayNbytes    func(a uintptr) uintptr                                                 `mlx:"mlx_array_nbytes"`
	arrayEval      func(a uintptr) int32                                                   `mlx:"mlx_array_eval"`
	arrayDataU8    func(a uintptr) unsafe.Pointer                                          `mlx:"mlx_array_data_uint8"`
	arrayRowContig func(res *bool, a uintptr) int32                                        `mlx:"_mlx_array_is_row_contiguous"`

	vectorArrayNewData func(data *uintptr, n uintptr) uintptr         `mlx:"mlx_vector_array_new_data"`
	vectorArrayFree    func(v uintptr) int32                          `mlx:"mlx_vector_array_free"`
	vectorArraySize    func(v uintptr) uintptr                        `mlx:"mlx_vector_array_size"`
	vectorArrayGet     func(res *uintptr, v uintptr, i uintptr) int32 `mlx:"mlx_vector_array_get"`
	eval               func(v uintptr) int32                          `mlx:"mlx_eval"`

	full          func(res *uintptr, shape *int32, n uintptr, vals uintptr, dtype int32, s uintptr) int32                                              `mlx:"mlx_full"`
	astype        func(res *uintptr, a uintptr, dtype int32, s uintptr) int32                                                                          `mlx:"mlx_astype"`
	reshape       func(res *uintptr, a uintptr, shape *int32, n uintptr, s uintptr) int32                                                              `mlx:"mlx_reshape"`
	transpose     func(res *uintptr, a uintptr, axes *int32, n uintptr, s uintptr) int32                                                               `mlx:"mlx_transpose_axes"`
	broadcastTo   func(res *uintptr, a uintptr, shape *int32, n uintptr, s uintptr) int32                                                              `mlx:"mlx_broadcast_to"`
	slice         func(res *uintptr, a uintptr, start *int32, ns uintptr, stop *int32, ne uintptr, strides *int32, nt uintptr, s uintptr) int32        `mlx:"mlx_slice"`
	sliceUpdate   func(res *uintptr, src, upd uintptr, start *int32, ns uintptr, stop *int32, ne uintptr, strides *int32, nt uintptr, s uintptr) int32 `mlx:"mlx_slice_update"`
	concatenate   func(res *uintptr, arrays uintptr, axis int32, s uintptr) int32                                                                      `mlx:"mlx_concatenate_axis"`
	contiguous    func(res *uintptr, a uintptr, allowColMajor bool, s uintptr) int32                                                                   `mlx:"mlx_contiguous"`
	where         func(res *uintptr, c, x, y, s uintptr) int32                                                                                         `mlx:"mlx_where"`
	round         func(res *uintptr, a uintptr, decimals int32, s uintptr) int32                                                                       `mlx:"mlx_round"`
	argmax        func(res *uintptr, a uintptr, axis int32, keep bool, s uintptr) int32                                                                `mlx:"mlx_argmax_axis"`
	argmin        func(res *uintptr, a uintptr, axis int32, keep bool, s uintptr) int32                                                                `mlx:"mlx_argmin_axis"`
	softmax       func(res *uintptr, a uintptr, axes *int32, n uintptr, precise bool, s uintptr) int32                                                 `mlx:"mlx_softmax_axes"`
	cumsum        func(res *uintptr, a uintptr, axis int32, reverse, inclusive bool, s uintptr) int32                                                  `mlx:"mlx_cumsum"`
	takeAxis      func(res *uintptr, a, idx uintptr, axis int32, s uintptr) int32                                                                      `mlx:"mlx_take_axis"`
	takeAlongAxis func(res *uintptr, a, idx uintptr, axis int32, s uintptr) int32                                                                      `mlx:"mlx_take_along_axis"`
	putAlongAxis  func(res *uintptr, a, idx, vals uintptr, axis int32, s uintptr) int32                                                                `mlx:"mlx_put_along_axis"`
	scatterAddAx  func(res *uintptr, a, idx, vals uintptr, axis int32, s uintptr) int32                                                                `mlx:"mlx_scatter_add_axis"`
	matmul        func(res *uintptr, a, b, s uintptr) int32                                                                                            `mlx:"mlx_matmul"`

	dequantize5 func(res *uintptr, w, scales, biases uintptr, groupSize, bits uint64, mode *byte, dtype uint64, s uintptr) int32                      `mlx:"mlx_dequantize,v5"`
	dequantize6 func(res *uintptr, w, scales, biases uintptr, groupSize, bits uint64, mode *byte, globalScale uintptr, dtype uint64, s uintptr) int32 `mlx:"mlx_dequantize,v6"`
	quantize5   func(res *uintptr, w uintptr, groupSize, bits uint64, mode *byte, s uintptr) int32                                                    `mlx:"mlx_quantize,v5"`
	quantize6   func(res *uintptr, w uintptr, groupSize, bits uint64, mode *byte, globalScale uintptr, s uintptr) int32                               `mlx:"mlx_quantize,v6"`
	quantMatmul func(res *uintptr, x, w, scales, biases uintptr, transpose bool, groupSize, bits uint64, mode *byte, s uintptr) int32                 `mlx:"mlx_quantized_matmul"`

	rmsNorm   func(res *uintptr, x, w uintptr, eps float32, s uintptr) int32                                                                `mlx:"mlx_fast_rms_norm"`
	layerNorm func(res *uintptr, x, w, b uintptr, eps float32, s uintptr) int32                                                             `mlx:"mlx_fast_layer_norm"`
	rope      func(res *uintptr, x uintptr, dims int32, traditional bool, base uint64, scale float32, offset int32, freqs, s uintptr) int32 `mlx:"mlx_fast_rope"`
	sdpa      func(res *uintptr, q, k, v uintptr, scale float32, maskMode *byte, mask, sinks, s uintptr) int32                              `mlx:"mlx_fast_scaled_dot_product_attention"`

	asStrided      func(res *uintptr, a uintptr, shape *int32, n uintptr, strides *int64, ns uintptr, offset uintptr, s uintptr) int32 `mlx:"mlx_as_strided"`
	arraySet       func(res *uintptr, src uintptr) int32                                                                               `mlx:"mlx_array_set"`
	arange         func(res *uintptr, start, stop, step float64, dtype int32, s uintptr) int32                                         `mlx:"mlx_arange"`
	eye            func(res *uintptr, n, m, k, dtype int32, s uintptr) int32                                                           `mlx:"mlx_eye"`
	tri            func(res *uintptr, n, m, k, dtype int32, s uintptr) int32                                                           `mlx:"mlx_tri"`
	scatterAdd     func(res *uintptr, a, indices, updates uintptr, axes *int32, n uintptr, s uintptr) int32                            `mlx:"mlx_scatter_add"`
	depends        func(res *uintptr, inputs, deps uintptr) int32                                                                      `mlx:"mlx_depends"`
	vectorArrayNew func() uintptr                                                                                                      `mlx:"mlx_vector_array_new"`

	randomBits func(res *uintptr, shape *int32, n uintptr, width int32, key, s uintptr) int32 `mlx:"mlx_random_bits"`
}

// optInt packs an mlx_optional_int {int value; bool has_value}.
func optInt(v int, has bool) uint64 {
	r := uint64(uint32(int32(v)))
	if has {
		r |= 1 << 32
	}
	return r
}

// optDtype packs an mlx_optional_dtype {mlx_dtype value; bool has_value}.
func optDtype(d Dtype, has bool) uint64 { return optInt(int(d), has) }

// optFloat packs an mlx_optional_float {float value; bool has_value}.
func optFloat(v float32, has bool) uint64 {
	r := uint64(*(*uint32)(unsafe.Pointer(&v)))
	if has {
		r |= 1 << 32
	}
	return r
}
