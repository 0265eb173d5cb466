package mx

// The backends linked into every program that uses mx, so that MLXGO_BACKEND and the
// default choice work with no import on the user's side. Each registers itself with
// package backend from its init; the MLX backend loads libmlxc only when it is asked
// for (MLXGO_BACKEND=mlx) or on macOS arm64, where it is the default when found.
import _ "github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
