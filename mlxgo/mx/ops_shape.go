package mx

import "github.com/mlxgo/mlxgo/mlxgo/backend"

// --- Reshape ---

type reshapePrim struct{}

func (reshapePrim) Op() backend.Op { return backend.Reshape{} }

func (reshapePrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{Reshape(g, in[0].shape...)}
}

// Reshape returns a with a new shape of the same size; one dimension may be -1.
func Reshape(a *Array, shape ...int) *Array {
	shape = cloneInts(shape)
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panicf("Reshape", "invalid shape %v", shape)
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || a.Size()%known != 0 {
			panicf("Reshape", "cannot reshape array of shape %v into %v", a.shape, shape)
		}
		shape[infer] = a.Size() / known
	}
	if numel(shape) != a.Size() {
		panicf("Reshape", "cannot reshape array of shape %v (size %d) into %v", a.shape, a.Size(), shape)
	}
	if sameShape(shape, a.shape) {
		return a
	}
	return newArray(shape, a.dtype, reshapePrim{}, a)
}

// Reshape returns the array with a new shape.
func (a *Array) Reshape(shape ...int) *Array { return Reshape(a, shape...) }

// Flatten merges axes start..end (inclusive) into one.
func Flatten(a *Array, start, end int) *Array {
	if a.Ndim() == 0 {
		return Reshape(a, 1)
	}
	start, end = normAxis("Flatten", start, a.Ndim()), normAxis("Flatten", end, a.Ndim())
	shape := append(cloneInts(a.shape[:start]), numel(a.shape[start:end+1]))
	return Reshape(a, append(shape, a.shape[end+1:]...)...)
}

// ExpandDims inserts a size-1 axis at position axis.
func ExpandDims(a *Array, axis int) *Array {
	axis = normAxis("ExpandDims", axis, a.Ndim()+1)
	shape := append(cloneInts(a.shape[:axis]), 1)
	return Reshape(a, append(shape, a.shape[axis:]...)...)
}

// Squeeze removes the given size-1 axes (all of them when none are given).
func Squeeze(a *Array, axes ...int) *Array {
	drop := map[int]bool{}
	for _, ax := range axes {
		ax = normAxis("Squeeze", ax, a.Ndim())
		if a.shape[ax] != 1 {
			panicf("Squeeze", "axis %d of shape %v is not 1", ax, a.shape)
		}
		drop[ax] = true
	}
	var shape []int
	for i, d := range a.shape {
		if (len(axes) == 0 && d == 1) || drop[i] {
			continue
		}
		shape = append(shape, d)
	}
	return Reshape(a, shape...)
}

// --- Transpose ---

type transposePrim struct{ perm []int }

func (p transposePrim) Op() backend.Op { return backend.Transpose{Perm: p.perm} }

func (p transposePrim) VJP(in []*Array, _, g *Array) []*Array {
	inv := make([]int, len(p.perm))
	for i, ax := range p.perm {
		inv[ax] = i
	}
	return []*Array{Transpose(g, inv...)}
}

// Transpose permutes the axes (reverses them when perm is empty).
func Transpose(a *Array, perm ...int) *Array {
	n := a.Ndim()
	if len(perm) == 0 {
		perm = make([]int, n)
		for i := range perm {
			perm[i] = n - 1 - i
		}
	}
	if len(perm) != n {
		panicf("Transpose", "permutation %v does not match shape %v", perm, a.shape)
	}
	seen := make([]bool, n)
	shape := make([]int, n)
	p := make([]int, n)
	for i, ax := range perm {
		ax = normAxis("Transpose", ax, n)
		if seen[ax] {
			panicf("Transpose", "repeated axis in permutation %v", perm)
		}
		seen[ax] = true
		p[i] = ax
		shape[i] = a.shape[ax]
	}
	return newArray(shape, a.dtype, transposePrim{p}, a)
}

// T returns the array with its axes reversed.
func (a *Array) T() *Array { return Transpose(a) }

// Transpose permutes the axes.
func (a *Array) Transpose(perm ...int) *Array { return Transpose(a, perm...) }

// SwapAxes exchanges two axes.
func SwapAxes(a *Array, ax1, ax2 int) *Array {
	n := a.Ndim()
	ax1, ax2 = normAxis("SwapAxes", ax1, n), normAxis("SwapAxes", ax2, n)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	perm[ax1], perm[ax2] = perm[ax2], perm[ax1]
	return Transpose(a, perm...)
}

