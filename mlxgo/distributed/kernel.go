package distributed

import (
	"sync/atomic"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// This file is the one place that knows how a collective becomes an op of the graph.
//
// mx does not export a way to define a new primitive yet, and a kernel cannot read its
// input's data through mx's public API (that takes Eval's lock), so for now the
// communication happens when the op is built: x's value is computed (through a
// StopGradient copy, so that x keeps its graph for the backward pass; x's graph then runs
// again when the result is evaluated) and combined on the host. The result rides on
// mx.Checkpoint, whose node calls a Go function when evaluated and differentiates that
// function's graph: the shape probe and the backward pass, whose inputs are unevaluated,
// get diff(x); the evaluation gets the combined value. When mx exports an op definition
// (a descriptor, a CPU kernel and a VJP), this file becomes that definition, lazy, and
// nothing else changes.

// allSumArray is AllSum of a float32, int32 or int64 array in a group of several ranks.
// Its VJP passes the cotangent through.
func allSumArray(x *mx.Array) *mx.Array {
	return collective(x, func(v *mx.Array) *mx.Array {
		send := v.Bytes()
		recv := make([]byte, len(send))
		sumBytes(send, recv, v.Dtype())
		return mx.FromBytes(recv, v.Shape(), v.Dtype())
	}, func(x *mx.Array) *mx.Array { return x })
}

// allGatherArray is AllGather of an array of at least one dimension in a group of several
// ranks. Its VJP is this rank's slice of the cotangent.
func allGatherArray(x *mx.Array, rank, size int) *mx.Array {
	return collective(x, func(v *mx.Array) *mx.Array {
		send := v.Bytes()
		recv := make([]byte, len(send)*size)
		gatherBytes(send, recv)
		return mx.FromBytes(recv, append([]int{v.Dim(0) * size}, v.Shape()[1:]...), v.Dtype())
	}, func(x *mx.Array) *mx.Array {
		// x in this rank's slot, zeros elsewhere: the gradient with respect to x is
		// this rank's slice.
		parts := make([]*mx.Array, size)
		for i := range parts {
			parts[i] = mx.ZerosLike(x)
		}
		parts[rank] = x
		return mx.Concatenate(parts, 0)
	})
}

// collective returns host(x) as an array of the graph differentiated as diff(x).
func collective(x *mx.Array, host, diff func(*mx.Array) *mx.Array) *mx.Array {
	v := x
	if !x.Evaluated() {
		v = mx.StopGradient(x)
		mx.Eval(v)
	}
	r := host(v)
	var calls atomic.Int32
	f := func(in []*mx.Array) *mx.Array {
		if calls.Add(1) == 1 || !in[0].Evaluated() {
			return diff(in[0])
		}
		return r
	}
	return mx.Checkpoint(f)([]*mx.Array{x})
}
