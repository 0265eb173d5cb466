package distributed

import (
	"sync/atomic"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// collective returns host(x) — x's value combined across ranks — as an array of the graph
// that is differentiated as diff(x), a graph of public ops with the collective's shape and
// VJP.
//
// This is the one place that knows how a collective becomes an op of the graph. mx does not
// export a way to define a new primitive yet, and a kernel cannot read its input's data
// through mx's public API (that takes Eval's lock), so for now the communication happens
// here, when the op is built: x's value is computed (through a StopGradient copy, so that x
// keeps its graph for the backward pass; x's graph then runs again when the result is
// evaluated) and combined on the host. The result rides on mx.Checkpoint, whose node calls a
// Go function when evaluated and differentiates that function's graph: the shape probe and
// the backward pass, whose inputs are unevaluated, get diff(x); the evaluation gets the
// combined value. When mx exports an op definition (a descriptor, a CPU kernel and a VJP),
// this file becomes that definition, lazy, and nothing else changes.
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
