package cpu

import "github.com/mlxgo/mlxgo/mlxgo/backend"

// panicf reports a problem with a kernel's inputs (see backend.OpError).
func panicf(op, format string, args ...any) { backend.Panicf(op, format, args...) }
