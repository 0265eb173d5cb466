package mx

// Batching rules (Batcher) of mx's primitives, grouped as the primitives' files are.
// Each takes the inputs with their mapped axes (Unmapped for inputs that are the same
// for every index) and the output traced on one index, and returns the output for all
// indices with the position of its mapped axis. Rules keep the mapped axis where it is
// when the op allows it and move it first otherwise.

// --- helpers ---

// mappedSize returns the size of the mapped axis of the first mapped input.
func mappedSize(ins []*Array, axes []int) int {
	for i, ax := range axes {
		if ax != Unmapped {
			return ins[i].shape[ax]
		}
	}
	panic("mx.Vmap: internal: batching rule called with no mapped input")
}

// insertAxis returns shape with a dimension of size n inserted at ax.
func insertAxis(shape []int, ax, n int) []int {
	out := make([]int, 0, len(shape)+1)
	out = append(out, shape[:ax]...)
	out = append(out, n)
	return append(out, shape[ax:]...)
}

// front returns x with its mapped axis ax moved first.
func front(x *Array, ax int) *Array {
	if ax == 0 {
		return x
	}
	return MoveAxis(x, ax, 0)
}

// frontAll returns the inputs with the mapped axis first; unmapped inputs are broadcast
// along a new first axis of size n.
func frontAll(ins []*Array, axes []int, n int) []*Array {
	out := make([]*Array, len(ins))
	for i, x := range ins {
		if axes[i] == Unmapped {
			out[i] = BroadcastTo(ExpandDims(x, 0), insertAxis(x.shape, 0, n)...)
		} else {
			out[i] = front(x, axes[i])
		}
	}
	return out
}

// sameAxis reports the mapped axis shared by all inputs when every input is mapped there
// and has rank rank+1, or Unmapped.
func sameAxis(ins []*Array, axes []int, rank int) int {
	for i, x := range ins {
		if axes[i] == Unmapped || axes[i] != axes[0] || x.Ndim() != rank+1 {
			return Unmapped
		}
	}
	return axes[0]
}

// padFront reshapes x, mapped first, to rank rank+1 by inserting size-1 axes after the
// mapped one, so that it broadcasts against unmapped operands of rank up to rank.
func padFront(x *Array, rank int) *Array {
	shape := []int{x.shape[0]}
	for range rank - (x.Ndim() - 1) {
		shape = append(shape, 1)
	}
	return Reshape(x, append(shape, x.shape[1:]...)...)
}

// keptAxis returns the mapped axis of a broadcasting op's inputs when it can stay where
// it is: every mapped input has it at the same place and the output's full rank, and
// every unmapped input, aligned from the right, covers only axes after it. Otherwise it
// returns Unmapped.
func keptAxis(ins []*Array, axes []int, rank int) int {
	ax := Unmapped
	for i, a := range axes {
		if a != Unmapped {
			if (ax != Unmapped && a != ax) || ins[i].Ndim() != rank+1 {
				return Unmapped
			}
			ax = a
		}
	}
	for i, a := range axes {
		if a == Unmapped && ax > rank-ins[i].Ndim() {
			return Unmapped
		}
	}
	return ax
}

// vmapBroadcasting is the rule of elementwise ops whose kernel broadcasts its inputs
// (Binary, Where): the mapped axis stays in place when it can (keptAxis); otherwise
// mapped inputs get it first and are padded to the output's rank, and unmapped inputs
// broadcast along it.
func vmapBroadcasting(p Primitive, ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	if ax := keptAxis(ins, axes, out.Ndim()); ax != Unmapped {
		return newArray(insertAxis(out.shape, ax, n), out.dtype, p, ins...), ax
	}
	args := make([]*Array, len(ins))
	for i, x := range ins {
		args[i] = x
		if axes[i] != Unmapped {
			args[i] = padFront(front(x, axes[i]), out.Ndim())
		}
	}
	return newArray(insertAxis(out.shape, 0, n), out.dtype, p, args...), 0
}

// vmapSameShape is the rule of elementwise ops whose inputs all have the output's shape.
func vmapSameShape(p Primitive, ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	if ax := sameAxis(ins, axes, out.Ndim()); ax != Unmapped {
		return newArray(insertAxis(out.shape, ax, n), out.dtype, p, ins...), ax
	}
	return newArray(insertAxis(out.shape, 0, n), out.dtype, p, frontAll(ins, axes, n)...), 0
}

