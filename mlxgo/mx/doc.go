// Package mx is the array framework of mlxgo: Apple MLX's programming model in Go.
//
// Import it as
//
//	import mx "github.com/mlxgo/mlxgo/mlxgo/mx"
//
// # Laziness
//
// Every operation returns an *Array that records its shape, dtype, the primitive that
// produces it and its inputs — and no data. Nothing runs until [Eval] is called on it (or
// something that needs its values: [Array.Item], [Array.Float32s], printing, saving).
// Eval walks the graph once, runs the kernels in topological order on the current
// [Backend], keeps the values of the arrays it was given and detaches them (drops their
// primitive and inputs) so the step's graph can be freed. Intermediate arrays it did not
// have to keep are released as soon as their last consumer has run; if you ask for one of
// them later it is recomputed from its inputs.
//
// # Backends
//
// mx holds the graph, the transforms and the op definitions; kernels live in backend
// packages, as MLX splits primitives.h from backend/cpu and backend/metal. A [Primitive]
// is an op descriptor of package backend (name and parameters, pure data) plus its VJP.
// At Eval the tape of descriptors goes to the current [Backend] — the CPU backend
// (package backend/cpu) unless MLXGO_BACKEND names another linked-in one or [SetBackend]
// switches — which may run it kernel by kernel or lower it whole. An evaluated array's
// storage belongs to the backend that computed it; [Array.HostBytes] is the one way to
// its bytes on the host (the memory itself for host storage, a copy for a device's).
// Ops defined outside mx enter the graph through [NewArray] (see package nn's fused
// cross-entropy).
//
// # Function transformations
//
// [Grad], [ValueAndGrad], [VJP], [JVP] and [Checkpoint] take Go functions and return
// functions. Gradients are lazy arrays too, built from each primitive's vector-Jacobian
// product; there are no .grad fields, no Backward and no zeroing. [Vmap] vectorises a
// function over an axis of its arguments by replaying its graph with each primitive's
// batching rule ([Batcher]); it composes with Grad both ways (per-example gradients).
//
// # Errors
//
// Shape and dtype mistakes in array code panic with a message naming the op, the shapes and
// the caller's file:line, as MLX raises. Everything that touches files returns an error
// naming the file and the tensor or key at fault.
//
// # Concurrency
//
// Any number of goroutines may build and evaluate graphs at once: Eval (and AsyncEval,
// Item, printing...) runs one evaluation at a time behind one lock, and the kernels
// spread each op over the cores. Arrays that are already evaluated — model parameters,
// loaded weights — may be shared read-only by every goroutine, as inputs of their
// graphs and of their gradients. Arrays are immutable; there is nothing to lock.
//
// An unevaluated array must not be shared while another goroutine may evaluate a graph
// that contains it: evaluation writes the arrays it computes (their data, and it detaches
// the ones it keeps). Evaluate arrays before handing them to other goroutines. What is
// detected: [Array.Evaluated], [Array.Inputs], [Array.Primitive] and [Array.Retain]
// wait for a running evaluation that computes their array, and the transforms ([Grad],
// [VJP]...) panic, naming the op and shape, when their graph goes through an array an
// evaluation running now computes (it would otherwise see it half detached and give wrong
// gradients).
//
// # Determinism
//
// Kernels split parallel work in a fixed way, so the same inputs give the same bits on every
// run whatever the goroutine scheduling.
package mx
