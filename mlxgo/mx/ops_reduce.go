package mx

import (
	"slices"
	"sort"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

type redKind = backend.ReduceKind

const (
	redSum       = backend.Sum
	redMax       = backend.Max
	redMin       = backend.Min
	redProd      = backend.Prod
	redArgMax    = backend.ArgMax
	redArgMin    = backend.ArgMin
	redLogSumExp = backend.LogSumExp
)

// reducePrim reduces axes (sorted) and keeps them as size-1 dimensions.
type reducePrim struct {
	k    redKind
	axes []int
}

func (p reducePrim) Op() backend.Op { return backend.Reduce{Kind: p.k, Axes: p.axes} }

func (p reducePrim) VJP(in []*Array, out, g *Array) []*Array {
	x := in[0]
	switch p.k {
	case redSum:
		return []*Array{BroadcastTo(g, x.shape...)}
	case redProd:
		return []*Array{Multiply(BroadcastTo(g, x.shape...), Divide(out, x))}
	case redMax, redMin:
		mask := AsType(Equal(x, out), g.dtype)
		cnt := Sum(mask, p.axes, true)
		return []*Array{Multiply(Divide(mask, cnt), g)}
	case redLogSumExp:
		return []*Array{Multiply(g, Exp(Subtract(x, out)))}
	}
	return []*Array{nil}
}

func normAxes(op string, axes []int, ndim int) []int {
	if axes == nil {
		axes = make([]int, ndim)
		for i := range axes {
			axes[i] = i
		}
		return axes
	}
	seen := map[int]bool{}
	var out []int
	for _, ax := range axes {
		ax = normAxis(op, ax, ndim)
		if seen[ax] {
			panicf(op, "repeated axis %d", ax)
		}
		seen[ax] = true
		out = append(out, ax)
	}
	sort.Ints(out)
	return out
}

func reduce(k redKind, a *Array, axes []int, keepDims bool) *Array {
	op := k.String()
	axes = normAxes(op, axes, a.Ndim())
	shape := cloneInts(a.shape)
	for _, ax := range axes {
		shape[ax] = 1
	}
	dt := a.dtype
	switch k {
	case redArgMax, redArgMin:
		if len(axes) != 1 && a.Ndim() > 0 {
			panicf(op, "needs exactly one axis, got %v", axes)
		}
		dt = Uint32
	case redLogSumExp:
		if !dt.IsFloat() {
			a, dt = AsType(a, Float32), Float32
		}
	case redSum, redProd:
		if dt == Bool || dt == Uint8 {
			a, dt = AsType(a, Int32), Int32
		}
	}
	r := newArray(shape, dt, reducePrim{k, axes}, a)
	if keepDims {
		return r
	}
	var sq []int
	for i, d := range shape {
		if !slices.Contains(axes, i) {
			sq = append(sq, d)
		}
	}
	return Reshape(r, sq...)
}

// Sum adds over axes (all axes when nil), keeping them as size-1 when keepDims.
func Sum(a *Array, axes []int, keepDims bool) *Array { return reduce(redSum, a, axes, keepDims) }

// Prod multiplies over axes.
func Prod(a *Array, axes []int, keepDims bool) *Array { return reduce(redProd, a, axes, keepDims) }

// Max takes the maximum over axes.
func Max(a *Array, axes []int, keepDims bool) *Array { return reduce(redMax, a, axes, keepDims) }

// Min takes the minimum over axes.
func Min(a *Array, axes []int, keepDims bool) *Array { return reduce(redMin, a, axes, keepDims) }

// LogSumExp returns log(sum(exp(a))) over axes, computed stably.
func LogSumExp(a *Array, axes []int, keepDims bool) *Array {
	return reduce(redLogSumExp, a, axes, keepDims)
}

// ArgMax returns the uint32 index of the largest value along axis.
func ArgMax(a *Array, axis int, keepDims bool) *Array {
	return reduce(redArgMax, a, []int{axis}, keepDims)
}

// ArgMin returns the uint32 index of the smallest value along axis.
func ArgMin(a *Array, axis int, keepDims bool) *Array {
	return reduce(redArgMin, a, []int{axis}, keepDims)
}

// Mean averages over axes.
func Mean(a *Array, axes []int, keepDims bool) *Array {
	axes = normAxes("Mean", axes, a.Ndim())
	n := 1
	for _, ax := range axes {
		n *= a.shape[ax]
	}
	if !a.dtype.IsFloat() {
		a = AsType(a, Float32)
	}
	return Multiply(Sum(a, axes, keepDims), 1/float64(n))
}

// Var returns the variance over axes (ddof: delta degrees of freedom).
func Var(a *Array, axes []int, keepDims bool, ddof int) *Array {
	axes = normAxes("Var", axes, a.Ndim())
	n := 1
	for _, ax := range axes {
		n *= a.shape[ax]
	}
	d := Subtract(a, Mean(a, axes, true))
	return Multiply(Sum(Square(d), axes, keepDims), 1/float64(n-ddof))
}

// Sum adds over axes (all when none are given).
func (a *Array) Sum(axes ...int) *Array {
	if len(axes) == 0 {
		axes = nil
	}
	return Sum(a, axes, false)
}

// Mean averages over axes (all when none are given).
func (a *Array) Mean(axes ...int) *Array {
	if len(axes) == 0 {
		axes = nil
	}
	return Mean(a, axes, false)
}

// Max takes the maximum over axes (all when none are given).
func (a *Array) Max(axes ...int) *Array {
	if len(axes) == 0 {
		axes = nil
	}
	return Max(a, axes, false)
}

// --- Softmax ---

type softmaxPrim struct{}

func (softmaxPrim) Op() backend.Op { return backend.Softmax{} }

func (softmaxPrim) VJP(_ []*Array, out, g *Array) []*Array {
	gs := Multiply(g, out)
	return []*Array{Subtract(gs, Multiply(out, Sum(gs, []int{-1}, true)))}
}

// Softmax normalises exp(a) to sum to one along axis.
func Softmax(a *Array, axis int) *Array {
	axis = normAxis("Softmax", axis, a.Ndim())
	if !a.dtype.IsFloat() {
		a = AsType(a, Float32)
	}
	last := a.Ndim() - 1
	if axis != last {
		return SwapAxes(Softmax(SwapAxes(a, axis, last), -1), axis, last)
	}
	return newArray(cloneInts(a.shape), a.dtype, softmaxPrim{}, a)
}

// LogSoftmax returns a - logsumexp(a) along axis.
func LogSoftmax(a *Array, axis int) *Array {
	return Subtract(a, LogSumExp(a, []int{axis}, true))
}

// --- Cumsum ---

type cumsumPrim struct {
	reverse, inclusive bool
}

func (p cumsumPrim) Op() backend.Op {
	return backend.Cumsum{Reverse: p.reverse, Inclusive: p.inclusive}
}

func (p cumsumPrim) VJP(_ []*Array, _, g *Array) []*Array {
	return []*Array{newArray(cloneInts(g.shape), g.dtype, cumsumPrim{!p.reverse, p.inclusive}, g)}
}

// Cumsum returns running sums along axis; reverse runs from the end, and an exclusive
// sum (inclusive false) leaves each element out of its own total.
func Cumsum(a *Array, axis int, reverse, inclusive bool) *Array {
	axis = normAxis("Cumsum", axis, a.Ndim())
	if a.dtype == Bool || a.dtype == Uint8 {
		a = AsType(a, Int32)
	}
	last := a.Ndim() - 1
	if axis != last {
		return SwapAxes(Cumsum(SwapAxes(a, axis, last), -1, reverse, inclusive), axis, last)
	}
	return newArray(cloneInts(a.shape), a.dtype, cumsumPrim{reverse, inclusive}, a)
}
