package mx

import "github.com/mlxgo/mlxgo/mlxgo/backend"

// --- Take ---

type takePrim struct{ axis int }

func (p takePrim) Op() backend.Op { return backend.Take{Axis: p.axis} }

func (p takePrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{scatterAddAxis(g, in[1], in[0].shape, p.axis), nil}
}

// Take gathers slices of a along axis at the integer indices; the result's shape is
// a.shape[:axis] + indices.shape + a.shape[axis+1:].
func Take(a, indices *Array, axis int) *Array {
	axis = normAxis("Take", axis, a.Ndim())
	if indices.dtype.IsFloat() {
		panicf("Take", "indices must be integers, got %s indices of shape %v for an array of shape %v", indices.dtype, indices.shape, a.shape)
	}
	shape := append(cloneInts(a.shape[:axis]), indices.shape...)
	shape = append(shape, a.shape[axis+1:]...)
	return newArray(shape, a.dtype, takePrim{axis}, a, indices)
}

// scatterAddPrim adds slices of g into zeros of shape at the indices along axis: the
// transpose of Take.
type scatterAddPrim struct{ axis int }

func (p scatterAddPrim) Op() backend.Op { return backend.ScatterAdd{Axis: p.axis} }

func (p scatterAddPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{Take(g, in[1], p.axis), nil}
}

func scatterAddAxis(g, idx *Array, shape []int, axis int) *Array {
	return newArray(cloneInts(shape), g.dtype, scatterAddPrim{axis}, g, idx)
}

// --- TakeAlongAxis ---

type takeAlongPrim struct{ axis int }

func (p takeAlongPrim) Op() backend.Op { return backend.TakeAlongAxis{Axis: p.axis} }

func (p takeAlongPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{newArray(cloneInts(in[0].shape), g.dtype, putAlongAddPrim{p.axis}, g, in[1]), nil}
}

type putAlongAddPrim struct{ axis int }

func (p putAlongAddPrim) Op() backend.Op { return backend.ScatterAddAlongAxis{Axis: p.axis} }

func (p putAlongAddPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{TakeAlongAxis(g, in[1], p.axis), nil}
}

// TakeAlongAxis picks, along axis, the elements of a at indices; indices has a's rank
// and broadcasts against a on the other axes.
func TakeAlongAxis(a, indices *Array, axis int) *Array {
	axis = normAxis("TakeAlongAxis", axis, a.Ndim())
	if indices.Ndim() != a.Ndim() {
		panicf("TakeAlongAxis", "indices of shape %v need the rank of a, shape %v", indices.shape, a.shape)
	}
	ashape, ishape := cloneInts(a.shape), cloneInts(indices.shape)
	ashape[axis], ishape[axis] = 1, 1
	b := broadcastShapes("TakeAlongAxis", ashape, ishape)
	as := cloneInts(b)
	as[axis] = a.shape[axis]
	is := cloneInts(b)
	is[axis] = indices.shape[axis]
	a = BroadcastTo(a, as...)
	indices = BroadcastTo(indices, is...)
	return newArray(is, a.dtype, takeAlongPrim{axis}, a, indices)
}
