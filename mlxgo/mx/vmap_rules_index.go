package mx

// Batching rules of the indexing primitives and of Matmul.

// Vmap is Take's batching rule. With mapped indices into a mapped array, every index's
// slice of the array is addressed through one flattened axis.
func (p takePrim) Vmap(ins []*Array, axes []int, _ *Array) (*Array, int) {
	a, idx := ins[0], ins[1]
	ax, iax := axes[0], axes[1]
	switch {
	case iax == Unmapped:
		axis := p.axis
		if ax <= axis {
			axis++
		}
		r := Take(a, idx, axis)
		if ax < axis {
			return r, ax
		}
		return r, ax - 1 + idx.Ndim()
	case ax == Unmapped:
		return Take(a, idx, p.axis), p.axis + iax
	}
	a = front(a, ax)
	n, size := a.shape[0], a.shape[p.axis+1]
	g := Take(flattenMapped(a, p.axis+1), flatIndices(front(idx, iax), n, size), 0)
	// g is (n, I..., pre..., post...); the result is (n, pre..., I..., post...).
	ni, npre := idx.Ndim()-1, p.axis
	perm := append([]int{0}, seq(1+ni, 1+ni+npre)...)
	perm = append(perm, seq(1, 1+ni)...)
	return Transpose(g, append(perm, seq(1+ni+npre, g.Ndim())...)...), 0
}

// Vmap is ScatterAdd's batching rule (the transpose of Take's).
func (p scatterAddPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	if axes[1] == Unmapped {
		return scatterAddAxis(front(ins[0], axes[0]), ins[1], insertAxis(out.shape, 0, n), p.axis+1), 0
	}
	fr := frontAll(ins, axes, n)
	g, idx := fr[0], fr[1]
	size := out.shape[p.axis]
	// g is (n, pre..., I..., post...); the flattened scatter wants (n, I..., pre..., post...).
	ni, npre := idx.Ndim()-1, p.axis
	perm := append([]int{0}, seq(1+npre, 1+npre+ni)...)
	perm = append(perm, seq(1, 1+npre)...)
	g = Transpose(g, append(perm, seq(1+npre+ni, g.Ndim())...)...)
	rest := append(cloneInts(out.shape[:p.axis]), out.shape[p.axis+1:]...)
	flat := scatterAddAxis(Reshape(g, append([]int{idx.Size()}, g.shape[1+ni:]...)...),
		Reshape(flatIndices(idx, n, size), -1), append([]int{n * size}, rest...), 0)
	return MoveAxis(Reshape(flat, append([]int{n, size}, rest...)...), 1, p.axis+1), 0
}

// Vmap is TakeAlongAxis's batching rule: array and indices both get the mapped axis first.
func (p takeAlongPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	return newArray(insertAxis(out.shape, 0, n), out.dtype, takeAlongPrim{p.axis + 1}, frontAll(ins, axes, n)...), 0
}

// Vmap is the batching rule of TakeAlongAxis's transpose.
func (p putAlongAddPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	return newArray(insertAxis(out.shape, 0, n), out.dtype, putAlongAddPrim{p.axis + 1}, frontAll(ins, axes, n)...), 0
}

// seq returns lo, lo+1, ..., hi-1.
func seq(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

// flattenMapped takes a, mapped first, moves its axis next to the mapped one and merges
// the two: (n·a.shape[axis], other axes...).
func flattenMapped(a *Array, axis int) *Array {
	m := MoveAxis(a, axis, 1)
	return Reshape(m, append([]int{m.shape[0] * m.shape[1]}, m.shape[2:]...)...)
}

// flatIndices turns idx, mapped first, into indices of the merged axis of flattenMapped:
// index j of row b becomes b·size + j (a negative j counts from the end of its row).
func flatIndices(idx *Array, n, size int) *Array {
	if idx.dtype != Uint32 && idx.dtype != Uint8 && idx.dtype != Bool {
		idx = Where(Less(idx, 0), Add(idx, size), idx)
	}
	offsets := AsType(Multiply(Arange(0, float64(n), 1), float64(size)), idx.dtype)
	shape := []int{n}
	for range idx.Ndim() - 1 {
		shape = append(shape, 1)
	}
	return Add(idx, Reshape(offsets, shape...))
}

// Vmap is Matmul's batching rule. A mapped left operand times an unmapped matrix keeps
// its mapped axis in place (a batch or row axis of one matrix product); otherwise
// mapped operands get the mapped axis first as a batch axis.
func (matmulPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	a, b := ins[0], ins[1]
	if axes[1] == Unmapped && b.Ndim() == 2 && axes[0] < a.Ndim()-1 {
		return Matmul(a, b), axes[0]
	}
	for i, x := range ins {
		if axes[i] != Unmapped {
			ins[i] = padFront(front(x, axes[i]), out.Ndim())
		}
	}
	return Matmul(ins[0], ins[1]), 0
}
