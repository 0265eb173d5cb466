package mx

import (
	"math"
	"slices"
	"sort"
)

type redKind int

const (
	redSum redKind = iota
	redMax
	redMin
	redProd
	redArgMax
	redArgMin
	redLogSumExp
)

var redNames = [...]string{"Sum", "Max", "Min", "Prod", "ArgMax", "ArgMin", "LogSumExp"}

// reducePrim reduces axes (sorted) and keeps them as size-1 dimensions.
type reducePrim struct {
	k    redKind
	axes []int
}

func (p reducePrim) Name() string { return redNames[p.k] }

// rowsLast returns the values of a with the reduced axes moved last, as float32 or int64
// rows of length r.
func rowsLast(a *Array, axes []int) (f []float32, iv []int64, r int) {
	n := a.Ndim()
	red := map[int]bool{}
	for _, ax := range axes {
		red[ax] = true
	}
	var perm []int
	r = 1
	for i := 0; i < n; i++ {
		if !red[i] {
			perm = append(perm, i)
		}
	}
	for _, ax := range axes {
		perm = append(perm, ax)
		r *= a.shape[ax]
	}
	v := a
	if !isIdentity(perm) {
		st := a.stridesOrDefault()
		ns := make([]int, n)
		shape := make([]int, n)
		for i, ax := range perm {
			ns[i], shape[i] = st[ax], a.shape[ax]
		}
		v = &Array{shape: shape, dtype: a.dtype, slot: a.slot, strides: ns, offset: a.offset}
	}
	if a.dtype.IsFloat() {
		return floats(v), nil, r
	}
	return nil, ints(v), r
}

func isIdentity(p []int) bool {
	for i, v := range p {
		if i != v {
			return false
		}
	}
	return true
}

func (p reducePrim) Eval(in []*Array, out *Array) {
	f, iv, r := rowsLast(in[0], p.axes)
	rows := out.Size()
	if p.k == redArgMax || p.k == redArgMin {
		o, commit := outInts(out)
		if f == nil {
			f = make([]float32, len(iv))
			for i, v := range iv {
				f[i] = float32(v)
			}
		}
		for i := 0; i < rows; i++ {
			row := f[i*r : (i+1)*r]
			best := 0
			for j, v := range row {
				if (p.k == redArgMax && (v > row[best] || (v != v && row[best] == row[best]))) ||
					(p.k == redArgMin && (v < row[best] || (v != v && row[best] == row[best]))) {
					best = j
				}
			}
			o[i] = int64(best)
		}
		commit()
		return
	}
	if f != nil {
		o, commit := outFloats(out)
		parallelFor(rows, max(1, 4096/max(r, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = reduceRow(p.k, f[i*r:(i+1)*r])
			}
		})
		commit()
		return
	}
	o, commit := outInts(out)
	for i := 0; i < rows; i++ {
		row := iv[i*r : (i+1)*r]
		var acc int64
		switch p.k {
		case redSum:
			for _, v := range row {
				acc += v
			}
		case redProd:
			acc = 1
			for _, v := range row {
				acc *= v
			}
		case redMax:
			acc = math.MinInt64
			for _, v := range row {
				acc = max(acc, v)
			}
		case redMin:
			acc = math.MaxInt64
			for _, v := range row {
				acc = min(acc, v)
			}
		}
		o[i] = acc
	}
	commit()
}

func reduceRow(k redKind, row []float32) float32 {
	switch k {
	case redSum:
		var acc float64
		for _, v := range row {
			acc += float64(v)
		}
		return float32(acc)
	case redProd:
		acc := 1.0
		for _, v := range row {
			acc *= float64(v)
		}
		return float32(acc)
	case redMax:
		acc := float32(math.Inf(-1))
		for _, v := range row {
			if v > acc || v != v {
				acc = v
			}
		}
		return acc
	case redMin:
		acc := float32(math.Inf(1))
		for _, v := range row {
			if v < acc || v != v {
				acc = v
			}
		}
		return acc
	case redLogSumExp:
		m := float32(math.Inf(-1))
		for _, v := range row {
			if v > m {
				m = v
			}
		}
		if math.IsInf(float64(m), 0) {
			return m
		}
		var s float64
		for _, v := range row {
			s += float64(expf(v - m))
		}
		return m + float32(math.Log(s))
	}
	panic("unreachable")
}

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
	op := redNames[k]
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

func (softmaxPrim) Name() string { return "Softmax" }
func (softmaxPrim) Eval(in []*Array, out *Array) {
	x := floats(in[0])
	o, commit := outFloats(out)
	r := in[0].shape[in[0].Ndim()-1]
	rows := len(x) / max(r, 1)
	parallelFor(rows, max(1, 4096/max(r, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			softmaxRow(o[i*r:(i+1)*r], x[i*r:(i+1)*r])
		}
	})
	commit()
}

func softmaxRow(o, x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	var s float64
	for j, v := range x {
		e := expf(v - m)
		o[j] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	for j := range o {
		o[j] *= inv
	}
}

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

func (cumsumPrim) Name() string { return "Cumsum" }
func (p cumsumPrim) Eval(in []*Array, out *Array) {
	r := in[0].shape[in[0].Ndim()-1]
	if out.dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outFloats(out)
		for i := 0; i*r < len(x); i++ {
			var acc float64
			for jj := 0; jj < r; jj++ {
				j := jj
				if p.reverse {
					j = r - 1 - jj
				}
				if p.inclusive {
					acc += float64(x[i*r+j])
					o[i*r+j] = float32(acc)
				} else {
					o[i*r+j] = float32(acc)
					acc += float64(x[i*r+j])
				}
			}
		}
		commit()
		return
	}
	x := ints(in[0])
	o, commit := outInts(out)
	for i := 0; i*r < len(x); i++ {
		var acc int64
		for jj := 0; jj < r; jj++ {
			j := jj
			if p.reverse {
				j = r - 1 - jj
			}
			if p.inclusive {
				acc += x[i*r+j]
				o[i*r+j] = acc
			} else {
				o[i*r+j] = acc
				acc += x[i*r+j]
			}
		}
	}
	commit()
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
