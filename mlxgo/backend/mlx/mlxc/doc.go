// Package mlxc binds mlx-c, the C API of Apple's MLX, loaded at run time with purego
// (no cgo). It is the lowest layer of the MLX backend: arrays in and out of MLX, the
// operations the backend lowers to, and mlx_eval.
//
// The library is found through MLXGO_MLXC_PATH, then the Homebrew and system locations
// (/opt/homebrew/lib/libmlxc.dylib, /usr/local/lib, the dynamic linker's paths). Both
// mlx-c 0.5.x (Homebrew, MLX 0.30) and 0.6.x (MLX 0.31) are supported; [Lib.Version]
// says which one is loaded.
//
// MLX keeps its default streams per OS thread, so every MLX call runs on one goroutine
// locked to its OS thread: [Lib.Do] hands that goroutine a function and waits for it.
// Operations are methods of the [Ctx] that Do passes in, so they cannot be called from
// anywhere else.
//
// mlx-c's default error handler exits the process. Load installs its own handler before
// any other call; an error raised inside MLX (a shape mismatch, an allocation failure)
// unwinds the function given to Do, which returns it as an [*Error] carrying MLX's
// message.
package mlxc
