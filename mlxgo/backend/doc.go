// Package backend is the vocabulary shared by the array package mx and the backends that
// execute its graphs, as MLX splits primitives.h from backend/cpu and backend/metal.
//
// mx holds the graph, the transforms and the op definitions (name, parameters, shape
// rule, VJP); a backend holds kernels. Between them sit only the types of this package:
//
//   - [Dtype], the element types.
//   - The op descriptors (ops.go): one exported struct per primitive, pure data — its
//     parameters as exported fields and a Name. A descriptor whose output shares its
//     first input's storage says so with IsView ([IsView]).
//   - [Storage]: memory owned by the backend that produced it, reference counted, with an
//     explicit host path: [HostStorage] maps host memory, [DeviceStorage] copies out.
//   - [Node]: what a kernel sees of an array (shape, dtype, strides, offset, storage), and
//     [Executor], which runs a tape of [Step]s — one kernel at a time (package cpu) or
//     the whole tape lowered at once (an MLX executor).
//   - A registry of executors by name ([Register], [Open], [Names]) so mx can pick one
//     from MLXGO_BACKEND without importing it by name.
//
// Ops defined outside mx (a fused loss in package nn, say) define their own descriptor
// type in their own package and register a CPU kernel for it with package cpu.
//
// This package imports nothing of mlxgo, so every backend and mx can import it.
package backend
