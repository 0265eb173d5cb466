// Package cpu is mlxgo's CPU backend: the kernels of every op descriptor of package
// backend, written in Go over host memory (BLAS for matrix products), and the buffer
// pool that host arrays live in.
//
// It is the executor mx uses unless another is chosen (MLXGO_BACKEND, mx.SetBackend),
// and the fallback other executors may call for ops they do not lower: [Kernel] returns
// the kernel of any registered descriptor. A kernel reads its inputs through
// backend.HostBytes — storage of another backend is copied to the host first — and
// allocates its output from the pool ([Alloc]).
//
// Ops defined outside mx register their kernel with [Register]; package nn's fused
// cross-entropy is an example. This package does not import mx.
package cpu
