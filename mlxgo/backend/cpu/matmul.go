package cpu

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

func init() {
	Register(matmul)
}

// matView describes the last two axes of an evaluated float32 array for BLAS: its data
// from the view's offset, whether it is stored transposed, and its leading dimension.
type matView struct {
	data  []float32
	trans bool
	ld    int
	bst   []int // strides of the batch axes
	off   int
}

func asMatView(a *node) matView {
	if a.Dtype != backend.Float32 {
		a = floatArray(a)
	}
	n := a.Ndim()
	r, c := a.Shape[n-2], a.Shape[n-1]
	st := a.StridesOrDefault()
	s0, s1 := st[n-2], st[n-1]
	full := viewAs[float32](storageBytes(a))
	switch {
	case (s1 == 1 || c == 1) && s0 >= c && s0 > 0:
		return matView{data: full, ld: s0, bst: st[:n-2], off: a.Offset}
	case (s0 == 1 || r == 1) && s1 >= r && s1 > 0:
		return matView{data: full, trans: true, ld: s1, bst: st[:n-2], off: a.Offset}
	}
	c2 := contiguous(a)
	return matView{data: viewAs[float32](storageBytes(c2)), ld: c, bst: backend.RowMajorStrides(a.Shape)[:n-2], off: c2.Offset}
}

// floatArray returns an evaluated float32 copy of a.
func floatArray(a *node) *node {
	c := scratch(a.Shape, backend.Float32)
	copy(viewAs[float32](raw(c)), floats(a))
	return c
}

func matmul(_ backend.Matmul, in []*node, out *node) {
	a, b := in[0], in[1]
	n := out.Ndim()
	m, k, nn := a.Shape[a.Ndim()-2], a.Shape[a.Ndim()-1], b.Shape[b.Ndim()-1]
	va, vb := asMatView(a), asMatView(b)
	o, commit := outFloats(out)
	batch := out.Shape[:n-2]
	nb := backend.Numel(batch)
	if k == 0 {
		for i := range o {
			o[i] = 0
		}
		commit()
		return
	}
	// Fold a's batch axes into M when b has none and a is row-major over them.
	if b.Ndim() == 2 && !va.trans && nb > 1 && foldable(a.Shape, va) {
		blas.Sgemm(false, vb.trans, nb*m, nn, k, 1, va.data[va.off:], va.ld, vb.data[vb.off:], vb.ld, 0, o, nn)
		commit()
		return
	}
	ra := realBatchStrides(a.Shape[:a.Ndim()-2], batch, va.bst)
	rb := realBatchStrides(b.Shape[:b.Ndim()-2], batch, vb.bst)
	idx := make([]int, len(batch))
	for bi := 0; bi < nb; bi++ {
		oa, ob := va.off, vb.off
		for d := range idx {
			oa += idx[d] * ra[d]
			ob += idx[d] * rb[d]
		}
		blas.Sgemm(va.trans, vb.trans, m, nn, k, 1, va.data[oa:], va.ld, vb.data[ob:], vb.ld, 0, o[bi*m*nn:], nn)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	commit()
}

// foldable reports whether the batch axes of a row-major matrix view step exactly one
// matrix at a time, so the batch can be treated as extra rows.
func foldable(shape []int, v matView) bool {
	n := len(shape)
	expect := shape[n-2] * v.ld
	if v.ld != shape[n-1] {
		return false
	}
	for i := n - 3; i >= 0; i-- {
		if shape[i] != 1 && v.bst[i] != expect {
			return false
		}
		expect *= shape[i]
	}
	return true
}

func realBatchStrides(in, out, st []int) []int {
	r := make([]int, len(out))
	for i := range out {
		j := len(in) - len(out) + i
		if j >= 0 && in[j] != 1 {
			r[i] = st[j]
		}
	}
	return r
}
