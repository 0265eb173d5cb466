package nn

import mx "github.com/mlxgo/mlxgo/mlxgo/mx"

// Batching rules (mx.Batcher) of the fused cross-entropy, so losses built on it work
// under mx.Vmap: the mapped axis is folded into the kernel's row axis.

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
	n := 0
	for i, ax := range axes {
		if ax != mx.Unmapped {
			n = ins[i].Dim(ax)
		}
	}
	out := make([]*mx.Array, len(ins))
	for i, x := range ins {
		if axes[i] == mx.Unmapped {
			x = mx.BroadcastTo(mx.ExpandDims(x, 0), append([]int{n}, x.Shape()...)...)
		} else {
			x = mx.MoveAxis(x, axes[i], 0)
		}
		out[i] = mx.Flatten(x, 0, 1)
	}
	return out, n
}