// vmapTrailing is the rule of ops over the last axes (trailing of them) of their first
// input, the only mapped one, with the output shaped as that input: any other axis can
// be the mapped one. The other inputs (parameters) pass unchanged.
func vmapTrailing(p Primitive, ins []*Array, ax, trailing int, out *Array) (*Array, int) {
	x := ins[0]
	if ax >= x.Ndim()-trailing {
		x, ax = front(x, ax), 0
	}
	return newArray(cloneInts(x.shape), out.dtype, p, append([]*Array{x}, ins[1:]...)...), ax
}

// --- elementwise ---

// Vmap is Binary's batching rule: the operands broadcast with the mapped axis.
func (p binaryPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapBroadcasting(p, ins, axes, out)
}

// Vmap is Where's batching rule.
func (p wherePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapBroadcasting(p, ins, axes, out)
}

// Vmap is Unary's batching rule: the op applies as it is.
func (p unaryPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapSameShape(p, ins, axes, out)
}

// Vmap is AsType's batching rule.
func (p astypePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapSameShape(p, ins, axes, out)
}

// Vmap is StopGradient's batching rule.
func (p stopGradPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapSameShape(p, ins, axes, out)
}

// Vmap is SiluGrad's batching rule.
func (p siluGradPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapSameShape(p, ins, axes, out)
}

// --- reductions ---

// Vmap is Reduce's batching rule: the reduced axes shift past the mapped one.
func (p reducePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	x, ax := ins[0], axes[0]
	red := make([]int, len(p.axes))
	shape := cloneInts(x.shape)
	for i, a := range p.axes {
		if a >= ax {
			a++
		}
		red[i] = a
		shape[a] = 1
	}
	return newArray(shape, out.dtype, reducePrim{p.k, red}, x), ax
}

// Vmap is Softmax's batching rule (over the last axis).
func (p softmaxPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapTrailing(p, ins, axes[0], 1, out)
}

// Vmap is Cumsum's batching rule (over the last axis).
func (p cumsumPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	return vmapTrailing(p, ins, axes[0], 1, out)
}

// --- shape ---

// Vmap is Reshape's batching rule: the mapped axis goes first and stays whole.
func (reshapePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	x := front(ins[0], axes[0])
	return Reshape(x, insertAxis(out.shape, 0, x.shape[0])...), 0
}

// Vmap is Transpose's batching rule: one permutation that also brings the mapped axis
// first.
func (p transposePrim) Vmap(ins []*Array, axes []int, _ *Array) (*Array, int) {
	ax := axes[0]
	perm := []int{ax}
	for _, a := range p.perm {
		if a >= ax {
			a++
		}
		perm = append(perm, a)
	}
	return Transpose(ins[0], perm...), 0
}

// Vmap is BroadcastTo's batching rule.
func (broadcastPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	x := padFront(front(ins[0], axes[0]), out.Ndim())
	return BroadcastTo(x, insertAxis(out.shape, 0, x.shape[0])...), 0
}

// Vmap is Slice's batching rule: the mapped axis is taken whole.
func (p slicePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	x, ax := ins[0], axes[0]
	q := slicePrim{insertAxis(p.start, ax, 0), insertAxis(p.step, ax, 1)}
	return newArray(insertAxis(out.shape, ax, x.shape[ax]), out.dtype, q, x), ax
}

// Vmap is SliceUpdate's batching rule: target and update both get the mapped axis first.
func (p sliceUpdatePrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	q := sliceUpdatePrim{insertAxis(p.start, 0, 0), insertAxis(p.step, 0, 1)}
	return newArray(insertAxis(out.shape, 0, n), out.dtype, q, frontAll(ins, axes, n)...), 0
}

// Vmap is Concatenate's batching rule.
func (p concatPrim) Vmap(ins []*Array, axes []int, out *Array) (*Array, int) {
	n := mappedSize(ins, axes)
	return newArray(insertAxis(out.shape, 0, n), out.dtype, concatPrim{p.axis + 1}, frontAll(ins, axes, n)...), 0
}

// Every primitive of mx has a batching rule.
var _ = []Batcher{
	binaryPrim{}, wherePrim{}, unaryPrim{}, astypePrim{}, stopGradPrim{}, siluGradPrim{},
	reducePrim{}, softmaxPrim{}, cumsumPrim{},
	reshapePrim{}, transposePrim{}, broadcastPrim{}, slicePrim{}, sliceUpdatePrim{}, concatPrim{},
	takePrim{}, scatterAddPrim{}, takeAlongPrim{}, putAlongAddPrim{}, matmulPrim{},
	rmsNormPrim{}, rmsNormGradPrim{}, layerNormPrim{}, ropePrim{}, sdpaPrim{}, sdpaGradPrim{},
	checkpointPrim{}, dependsPrim{}, quantMatmulPrim{}, dequantPrim{}, randPrim{},
}
