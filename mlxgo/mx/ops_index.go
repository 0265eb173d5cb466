package mx

// --- Take ---

type takePrim struct{ axis int }

func (p takePrim) Name() string { return "Take" }

func (p takePrim) Eval(in []*Array, out *Array) {
	a, idx := in[0].contiguous(), ints(in[1])
	es := a.dtype.Size()
	d := a.shape[p.axis]
	outer := numel(a.shape[:p.axis])
	inner := numel(a.shape[p.axis+1:]) * es
	out.alloc()
	src, dst := a.raw(), out.raw()
	for i, v := range idx {
		if v < 0 {
			v += int64(d)
		}
		if v < 0 || v >= int64(d) {
			panicf("Take", "index %d out of range for axis %d of shape %v", idx[i], p.axis, a.shape)
		}
		idx[i] = v
	}
	n := len(idx)
	for o := 0; o < outer; o++ {
		for j, v := range idx {
			copy(dst[(o*n+j)*inner:(o*n+j+1)*inner], src[(o*d+int(v))*inner:(o*d+int(v)+1)*inner])
		}
	}
}

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

func (p scatterAddPrim) Name() string { return "ScatterAdd" }

func (p scatterAddPrim) Eval(in []*Array, out *Array) {
	g, idx := floats(in[0]), ints(in[1])
	o, commit := outFloats(out)
	for i := range o {
		o[i] = 0
	}
	d := out.shape[p.axis]
	outer := numel(out.shape[:p.axis])
	inner := numel(out.shape[p.axis+1:])
	n := len(idx)
	for oi := 0; oi < outer; oi++ {
		for j, v := range idx {
			if v < 0 {
				v += int64(d)
			}
			dst := o[(oi*d+int(v))*inner : (oi*d+int(v)+1)*inner]
			src := g[(oi*n+j)*inner : (oi*n+j+1)*inner]
			for k := range dst {
				dst[k] += src[k]
			}
		}
	}
	commit()
}

func (p scatterAddPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{Take(g, in[1], p.axis), nil}
}

func scatterAddAxis(g, idx *Array, shape []int, axis int) *Array {
	return newArray(cloneInts(shape), g.dtype, scatterAddPrim{axis}, g, idx)
}

// --- TakeAlongAxis ---

type takeAlongPrim struct{ axis int }

func (p takeAlongPrim) Name() string { return "TakeAlongAxis" }

func (p takeAlongPrim) Eval(in []*Array, out *Array) {
	a, idx := in[0].contiguous(), ints(in[1])
	es := a.dtype.Size()
	d := a.shape[p.axis]
	m := out.shape[p.axis]
	outer := numel(out.shape[:p.axis])
	inner := numel(out.shape[p.axis+1:])
	out.alloc()
	src, dst := a.raw(), out.raw()
	for o := 0; o < outer; o++ {
		for j := 0; j < m; j++ {
			for k := 0; k < inner; k++ {
				pos := (o*m+j)*inner + k
				v := idx[pos]
				if v < 0 {
					v += int64(d)
				}
				if v < 0 || v >= int64(d) {
					panicf("TakeAlongAxis", "index %d out of range for axis %d of shape %v", idx[pos], p.axis, a.shape)
				}
				s := (o*d+int(v))*inner + k
				copy(dst[pos*es:(pos+1)*es], src[s*es:(s+1)*es])
			}
		}
	}
}

func (p takeAlongPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{newArray(cloneInts(in[0].shape), g.dtype, putAlongAddPrim{p.axis}, g, in[1]), nil}
}

type putAlongAddPrim struct{ axis int }

func (p putAlongAddPrim) Name() string { return "ScatterAddAlongAxis" }

func (p putAlongAddPrim) Eval(in []*Array, out *Array) {
	g, idx := floats(in[0]), ints(in[1])
	o, commit := outFloats(out)
	for i := range o {
		o[i] = 0
	}
	d := out.shape[p.axis]
	m := in[0].shape[p.axis]
	outer := numel(in[0].shape[:p.axis])
	inner := numel(in[0].shape[p.axis+1:])
	for oi := 0; oi < outer; oi++ {
		for j := 0; j < m; j++ {
			for k := 0; k < inner; k++ {
				pos := (oi*m+j)*inner + k
				v := idx[pos]
				if v < 0 {
					v += int64(d)
				}
				o[(oi*d+int(v))*inner+k] += g[pos]
			}
		}
	}
	commit()
}

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
