// Package mlx is the MLX backend: an executor of mx's tapes that runs them on Apple's
// MLX through mlx-c (package mlxc, loaded at run time with purego, no cgo). On a Mac,
// MLX runs on the GPU with Metal; elsewhere on MLX's CPU backend.
//
// At Eval, mx hands the executor the pending steps — the forward pass and the VJP
// graphs mx's autodiff built, which are ops like any other. The executor lowers them to
// mlx-c operations and evaluates them with one mlx_eval; results stay MLX arrays (an
// array's storage is owned by the backend that produced it), so weights and optimizer
// state stay in MLX between training steps. Reading values from Go (Item, Float32s,
// saving) copies them out; [Executor.Stats] counts the bytes in both directions.
//
// Selection happens in mx with no import on the user's side: MLXGO_BACKEND=mlx or cpu
// chooses; unset, MLX runs by default on macOS arm64 when libmlxc is found, the CPU
// backend otherwise. mx.CurrentBackend() says which one runs and why.
//
// Ops with no MLX counterpart are composed from MLX ops (SiLU, GELU, RMSNorm's and
// attention's backward passes) or run by the CPU backend's kernel between two MLX
// evaluations (random number generation, so both backends draw the same numbers; ops
// defined outside package backend without an MLX lowering, see [Register]).
package mlx
