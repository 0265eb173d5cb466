package cpu

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(reshape)
	Register(transpose)
	Register(broadcast)
	Register(slice)
	Register(sliceUpdate)
	Register(concat)
}

// reshape views a row-major input; it copies any other into pool memory (not the Go
// heap), so the copy is reused from step to step and counted as active memory.
func reshape(_ backend.Reshape, in []*node, out *node) {
	a := in[0]
	if a.IsContiguous() {
		setView(out, a, nil, a.Offset)
		return
	}
	alloc(out)
	copyStrided(raw(out), a)
}

func transpose(p backend.Transpose, in []*node, out *node) {
	st := in[0].StridesOrDefault()
	ns := make([]int, len(p.Perm))
	for i, ax := range p.Perm {
		ns[i] = st[ax]
	}
	setView(out, in[0], ns, in[0].Offset)
}

func broadcast(_ backend.BroadcastTo, in []*node, out *node) {
	a := in[0]
	st := a.StridesOrDefault()
	ns := make([]int, len(out.Shape))
	lead := len(out.Shape) - len(a.Shape)
	for i := range a.Shape {
		if a.Shape[i] != 1 {
			ns[lead+i] = st[i]
		}
	}
	setView(out, a, ns, a.Offset)
}

func slice(p backend.Slice, in []*node, out *node) {
	a := in[0]
	st := a.StridesOrDefault()
	ns := make([]int, len(st))
	off := a.Offset
	for i := range st {
		off += p.Start[i] * st[i]
		ns[i] = st[i] * p.Step[i]
	}
	setView(out, a, ns, off)
}

func sliceUpdate(p backend.SliceUpdate, in []*node, out *node) {
	alloc(out)
	es := out.Dtype.Size()
	copy(raw(out), raw(contiguous(in[0])))
	// A view of out over the region, then copy the update into it element by element.
	upd := raw(contiguous(in[1]))
	region := &node{Shape: in[1].Shape, Dtype: out.Dtype, Storage: out.Storage}
	st := backend.RowMajorStrides(out.Shape)
	region.Strides = make([]int, len(st))
	off := 0
	for i := range st {
		off += p.Start[i] * st[i]
		region.Strides[i] = st[i] * p.Step[i]
	}
	region.Offset = off
	scatterStrided(storageBytes(out), upd, region, es)
}

// scatterStrided writes contiguous src into the strided region view of dst.
func scatterStrided(dst, src []byte, region *node, es int) {
	n := len(region.Shape)
	total := region.Size()
	if total == 0 {
		return
	}
	idx := make([]int, n)
	for i := 0; i < total; i++ {
		off := region.Offset
		for d := 0; d < n; d++ {
			off += idx[d] * region.Strides[d]
		}
		copy(dst[off*es:(off+1)*es], src[i*es:(i+1)*es])
		for d := n - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < region.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

func concat(p backend.Concatenate, in []*node, out *node) {
	alloc(out)
	es := out.Dtype.Size()
	outer := backend.Numel(out.Shape[:p.Axis])
	rowOut := backend.Numel(out.Shape[p.Axis:]) * es
	dst := raw(out)
	col := 0
	for _, a := range in {
		src := raw(contiguous(a))
		row := backend.Numel(a.Shape[p.Axis:]) * es
		for o := 0; o < outer; o++ {
			copy(dst[o*rowOut+col:o*rowOut+col+row], src[o*row:(o+1)*row])
		}
		col += row
	}
}

func init() {
	Register(func(_ backend.StopGradient, in []*node, out *node) { passThrough(in, out) })
	Register(func(_ backend.Depends, in []*node, out *node) { passThrough(in, out) })
	Register(func(_ backend.Checkpoint, in []*node, out *node) { passThrough(in, out) })
}

// passThrough makes out a view of input 0 as it is.
func passThrough(in []*node, out *node) { setView(out, in[0], in[0].Strides, in[0].Offset) }
