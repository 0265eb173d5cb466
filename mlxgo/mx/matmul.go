package mx

import "github.com/mlxgo/mlxgo/mlxgo/backend/blas"

type matmulPrim struct{}

func (matmulPrim) Name() string { return "Matmul" }

// matView describes the last two axes of an evaluated float32 array for BLAS: its data
// from the view's offset, whether it is stored transposed, and its leading dimension.
type matView struct {
	data  []float32
	trans bool
	ld    int
	bst   []int // strides of the batch axes
	off   int
}

func asMatView(a *Array) matView {
	if a.dtype != Float32 {
		a = floatArray(a)
	}
	n := a.Ndim()
	r, c := a.shape[n-2], a.shape[n-1]
	st := a.stridesOrDefault()
	s0, s1 := st[n-2], st[n-1]
	full := viewAs[float32](a.slot.buf.bytes)
	switch {
	case (s1 == 1 || c == 1) && s0 >= c && s0 > 0:
		return matView{data: full, ld: s0, bst: st[:n-2], off: a.offset}
	case (s0 == 1 || r == 1) && s1 >= r && s1 > 0:
		return matView{data: full, trans: true, ld: s1, bst: st[:n-2], off: a.offset}
	}
	c2 := a.contiguous()
	return matView{data: viewAs[float32](c2.slot.buf.bytes), ld: c, bst: rowMajorStrides(a.shape)[:n-2], off: c2.offset}
}

// floatArray returns an evaluated float32 copy of a.
func floatArray(a *Array) *Array {
	c := scratch(a.shape, Float32)
	copy(viewAs[float32](c.raw()), floats(a))
	return c
}

func (matmulPrim) Eval(in []*Array, out *Array) {
	a, b := in[0], in[1]
	n := out.Ndim()
	m, k, nn := a.shape[a.Ndim()-2], a.shape[a.Ndim()-1], b.shape[b.Ndim()-1]
	va, vb := asMatView(a), asMatView(b)
	o, commit := outFloats(out)
	batch := out.shape[:n-2]
	nb := numel(batch)
	if k == 0 {
		for i := range o {
			o[i] = 0
		}
		commit()
		return
	}
	// Fold a's batch axes into M when b has none and a is row-major over them.
	if b.Ndim() == 2 && !va.trans && nb > 1 && foldable(a.shape, va) {
		blas.Sgemm(false, vb.trans, nb*m, nn, k, 1, va.data[va.off:], va.ld, vb.data[vb.off:], vb.ld, 0, o, nn)
		commit()
		return
	}
	ra := realBatchStrides(a.shape[:a.Ndim()-2], batch, va.bst)
	rb := realBatchStrides(b.shape[:b.Ndim()-2], batch, vb.bst)
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

func (matmulPrim) VJP(in []*Array, _, g *Array) []*Array {
	a, b := in[0], in[1]
	ga := Matmul(g, SwapAxes(b, -1, -2))
	var gb *Array
	if b.Ndim() == 2 && a.Ndim() > 2 {
		k, n := a.shape[a.Ndim()-1], g.shape[g.Ndim()-1]
		gb = Matmul(Transpose(Reshape(a, -1, k)), Reshape(g, -1, n))
	} else {
		gb = Matmul(SwapAxes(a, -1, -2), g)
	}
	return []*Array{sumToShape(ga, a.shape), sumToShape(gb, b.shape)}
}

// Matmul returns the matrix product a @ b with NumPy semantics: 1-D operands are
// promoted to matrices and the batch axes broadcast.
func Matmul(a, b *Array) *Array {
	if a.Ndim() == 0 || b.Ndim() == 0 {
		panicf("Matmul", "operands must have at least one dimension, got shapes %v and %v", a.shape, b.shape)
	}
	if a.Ndim() == 1 {
		return Squeeze(Matmul(Reshape(a, 1, a.shape[0]), b), -2)
	}
	if b.Ndim() == 1 {
		return Squeeze(Matmul(a, Reshape(b, b.shape[0], 1)), -1)
	}
	if a.shape[a.Ndim()-1] != b.shape[b.Ndim()-2] {
		panicf("Matmul", "inner dimensions differ: shapes %v and %v", a.shape, b.shape)
	}
	dt := PromoteTypes(a.dtype, b.dtype)
	if !dt.IsFloat() {
		panicf("Matmul", "needs floating-point operands, got %s and %s", a.dtype, b.dtype)
	}
	batch := broadcastShapes("Matmul", a.shape[:a.Ndim()-2], b.shape[:b.Ndim()-2])
	shape := append(cloneInts(batch), a.shape[a.Ndim()-2], b.shape[b.Ndim()-1])
	return newArray(shape, dt, matmulPrim{}, a, b)
}

// Matmul returns a @ b.
func (a *Array) Matmul(b *Array) *Array { return Matmul(a, b) }

// Addmm returns alpha * (a @ b) + beta * c.
func Addmm(c, a, b *Array, alpha, beta float64) *Array {
	p := Matmul(a, b)
	if alpha != 1 {
		p = Multiply(p, alpha)
	}
	if beta == 0 {
		return p
	}
	if beta != 1 {
		c = Multiply(c, beta)
	}
	return Add(p, c)
}