// MoveAxis moves axis src to position dst.
func MoveAxis(a *Array, src, dst int) *Array {
	n := a.Ndim()
	src, dst = normAxis("MoveAxis", src, n), normAxis("MoveAxis", dst, n)
	var perm []int
	for i := 0; i < n; i++ {
		if i != src {
			perm = append(perm, i)
		}
	}
	perm = append(perm[:dst], append([]int{src}, perm[dst:]...)...)
	return Transpose(a, perm...)
}

// --- BroadcastTo ---

type broadcastPrim struct{}

func (broadcastPrim) Op() backend.Op { return backend.BroadcastTo{} }

func (broadcastPrim) VJP(in []*Array, _, g *Array) []*Array {
	return []*Array{sumToShape(g, in[0].shape)}
}

// BroadcastTo broadcasts a to shape.
func BroadcastTo(a *Array, shape ...int) *Array {
	s := broadcastShapes("BroadcastTo", a.shape, shape)
	if !sameShape(s, shape) {
		panicf("BroadcastTo", "cannot broadcast shape %v to %v", a.shape, shape)
	}
	if sameShape(a.shape, shape) {
		return a
	}
	return newArray(cloneInts(shape), a.dtype, broadcastPrim{}, a)
}

// --- Slice ---

type slicePrim struct{ start, step []int }

func (p slicePrim) Op() backend.Op { return backend.Slice{Start: p.start, Step: p.step} }

func (p slicePrim) VJP(in []*Array, out, g *Array) []*Array {
	return []*Array{SliceUpdate(ZerosLike(in[0]), g, p.start, stopsOf(p.start, p.step, out.shape), p.step)}
}

func stopsOf(start, step, shape []int) []int {
	stop := make([]int, len(start))
	for i := range start {
		stop[i] = start[i] + step[i]*shape[i]
		if step[i] < 0 && stop[i] < 0 {
			stop[i] = -1 << 40
		}
	}
	return stop
}

// resolveSlice normalises Python-style start/stop/step per axis and returns the starts,
// steps and result shape. Missing entries select the whole axis.
func resolveSlice(op string, shape, start, stop, step []int) ([]int, []int, []int) {
	n := len(shape)
	if len(start) > n || len(stop) > n || len(step) > n {
		panicf(op, "slice with %d axes for an array of shape %v", max(len(start), len(stop), len(step)), shape)
	}
	rs, rstep, rshape := make([]int, n), make([]int, n), make([]int, n)
	for i := 0; i < n; i++ {
		d := shape[i]
		s, e, k := 0, d, 1
		if i < len(step) {
			k = step[i]
		}
		if k == 0 {
			panicf(op, "slice step cannot be zero")
		}
		if k < 0 {
			s, e = d-1, -d-1
		}
		if i < len(start) {
			s = start[i]
		}
		if i < len(stop) {
			e = stop[i]
		}
		s, e = clampIdx(s, d, k), clampIdx(e, d, k)
		cnt := 0
		if k > 0 && e > s {
			cnt = (e - s + k - 1) / k
		} else if k < 0 && s > e {
			cnt = (s - e - k - 1) / -k
		}
		rs[i], rstep[i], rshape[i] = s, k, cnt
	}
	return rs, rstep, rshape
}

func clampIdx(i, d, k int) int {
	if i < 0 {
		i += d
	}
	lo, hi := 0, d
	if k < 0 {
		lo, hi = -1, d-1
	}
	return min(max(i, lo), hi)
}

// Slice returns a[start:stop:step] per axis with Python semantics (negative indices count
// from the end, out-of-range bounds clamp); missing trailing axes are taken whole.
func Slice(a *Array, start, stop, step []int) *Array {
	s, k, shape := resolveSlice("Slice", a.shape, start, stop, step)
	return newArray(shape, a.dtype, slicePrim{s, k}, a)
}

// SliceAxis returns a[..., start:stop, ...] along one axis.
func SliceAxis(a *Array, axis, start, stop int) *Array {
	axis = normAxis("SliceAxis", axis, a.Ndim())
	st, sp := make([]int, a.Ndim()), cloneInts(a.shape)
	st[axis], sp[axis] = start, stop
	return Slice(a, st, sp, nil)
}

// Index returns a[i] along axis 0, dropping that axis.
func (a *Array) Index(i int) *Array {
	if a.Ndim() == 0 {
		panicf("Index", "cannot index a 0-dimensional array")
	}
	if i < 0 {
		i += a.shape[0]
	}
	if i < 0 || i >= a.shape[0] {
		panicf("Index", "index %d out of range for shape %v", i, a.shape)
	}
	return Squeeze(SliceAxis(a, 0, i, i+1), 0)
}

// --- SliceUpdate ---

type sliceUpdatePrim struct{ start, step []int }

func (p sliceUpdatePrim) Op() backend.Op { return backend.SliceUpdate{Start: p.start, Step: p.step} }

