package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/internal/half"
)

// Type is the storage type of a GGUF export's weight matrices (--gguf-type).
type Type int

// The export types. Vectors (norm weights, biases, RoPE factors) are always stored as
// float32, as llama.cpp's converter does; matrices take the chosen type.
const (
	F16  Type = iota // IEEE half precision (the default, as mlx_lm.fuse --export-gguf)
	F32              // single precision, no rounding
	BF16             // bfloat16
	Q8_0             // llama.cpp's 8-bit blocks: 32 weights share one float16 scale
)

// ParseType reads a --gguf-type value: f32, f16, bf16 or q8_0.
func ParseType(s string) (Type, error) {
	for _, t := range []Type{F32, F16, BF16, Q8_0} {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gguf type %q is not one of f32, f16, bf16, q8_0", s)
}

// String returns the type's name as --gguf-type spells it.
func (t Type) String() string {
	return [...]string{"f16", "f32", "bf16", "q8_0"}[t]
}

// ggml returns the ggml_type number stored in a tensor description.
func (t Type) ggml() uint32 {
	return [...]uint32{1, 0, 30, 8}[t]
}

// fileType returns the llama_ftype stored as general.file_type.
func (t Type) fileType() uint32 {
	return [...]uint32{1, 0, 32, 7}[t]
}

// q8Block is the number of weights in one Q8_0 block; a block takes 34 bytes.
const q8Block = 32

func (t Type) bytes(n uint64) uint64 {
	switch t {
	case F32:
		return 4 * n
	case Q8_0:
		return n / q8Block * (2 + q8Block)
	}
	return 2 * n
}

// encode writes row-major float32 values in type t.
func (t Type) encode(w io.Writer, v []float32) error {
	var buf []byte
	switch t {
	case F32:
		buf = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
	case F16, BF16:
		h := make([]uint16, len(v))
		if t == F16 {
			half.F32sToF16s(h, v)
		} else {
			half.F32sToBF16s(h, v)
		}
		buf = make([]byte, 2*len(v))
		for i, x := range h {
			binary.LittleEndian.PutUint16(buf[2*i:], x)
		}
	case Q8_0:
		buf = quantizeQ8(v)
	}
	_, err := w.Write(buf)
	return err
}

// quantizeQ8 encodes v (a multiple of 32 values) as Q8_0 blocks: per block the scale
// d = max|x|/127 as float16, then 32 int8 codes round(x/d), rounding halves away from
// zero, as ggml's reference quantize_row_q8_0 does. The codes are computed with the
// float32 scale, before it is rounded to float16.
func quantizeQ8(v []float32) []byte {
	out := make([]byte, 0, len(v)/q8Block*(2+q8Block))
	for b := 0; b < len(v); b += q8Block {
		blk := v[b : b+q8Block]
		var amax float32
		for _, x := range blk {
			amax = max(amax, float32(math.Abs(float64(x))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, half.F32ToF16(d))
		for _, x := range blk {
			out = append(out, byte(int8(roundAway(x*id))))
		}
	}
	return out
}

// roundAway rounds half away from zero (C's roundf).
func roundAway(x float32) float32 {
	return float32(math.Copysign(math.Floor(math.Abs(float64(x))+0.5), float64(x)))
}

// dequantizeQ8 decodes Q8_0 blocks (for tests and for stating how close q8_0 is).
func dequantizeQ8(b []byte) []float32 {
	var out []float32
	for len(b) >= 2+q8Block {
		d := half.F16ToF32(binary.LittleEndian.Uint16(b))
		for _, q := range b[2 : 2+q8Block] {
			out = append(out, float32(int8(q))*d)
		}
		b = b[2+q8Block:]
	}
	return out
}
