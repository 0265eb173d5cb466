package mx

// The executors linked into every program that imports mx, so that MLXGO_BACKEND and the
// default choice find them with no import by the user (a notebook cell that uses only mx
// gets them too). A backend package listed here must not import mx: it needs only
// package backend (and backend/cpu for ops it does not lower). Add one blank import per
// backend. The MLX backend loads libmlxc only when asked for (MLXGO_BACKEND=mlx) or on
// macOS arm64, where it is the default when found.
import (
	_ "github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	_ "github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
)
