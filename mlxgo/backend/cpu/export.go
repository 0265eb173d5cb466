package cpu

import "github.com/mlxgo/mlxgo/mlxgo/backend"

// Helpers for kernels registered from outside this package (see Register).

// OutFloats allocates out's storage and returns a float32 slice to write its values
// into and a commit function that stores them in out's dtype (call it once done).
func OutFloats(out *backend.Node) ([]float32, func()) { return outFloats(out) }

// OutFloatsFrom is OutFloats, but the output may take over in's memory when in is a
// donor (backend.Node.Donor): the kernel must then compute output element i from input
// element i alone, reading it before writing it.
func OutFloatsFrom(out, in *backend.Node) ([]float32, func()) { return outFloatsFrom(out, in) }

// OutInts is OutFloats for integer and bool outputs.
func OutInts(out *backend.Node) ([]int64, func()) { return outInts(out) }

// ParallelFor splits [0, n) into contiguous chunks of at least grain items and runs f on
// them across cores; the split depends only on n, grain and GOMAXPROCS, so kernels whose
// chunks write disjoint outputs are deterministic.
func ParallelFor(n, grain int, f func(lo, hi int)) { parallelFor(n, grain, f) }

// LogSumExpRow returns log(Σ exp(row)), computed stably.
func LogSumExpRow(row []float32) float32 { return reduceRow(backend.LogSumExp, row) }

// ExpSubSum writes exp(x − m) into o (o and x may be the same slice) and returns
// its sum, one pass over x.
func ExpSubSum(o, x []float32, m float32) float64 { return expSubSum(o, x, m) }

// ScaleFloats multiplies every element of x by s, in place.
func ScaleFloats(x []float32, s float32) { scaleVec(x, s) }

// SoftmaxRow writes softmax(x) into o (o and x may be the same slice).
func SoftmaxRow(o, x []float32) { softmaxRow(o, x) }

// SiluFloats writes x·σ(x) into o (the kernel of Silu; o and x may be the same slice).
func SiluFloats(o, x []float32) { siluVec(o, x) }

// SiluGradFloats writes g·σ(x)·(1 + x·(1 − σ(x))) into o (the kernel of SiluGrad).
func SiluGradFloats(o, x, g []float32) { siluGradVec(o, x, g) }

// SwiGLUGradFloats writes the gradients of silu(gate)·up for the cotangent g:
// dgate = g·up·σ(gate)·(1 + gate·(1 − σ(gate))) and dup = g·silu(gate), the same
// bits as SiluGradFloats and SiluFloats with MulFloats, each sigmoid computed once.
func SwiGLUGradFloats(dgate, dup, gate, up, g []float32) { swigluGradVec(dgate, dup, gate, up, g) }

// MulFloats writes x·y into o, element by element (the kernel of Multiply).
func MulFloats(o, x, y []float32) { floatVV(backend.Multiply, o, x, y) }
