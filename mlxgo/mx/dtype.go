package mx

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// Dtype is the element type of an array (defined in package backend, shared with the
// backends).
type Dtype = backend.Dtype

// The dtypes mlxgo supports. Floating-point arithmetic runs in float32; float16 and
// bfloat16 are storage types whose values are widened for compute and rounded back.
const (
	Bool     = backend.Bool
	Uint8    = backend.Uint8
	Uint32   = backend.Uint32
	Int32    = backend.Int32
	Int64    = backend.Int64
	Float16  = backend.Float16
	Bfloat16 = backend.Bfloat16
	Float32  = backend.Float32
)

// DtypeFromString parses an MLX dtype name such as "float32" or "bfloat16".
func DtypeFromString(s string) (Dtype, error) {
	d, err := backend.DtypeFromString(s)
	if err != nil {
		return 0, fmt.Errorf("mx: %w", err)
	}
	return d, nil
}

// PromoteTypes returns the dtype of a binary operation's result, as MLX promotes:
// bool < integers < floats; unsigned with signed widens to a signed type; float16 with
// bfloat16 gives float32.
func PromoteTypes(a, b Dtype) Dtype { return backend.PromoteTypes(a, b) }