func (p sliceUpdatePrim) VJP(in []*Array, _, g *Array) []*Array {
	stop := stopsOf(p.start, p.step, in[1].shape)
	return []*Array{
		SliceUpdate(g, ZerosLike(in[1]), p.start, stop, p.step),
		Slice(g, p.start, stop, p.step),
	}
}

// SliceUpdate returns a copy of a with a[start:stop:step] replaced by update.
func SliceUpdate(a, update *Array, start, stop, step []int) *Array {
	s, k, shape := resolveSlice("SliceUpdate", a.shape, start, stop, step)
	update = BroadcastTo(AsType(update, a.dtype), shape...)
	return newArray(cloneInts(a.shape), a.dtype, sliceUpdatePrim{s, k}, a, update)
}

// --- Concatenate, Stack, Split ---

type concatPrim struct{ axis int }

func (p concatPrim) Op() backend.Op { return backend.Concatenate{Axis: p.axis} }

func (p concatPrim) VJP(in []*Array, _, g *Array) []*Array {
	grads := make([]*Array, len(in))
	off := 0
	for i, a := range in {
		grads[i] = SliceAxis(g, p.axis, off, off+a.shape[p.axis])
		off += a.shape[p.axis]
	}
	return grads
}

// Concatenate joins arrays along axis.
func Concatenate(arrays []*Array, axis int) *Array {
	if len(arrays) == 0 {
		panicf("Concatenate", "no arrays to concatenate")
	}
	first := arrays[0]
	axis = normAxis("Concatenate", axis, first.Ndim())
	shape := cloneInts(first.shape)
	dt := first.dtype
	for _, a := range arrays[1:] {
		dt = PromoteTypes(dt, a.dtype)
	}
	shape[axis] = 0
	ins := make([]*Array, len(arrays))
	for i, a := range arrays {
		if a.Ndim() != first.Ndim() {
			panicf("Concatenate", "arrays of shapes %v and %v have different ranks", first.shape, a.shape)
		}
		for d := range a.shape {
			if d != axis && a.shape[d] != first.shape[d] {
				panicf("Concatenate", "shapes %v and %v differ outside axis %d", first.shape, a.shape, axis)
			}
		}
		shape[axis] += a.shape[axis]
		ins[i] = AsType(a, dt)
	}
	return newArray(shape, dt, concatPrim{axis}, ins...)
}

// Stack joins arrays of equal shape along a new axis.
func Stack(arrays []*Array, axis int) *Array {
	if len(arrays) == 0 {
		panicf("Stack", "no arrays to stack")
	}
	ex := make([]*Array, len(arrays))
	for i, a := range arrays {
		if !sameShape(a.shape, arrays[0].shape) {
			panicf("Stack", "shapes %v and %v differ", arrays[0].shape, a.shape)
		}
		ex[i] = ExpandDims(a, axis)
	}
	return Concatenate(ex, axis)
}

// Split cuts a along axis at the given indices (len(indices)+1 pieces).
func Split(a *Array, indices []int, axis int) []*Array {
	axis = normAxis("Split", axis, a.Ndim())
	var out []*Array
	prev := 0
	for _, i := range append(cloneInts(indices), a.shape[axis]) {
		out = append(out, SliceAxis(a, axis, prev, i))
		prev = i
	}
	return out
}

// SplitN cuts a into n equal pieces along axis.
func SplitN(a *Array, n, axis int) []*Array {
	axis = normAxis("SplitN", axis, a.Ndim())
	if n <= 0 || a.shape[axis]%n != 0 {
		panicf("SplitN", "axis %d of shape %v cannot be split into %d equal parts", axis, a.shape, n)
	}
	var idx []int
	for i := 1; i < n; i++ {
		idx = append(idx, i*a.shape[axis]/n)
	}
	return Split(a, idx, axis)
}

// --- Pad ---

// Pad adds widths[i][0] values before and widths[i][1] after axis i, filled with value.
func Pad(a *Array, widths [][2]int, value float64) *Array {
	if len(widths) != a.Ndim() {
		panicf("Pad", "%d pad widths for an array of shape %v", len(widths), a.shape)
	}
	shape := cloneInts(a.shape)
	start := make([]int, len(shape))
	for i, w := range widths {
		if w[0] < 0 || w[1] < 0 {
			panicf("Pad", "negative pad width %v", w)
		}
		shape[i] += w[0] + w[1]
		start[i] = w[0]
	}
	stop := make([]int, len(shape))
	for i := range stop {
		stop[i] = start[i] + a.shape[i]
	}
	return SliceUpdate(Full(shape, value, a.dtype), a, start, stop, nil)
}
