package backend

import "fmt"

// Dtype is the element type of an array.
type Dtype uint8

// The dtypes mlxgo supports. Floating-point arithmetic runs in float32; float16 and
// bfloat16 are storage types whose values are widened for compute and rounded back.
const (
	Bool Dtype = iota
	Uint8
	Uint32
	Int32
	Int64
	Float16
	Bfloat16
	Float32
)

var dtypeNames = [...]string{"bool", "uint8", "uint32", "int32", "int64", "float16", "bfloat16", "float32"}
var dtypeSizes = [...]int{1, 1, 4, 4, 8, 2, 2, 4}

// String returns the dtype's MLX name, e.g. "float32".
func (d Dtype) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the number of bytes of one element.
func (d Dtype) Size() int { return dtypeSizes[d] }

// IsFloat reports whether d is a floating-point dtype.
func (d Dtype) IsFloat() bool { return d == Float16 || d == Bfloat16 || d == Float32 }

// IsInt reports whether d is an integer dtype (bool excluded).
func (d Dtype) IsInt() bool { return d == Uint8 || d == Uint32 || d == Int32 || d == Int64 }

// DtypeFromString parses an MLX dtype name such as "float32" or "bfloat16".
func DtypeFromString(s string) (Dtype, error) {
	for i, n := range dtypeNames {
		if n == s {
			return Dtype(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dtype %q", s)
}

// PromoteTypes returns the dtype of a binary operation's result, as MLX promotes:
// bool < integers < floats; unsigned with signed widens to a signed type; float16 with
// bfloat16 gives float32.
func PromoteTypes(a, b Dtype) Dtype {
	if a == b {
		return a
	}
	if a > b {
		a, b = b, a
	}
	switch {
	case a == Float16 && b == Bfloat16:
		return Float32
	case b.IsFloat():
		return b
	case a == Bool:
		return b
	case a == Uint8 && b == Uint32:
		return Uint32
	case a == Uint32 && b == Int32:
		return Int64
	}
	return b
}
