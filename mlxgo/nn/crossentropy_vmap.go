package nn

import mx "github.com/mlxgo/mlxgo/mlxgo/mx"

// Batching rules (mx.Batcher) of the fused cross-entropy and SwiGLU, so losses and
// models built on them work under mx.Vmap: for the cross-entropy the mapped axis is
// folded into the kernel's row axis.

// Vmap is CrossEntropy's batching rule.
func (p crossEntropyPrim) Vmap(ins []*mx.Array, axes []int, out *mx.Array) (*mx.Array, int) {
	f, n := foldRows(ins, axes)
	return mx.Reshape(mx.NewArray([]int{f[1].Dim(0)}, out.Dtype(), p, f...), n, out.Dim(0)), 0
}

// Vmap is the batching rule of CrossEntropy's backward kernel.
func (p crossEntropyGradPrim) Vmap(ins []*mx.Array, axes []int, out *mx.Array) (*mx.Array, int) {
	f, n := foldRows(ins, axes)
	r := mx.NewArray(append([]int(nil), f[0].Shape()...), out.Dtype(), p, f...)
	return mx.Reshape(r, n, out.Dim(0), out.Dim(1)), 0
}

// foldRows returns the inputs (rows first: logits (N, V), then per-row arrays (N)) with
// the mapped axis moved first — unmapped inputs broadcast along it — and merged into the
// row axis, and the size of the mapped axis.
func foldRows(ins []*mx.Array, axes []int) ([]*mx.Array, int) {
	out := alignMapped(ins, axes)
	n := out[0].Dim(0)
	for i, x := range out {
		out[i] = mx.Flatten(x, 0, 1)
	}
	return out, n
}

// Vmap is SwiGLU's batching rule: the inputs' mapped axes go first (an unmapped input is
// broadcast along it), and the op runs on the whole.
func (p swigluPrim) Vmap(ins []*mx.Array, axes []int, out *mx.Array) (*mx.Array, int) {
	a := alignMapped(ins, axes)
	return mx.NewArray(append([]int(nil), a[0].Shape()...), out.Dtype(), p, a...), 0
}

// Vmap is the batching rule of SwiGLU's backward kernel: the mapped axis comes after
// the axis of the two gradients.
func (p swigluGradPrim) Vmap(ins []*mx.Array, axes []int, out *mx.Array) (*mx.Array, int) {
	a := alignMapped(ins, axes)
	return mx.NewArray(append([]int{2}, a[0].Shape()...), out.Dtype(), p, a...), 1
}

// alignMapped returns inputs of one shape with the mapped axis moved first, unmapped
// inputs broadcast along it.
func alignMapped(ins []*mx.Array, axes []int) []*mx.Array {
	n := 0
	for i, ax := range axes {
		if ax != mx.Unmapped {
			n = ins[i].Dim(ax)
		}
	}
	out := make([]*mx.Array, len(ins))
	for i, x := range ins {
		if axes[i] == mx.Unmapped {
			out[i] = mx.BroadcastTo(mx.ExpandDims(x, 0), append([]int{n}, x.Shape()...)...)
		} else {
			out[i] = mx.MoveAxis(x, axes[i], 0)
		}
	}
	return out
}
