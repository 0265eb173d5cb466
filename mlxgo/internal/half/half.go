// Package half converts between float32 and the two 16-bit floating point
// formats used by machine-learning checkpoints: IEEE 754 binary16 ("float16",
// "f16") and bfloat16 ("bf16", the upper half of a float32).
//
// Values are passed around as their raw bit patterns (uint16). Conversions
// towards float32 are exact. Conversions from float32 round to nearest, ties
// to even, as IEEE 754 requires; overflow gives an infinity of the right
// sign, underflow gives (signed) subnormals or zero, and NaN stays NaN.
//
// The scalar functions are written with integer arithmetic only; the slice
// functions are the fast paths meant for bulk conversion of tensor data.
package half

import (
	"math"
	"sync"
)

// F16ToF32 returns the float32 value of the IEEE 754 binary16 number with
// bit pattern h. The conversion is exact; NaN payloads are preserved (shifted
// into the top of the float32 mantissa).
func F16ToF32(h uint16) float32 {
	return math.Float32frombits(f16ToF32Bits(h))
}

// f16ToF32Bits is F16ToF32 on bit patterns.
func f16ToF32Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return sign | 0x7f800000 | mant<<13
	case exp != 0: // normal
		return sign | (exp+(127-15))<<23 | mant<<13
	case mant == 0: // signed zero
		return sign
	}
	// Subnormal: value = mant * 2^-24. Normalise so that the leading one
	// lands on bit 10, adjusting the exponent accordingly.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return sign | e<<23 | (mant&0x3ff)<<13
}

// F32ToF16 returns the bit pattern of the IEEE 754 binary16 number nearest
// to f, rounding ties to even. Magnitudes of 65520 and above become
// infinity; magnitudes below 2^-25 become zero (2^-25 itself is a tie and
// rounds to zero). NaN gives a NaN that keeps the sign and the top ten
// payload bits of f; if those are all zero the quiet bit is set so that the
// result is still a NaN.
func F32ToF16(f float32) uint16 {
	return f32BitsToF16(math.Float32bits(f))
}

// f32BitsToF16 is F32ToF16 on bit patterns.
func f32BitsToF16(b uint32) uint16 {
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00 // infinity
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 0x200 // payload lost: make it a quiet NaN
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 + 15 // biased binary16 exponent
	if e >= 0x1f {
		return sign | 0x7c00 // overflow
	}
	if e <= 0 {
		// Result is subnormal (or zero, or rounds up to the smallest
		// normal). Float32 subnormals (exp == 0) have e = -112 and land in
		// the e < -10 case.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000 // implicit leading one
		shift := uint32(14 - e)
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 != 0) {
			r++ // may carry into the exponent field: that is correct
		}
		return sign | uint16(r)
	}
	// Normal result. Adding 0xfff plus the lowest kept bit to the dropped
	// bits carries into the kept part exactly when rounding goes up (ties
	// to even); a carry out of the mantissa bumps the exponent, up to
	// infinity. Branch-free because random data mispredicts a branch here.
	r := uint32(e)<<10 | mant>>13
	r += (mant&0x1fff + 0xfff + r&1) >> 13
	return sign | uint16(r)
}

// BF16ToF32 returns the float32 value of the bfloat16 number with bit
// pattern h. The conversion is exact.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 returns the bit pattern of the bfloat16 number nearest to f,
// rounding ties to even (values that round past the largest finite bfloat16
// become infinity). NaN gives a quiet NaN with the sign and the top payload
// bits of f.
func F32ToBF16(f float32) uint16 {
	return f32BitsToBF16(math.Float32bits(f))
}

// f32BitsToBF16 is F32ToBF16 on bit patterns.
func f32BitsToBF16(b uint32) uint16 {
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // NaN: force the quiet bit
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// f16Table maps every binary16 bit pattern to its float32 bit pattern. It is
// built on first use (256 KiB).
var f16Table = sync.OnceValue(func() *[1 << 16]uint32 {
	t := new([1 << 16]uint32)
	for i := range t {
		t[i] = f16ToF32Bits(uint16(i))
	}
	return t
})

// checkLen panics when dst cannot hold n elements.
func checkLen(dst, n int) {
	if dst < n {
		panic("half: destination slice shorter than source")
	}
}

// F16sToF32s converts the binary16 bit patterns in src to float32 and
// stores them in dst[:len(src)]. It panics if len(dst) < len(src).
func F16sToF32s(dst []float32, src []uint16) {
	checkLen(len(dst), len(src))
	t := f16Table()
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(t[h])
	}
}

// F32sToF16s converts the float32 values in src to binary16 bit patterns
// (see F32ToF16) and stores them in dst[:len(src)]. It panics if
// len(dst) < len(src).
func F32sToF16s(dst []uint16, src []float32) {
	checkLen(len(dst), len(src))
	dst = dst[:len(src)]
	for i, f := range src {
		b := math.Float32bits(f)
		if (b>>23)&0xff-113 < 30 {
			// Inlined normal-range case of f32BitsToF16.
			x := b&0x7fffffff - 112<<23
			r := x >> 13
			r += (x&0x1fff + 0xfff + r&1) >> 13
			dst[i] = uint16(b>>16)&0x8000 | uint16(r)
			continue
		}
		dst[i] = f32BitsToF16(b)
	}
}

// BF16sToF32s converts the bfloat16 bit patterns in src to float32 and
// stores them in dst[:len(src)]. It panics if len(dst) < len(src).
func BF16sToF32s(dst []float32, src []uint16) {
	checkLen(len(dst), len(src))
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// F32sToBF16s converts the float32 values in src to bfloat16 bit patterns
// (see F32ToBF16) and stores them in dst[:len(src)]. It panics if
// len(dst) < len(src).
func F32sToBF16s(dst []uint16, src []float32) {
	checkLen(len(dst), len(src))
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = f32BitsToBF16(math.Float32bits(f))
	}
}
