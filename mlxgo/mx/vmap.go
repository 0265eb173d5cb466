package mx

import (
	"fmt"
	"reflect"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// Unmapped, as an entry of Vmap's inAxes, marks an argument that is not mapped over: every
// application of the function sees it whole (MLX's in_axes=None). As an entry of outAxes it
// says that output does not depend on the mapped arguments and comes back as it is.
const Unmapped = -1

// Batcher is the batching rule of a primitive: how Vmap computes the primitive on inputs
// that carry one extra, mapped axis. Every primitive of package mx implements it;
// primitives defined elsewhere (NewArray) implement it to be usable under Vmap, and Vmap
// panics naming the op of any primitive that does not.
type Batcher interface {
	// Vmap returns the primitive's output computed for every index of the mapped axis at
	// once, and the position of that axis in it. inputs are the primitive's inputs with
	// their mapped axis at axes[i] (Unmapped when input i is the same for every index);
	// at least one input is mapped. out is the primitive's output as traced on one
	// index (its shape and dtype are what one index yields).
	Vmap(inputs []*Array, axes []int, out *Array) (*Array, int)
}

// Vmap returns the vectorising map of f: a function that computes f on every index along
// a mapped axis of its arguments at once and stacks the results along outAxes, as MLX's
// mx.vmap. f takes and returns pytrees of arrays, as Grad's functions do, so the two
// compose both ways: Vmap(Grad(loss), ...) gives per-example gradients, and Grad of a
// function that calls a vmapped one differentiates through the batched computation.
//
// inAxes has one entry per argument: the axis of every array leaf of that argument that
// is mapped over, or Unmapped; nil maps axis 0 of every argument. Axes count from 0
// (Unmapped is -1, so the last axis is written as its index). All mapped axes must have
// the same size n. outAxes says where the mapped axis goes in each output leaf: nil puts
// it first in every leaf, one entry applies to every leaf, and when f returns a slice
// ([]*Array or []any) one entry per element applies to that element's leaves. An output
// that does not depend on the mapped arguments is broadcast along its out axis (or
// returned as is for Unmapped).
//
// Vmap works as MLX's does: it calls f once on placeholder arguments that lack the mapped
// axis and hold no values, then replays the graph f built, applying each primitive's
// batching rule (Batcher), so the result is one batched computation and f runs once
// whatever n is. f must therefore not read the values of arrays that depend on its mapped
// arguments (evaluating one panics, saying so). Random numbers f draws from a key that
// is not mapped (the global key included: dropout) are the same for every index, as in
// MLX; draw them outside f and map them in when each index needs its own. Go values in
// the arguments other than arrays are passed to f unchanged. Vmap nests (a vmapped function may itself be vmapped)
// and composes with VJP and JVP as with Grad (Jacobians row by row or column by column).
// VmapArrays is the same transformation for functions of a list of arrays.
func Vmap(f func(args ...any) any, inAxes, outAxes []int) func(args ...any) any {
	return func(args ...any) any {
		axes := inAxes
		if axes == nil {
			axes = make([]int, len(args))
		}
		if len(axes) != len(args) {
			panicf("Vmap", "%d in axes for %d arguments", len(axes), len(args))
		}
		var ins []*Array
		var leafAxes []int
		var names []string
		for i, a := range args {
			for j, x := range leaves(a) {
				ins = append(ins, x)
				leafAxes = append(leafAxes, axes[i])
				names = append(names, fmt.Sprintf("array %d of argument %d", j, i))
			}
		}
		tr := newVmapTrace(ins, leafAxes, func(k int) string { return names[k] })
		traced := make([]any, len(args))
		k := 0
		for i, a := range args {
			n := len(leaves(a))
			traced[i] = replaceLeaves(a, tr.placeholders[k:k+n])
			k += n
		}
		out := f(traced...)
		outs := leaves(out)
		return replaceLeaves(out, tr.replay(outs, outLeafAxes(out, outAxes, len(outs))))
	}
}

// leaves returns the array leaves of the pytree v in MapArrays's order.
func leaves(v any) []*Array {
	var out []*Array
	MapArrays(v, func(a *Array) *Array { out = append(out, a); return a })
	return out
}

// replaceLeaves returns a copy of the pytree v whose array leaves are arrs, in order.
func replaceLeaves(v any, arrs []*Array) any {
	i := 0
	return MapArrays(v, func(*Array) *Array { i++; return arrs[i-1] })
}

// VmapArrays is Vmap for a function of a list of arrays, the form of MLX's C++ vmap:
// inAxes has one entry per input, outAxes one per output (nil: all 0).
func VmapArrays(f func(inputs []*Array) []*Array, inAxes, outAxes []int) func(inputs []*Array) []*Array {
	return func(inputs []*Array) []*Array {
		axes := inAxes
		if axes == nil {
			axes = make([]int, len(inputs))
		}
		if len(axes) != len(inputs) {
			panicf("Vmap", "%d in axes for %d inputs", len(axes), len(inputs))
		}
		tr := newVmapTrace(inputs, axes, inputName)
		outs := f(tr.placeholders)
		oax := outAxes
		if oax == nil {
			oax = make([]int, len(outs))
		}
		if len(oax) != len(outs) {
			panicf("Vmap", "%d out axes for %d outputs", len(oax), len(outs))
		}
		return tr.replay(outs, oax)
	}
}

// outLeafAxes expands outAxes to one axis per array leaf of out.
func outLeafAxes(out any, outAxes []int, nleaves int) []int {
	res := make([]int, 0, nleaves)
	switch {
	case outAxes == nil:
		return make([]int, nleaves)
	case len(outAxes) == 1:
		for range nleaves {
			res = append(res, outAxes[0])
		}
		return res
	}
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Slice && v.Len() == len(outAxes) {
		for i := range v.Len() {
			for range leaves(v.Index(i).Interface()) {
				res = append(res, outAxes[i])
			}
		}
		return res
	}
	panicf("Vmap", "%d out axes for a result of type %T (give one axis, or one per element of a returned slice)", len(outAxes), out)
	return nil
}

func inputName(i int) string { return fmt.Sprintf("input %d", i) }

// vmapTrace holds the placeholders f is traced on and what they stand for.
type vmapTrace struct {
	inputs       []*Array
	axes         []int
	size         int
	placeholders []*Array
}

// newVmapTrace checks the mapped axes and makes one placeholder per input: an array of
// the input's shape without its mapped axis, which has no values, or the input itself
// when it is not mapped. name(i) names input i in errors.
func newVmapTrace(inputs []*Array, axes []int, name func(int) string) *vmapTrace {
	tr := &vmapTrace{inputs: inputs, axes: axes, size: -1}
	for i, x := range inputs {
		ax := axes[i]
		if ax == Unmapped {
			tr.placeholders = append(tr.placeholders, x)
			continue
		}
		if ax < 0 || ax >= x.Ndim() {
			panicf("Vmap", "in axis %d is out of range for %s, of shape %v", ax, name(i), x.shape)
		}
		if tr.size >= 0 && x.shape[ax] != tr.size {
			panicf("Vmap", "mapped axes differ in size: %d and %d (%s, of shape %v, axis %d)", tr.size, x.shape[ax], name(i), x.shape, ax)
		}
		tr.size = x.shape[ax]
		tr.placeholders = append(tr.placeholders, newArray(cloneInts(append(x.shape[:ax:ax], x.shape[ax+1:]...)), x.dtype, placeholderPrim{}, x))
	}
	if tr.size < 0 {
		panicf("Vmap", "no argument is mapped: at least one in axis must not be Unmapped")
	}
	return tr
}

// placeholderPrim stands for one index of a mapped input (its only input) while a
// vmapped function is traced. It has no kernel: evaluating an array that depends on it
// fails with the message of its op's name.
type placeholderPrim struct{}

// vmapPlaceholder is placeholderPrim's descriptor.
type vmapPlaceholder struct{}

// Name says what went wrong when an executor meets a placeholder.
func (vmapPlaceholder) Name() string {
	return "VmapPlaceholder (an array that depends on a vmapped function's mapped inputs cannot be evaluated inside the function; keep it lazy)"
}

func (placeholderPrim) Op() backend.Op { return vmapPlaceholder{} }

func (placeholderPrim) VJP([]*Array, *Array, *Array) []*Array {
	panicf("Vmap", "cannot differentiate, inside a vmapped function, with respect to an array it did not receive as an argument")
	return nil
}

// batched is an array of the batched graph and the position of its mapped axis
// (Unmapped when it is the same for every index).
type batched struct {
	a    *Array
	axis int
}

// replay rebuilds outs, traced on the placeholders, as batched arrays with the mapped
// axis at outAxes.
func (tr *vmapTrace) replay(outs []*Array, outAxes []int) []*Array {
	memo := map[*Array]batched{}
	for i, p := range tr.placeholders {
		if tr.axes[i] != Unmapped {
			memo[p] = batched{tr.inputs[i], tr.axes[i]}
		}
	}
	res := make([]*Array, len(outs))
	for i, o := range outs {
		b := tr.visit(o, memo)
		ax := outAxes[i]
		switch {
		case b.axis == Unmapped && ax == Unmapped:
			res[i] = o
		case ax == Unmapped:
			panicf("Vmap", "output %d (shape %v) depends on the mapped inputs but its out axis is Unmapped", i, o.shape)
		case ax < 0 || ax > o.Ndim():
			panicf("Vmap", "out axis %d is out of range for output %d of shape %v (plus the mapped axis)", ax, i, o.shape)
		case b.axis == Unmapped:
			shape := cloneInts(o.shape)
			shape = append(shape[:ax], append([]int{tr.size}, shape[ax:]...)...)
			res[i] = BroadcastTo(ExpandDims(o, ax), shape...)
		default:
			res[i] = b.a
			if b.axis != ax {
				res[i] = MoveAxis(b.a, b.axis, ax)
			}
		}
	}
	return res
}

// visit returns the batched form of a, applying batching rules to the graph below it.
func (tr *vmapTrace) visit(a *Array, memo map[*Array]batched) batched {
	if b, ok := memo[a]; ok {
		return b
	}
	b := batched{a, Unmapped}
	if a.prim != nil {
		ins := make([]*Array, len(a.inputs))
		axes := make([]int, len(a.inputs))
		mapped := false
		for i, in := range a.inputs {
			bi := tr.visit(in, memo)
			ins[i], axes[i] = bi.a, bi.axis
			mapped = mapped || bi.axis != Unmapped
		}
		if mapped {
			b = applyRule(a, ins, axes)
		}
	}
	memo[a] = b
	return b
}

// applyRule calls the batching rule of a's primitive and checks what it returns.
func applyRule(a *Array, ins []*Array, axes []int) batched {
	r, ok := a.prim.(Batcher)
	if !ok {
		panicf("Vmap", "no batching rule for %s (primitive %T): it cannot be vmapped", a.prim.Op().Name(), a.prim)
	}
	out, ax := r.Vmap(ins, axes, a)
	if ax == Unmapped {
		return batched{out, ax}
	}
	if out.Ndim() != a.Ndim()+1 || ax < 0 || ax > a.Ndim() || out.dtype != a.dtype {
		panic(fmt.Sprintf("mx.Vmap: internal: batching rule of %s gave shape %v %s with axis %d for an output of shape %v %s", a.prim.Op().Name(), out.shape, out.dtype, ax, a.shape, a.dtype))
	}
	return batched{out, ax}
}

// vmapFunc applies the batched form of f to inputs mapped at axes and returns its
// outputs with the mapped axis first; rules of fused primitives use it on their
// composite form.
func vmapFunc(f func([]*Array) []*Array, inputs []*Array, axes []int) []*Array {
	tr := newVmapTrace(inputs, axes, inputName)
	outs := f(tr.placeholders)
	return tr.replay(outs, make([]int, len(outs)))
}
