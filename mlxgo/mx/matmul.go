package mx

import "github.com/mlxgo/mlxgo/mlxgo/backend"

type matmulPrim struct{}

func (matmulPrim) Op() backend.Op { return backend.Matmul{} }

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
