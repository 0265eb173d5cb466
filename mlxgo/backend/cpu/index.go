package cpu

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(take)
	Register(scatterAdd)
	Register(takeAlong)
	Register(putAlongAdd)
}

func take(p backend.Take, in []*node, out *node) {
	a, idx := contiguous(in[0]), ints(in[1])
	es := a.Dtype.Size()
	d := a.Shape[p.Axis]
	outer := backend.Numel(a.Shape[:p.Axis])
	inner := backend.Numel(a.Shape[p.Axis+1:]) * es
	alloc(out)
	src, dst := raw(a), raw(out)
	for i, v := range idx {
		if v < 0 {
			v += int64(d)
		}
		if v < 0 || v >= int64(d) {
			panicf("Take", "index %d out of range for axis %d of shape %v", idx[i], p.Axis, a.Shape)
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

func scatterAdd(p backend.ScatterAdd, in []*node, out *node) {
	g, idx := floats(in[0]), ints(in[1])
	o, commit := outFloats(out)
	for i := range o {
		o[i] = 0
	}
	d := out.Shape[p.Axis]
	outer := backend.Numel(out.Shape[:p.Axis])
	inner := backend.Numel(out.Shape[p.Axis+1:])
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

func takeAlong(p backend.TakeAlongAxis, in []*node, out *node) {
	a, idx := contiguous(in[0]), ints(in[1])
	es := a.Dtype.Size()
	d := a.Shape[p.Axis]
	m := out.Shape[p.Axis]
	outer := backend.Numel(out.Shape[:p.Axis])
	inner := backend.Numel(out.Shape[p.Axis+1:])
	alloc(out)
	src, dst := raw(a), raw(out)
	for o := 0; o < outer; o++ {
		for j := 0; j < m; j++ {
			for k := 0; k < inner; k++ {
				pos := (o*m+j)*inner + k
				v := idx[pos]
				if v < 0 {
					v += int64(d)
				}
				if v < 0 || v >= int64(d) {
					panicf("TakeAlongAxis", "index %d out of range for axis %d of shape %v", idx[pos], p.Axis, a.Shape)
				}
				s := (o*d+int(v))*inner + k
				copy(dst[pos*es:(pos+1)*es], src[s*es:(s+1)*es])
			}
		}
	}
}

func putAlongAdd(p backend.ScatterAddAlongAxis, in []*node, out *node) {
	g, idx := floats(in[0]), ints(in[1])
	o, commit := outFloats(out)
	for i := range o {
		o[i] = 0
	}
	d := out.Shape[p.Axis]
	m := in[0].Shape[p.Axis]
	outer := backend.Numel(in[0].Shape[:p.Axis])
	inner := backend.Numel(in[0].Shape[p.Axis+1:])
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
