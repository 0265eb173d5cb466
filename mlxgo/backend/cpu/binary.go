package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(binary)
}

// bcastStrides returns strides that read an input of shape in as if it had shape out.
func bcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(in) - len(out) + i
		if j >= 0 && in[j] != 1 {
			st[i] = s
		}
		if j >= 0 {
			s *= in[j]
		}
	}
	return st
}

// collapseDims merges neighbouring axes that both inputs step through as one (an input
// laid out contiguously over them, or broadcast along both), so that a loop runs along
// the longest rows it can: a contiguous array times a scalar becomes one row.
func collapseDims(shape, sa, sb []int) ([]int, []int, []int) {
	if len(shape) < 2 {
		return shape, sa, sb
	}
	cs, ca, cb := []int{shape[0]}, []int{sa[0]}, []int{sb[0]}
	for d := 1; d < len(shape); d++ {
		last := len(cs) - 1
		if ca[last] == sa[d]*shape[d] && cb[last] == sb[d]*shape[d] {
			cs[last] *= shape[d]
			ca[last], cb[last] = sa[d], sb[d]
			continue
		}
		cs, ca, cb = append(cs, shape[d]), append(ca, sa[d]), append(cb, sb[d])
	}
	return cs, ca, cb
}

// bcastLoop calls f(o, ia, ib, n, da, db) for every row of the output (its run along the
// last axis, after collapseDims: n elements from offset o, reading inputs from offsets ia
// and ib with steps da and db).
func bcastLoop(shape, sa, sb []int, f func(o, ia, ib, n, da, db int)) {
	if backend.Numel(shape) == 0 {
		return
	}
	shape, sa, sb = collapseDims(shape, sa, sb)
	n := len(shape)
	if n == 0 {
		f(0, 0, 0, 1, 0, 0)
		return
	}
	bcastRows(shape, sa, sb, 0, backend.Numel(shape)/shape[n-1], f)
}

// bcastParallel is bcastLoop with the rows split across cores when there are at least
// grain elements per core (rows longer than twice grain are cut into pieces of at least
// grain); f must write only its own rows.
func bcastParallel(shape, sa, sb []int, grain int, f func(o, ia, ib, n, da, db int)) {
	if len(shape) == 0 || backend.Numel(shape) == 0 {
		bcastLoop(shape, sa, sb, f)
		return
	}
	shape, sa, sb = collapseDims(shape, sa, sb)
	n := len(shape)
	inner := shape[n-1]
	rows := backend.Numel(shape) / inner
	if parts := inner / max(grain, 1); parts > 1 {
		seg := (inner + parts - 1) / parts
		parallelFor(rows*parts, 1, func(lo, hi int) {
			for u := lo; u < hi; u++ {
				r, s := u/parts, u%parts*seg
				e := min(s+seg, inner)
				bcastRows(shape, sa, sb, r, r+1, func(o, ia, ib, _, da, db int) {
					f(o+s, ia+s*da, ib+s*db, e-s, da, db)
				})
			}
		})
		return
	}
	parallelFor(rows, max(1, grain/max(inner, 1)), func(lo, hi int) {
		bcastRows(shape, sa, sb, lo, hi, f)
	})
}

// bcastRows is bcastLoop over rows [lo, hi) of a shape of at least one axis.
func bcastRows(shape, sa, sb []int, lo, hi int, f func(o, ia, ib, n, da, db int)) {
	n := len(shape)
	inner := shape[n-1]
	idx := make([]int, n)
	ia, ib := 0, 0
	for d, r := n-2, lo; d >= 0; d-- {
		idx[d] = r % shape[d]
		r /= shape[d]
		ia += idx[d] * sa[d]
		ib += idx[d] * sb[d]
	}
	for o := lo * inner; o < hi*inner; o += inner {
		f(o, ia, ib, inner, sa[n-1], sb[n-1])
		for d := n - 2; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < shape[d] {
				break
			}
			ia -= sa[d] * idx[d]
			ib -= sb[d] * idx[d]
			idx[d] = 0
		}
	}
}

func applyF(k backend.BinaryKind, x, y float32) float32 {
	switch k {
	case backend.Add:
		return x + y
	case backend.Subtract:
		return x - y
	case backend.Multiply:
		return x * y
	case backend.Divide:
		return x / y
	case backend.Maximum:
		if x != x || x > y {
			return x
		}
		return y
	case backend.Minimum:
		if x != x || x < y {
			return x
		}
		return y
	case backend.Power:
		return float32(math.Pow(float64(x), float64(y)))
	case backend.FloorDivide:
		return float32(math.Floor(float64(x / y)))
	case backend.Remainder:
		r := float32(math.Mod(float64(x), float64(y)))
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	case backend.Atan2:
		return float32(math.Atan2(float64(x), float64(y)))
	}
	return b2f(cmpF(k, x, y))
}

func cmpF(k backend.BinaryKind, x, y float32) bool {
	switch k {
	case backend.Equal:
		return x == y
	case backend.NotEqual:
		return x != y
	case backend.Less:
		return x < y
	case backend.LessEqual:
		return x <= y
	case backend.Greater:
		return x > y
	case backend.GreaterEqual:
		return x >= y
	case backend.LogicalAnd:
		return x != 0 && y != 0
	case backend.LogicalOr:
		return x != 0 || y != 0
	}
	panic("unreachable")
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func applyI(k backend.BinaryKind, x, y int64) int64 {
	switch k {
	case backend.Add:
		return x + y
	case backend.Subtract:
		return x - y
	case backend.Multiply:
		return x * y
	case backend.Maximum:
		return max(x, y)
	case backend.Minimum:
		return min(x, y)
	case backend.Power:
		r := int64(1)
		for i := int64(0); i < y; i++ {
			r *= x
		}
		return r
	case backend.FloorDivide, backend.Divide:
		if y == 0 {
			return 0
		}
		q := x / y
		if (x%y != 0) && ((x < 0) != (y < 0)) {
			q--
		}
		return q
	case backend.Remainder:
		if y == 0 {
			return 0
		}
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	case backend.Equal:
		return b2i(x == y)
	case backend.NotEqual:
		return b2i(x != y)
	case backend.Less:
		return b2i(x < y)
	case backend.LessEqual:
		return b2i(x <= y)
	case backend.Greater:
		return b2i(x > y)
	case backend.GreaterEqual:
		return b2i(x >= y)
	case backend.LogicalAnd:
		return b2i(x != 0 && y != 0)
	case backend.LogicalOr:
		return b2i(x != 0 || y != 0)
	}
	panicf(k.String(), "integer operands are not supported")
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// floatOperand returns the values of a binary op's float input and the strides that
// read it as the output's shape: its storage itself when it is float32 host memory whose
// rows are unit-stride (a slice, or a transpose that keeps the last axis), so no copy is
// made; otherwise a row-major copy.
func floatOperand(a *node, shape []int) ([]float32, []int) {
	if x, _, ok := rowsOf(a); ok && !a.IsContiguous() {
		st := a.StridesOrDefault()
		rs := make([]int, len(shape))
		inPlace := true
		for i := range shape {
			j := len(a.Shape) - len(shape) + i
			if j >= 0 && a.Shape[j] != 1 {
				rs[i] = st[j]
				inPlace = inPlace && st[j] >= 0
			}
		}
		if inPlace {
			return x[a.Offset:], rs
		}
	}
	return floats(a), bcastStrides(a.Shape, shape)
}

func binary(p backend.Binary, in []*node, out *node) {
	a, b := in[0], in[1]
	ct := backend.PromoteTypes(a.Dtype, b.Dtype)
	if ct.IsFloat() {
		x, sa := floatOperand(a, out.Shape)
		y, sb := floatOperand(b, out.Shape)
		var o []float32
		var commit func()
		if out.Dtype == backend.Float32 && (donate(out, a) || donate(out, b)) {
			o, commit = viewAs[float32](raw(out)), func() {}
		} else {
			o, commit = outFloats(out)
		}
		if a.IsContiguous() && b.IsContiguous() && len(x) == len(o) && len(y) == len(o) {
			parallelFor(len(o), 1<<15, func(lo, hi int) { floatVV(p.Kind, o[lo:hi], x[lo:hi], y[lo:hi]) })
		} else {
			bcastParallel(out.Shape, sa, sb, 1<<15, func(oi, ia, ib, n, da, db int) {
				switch {
				case da == 1 && db == 0:
					floatVS(p.Kind, o[oi:oi+n], x[ia:ia+n], y[ib])
					return
				case da == 1 && db == 1:
					floatVV(p.Kind, o[oi:oi+n], x[ia:ia+n], y[ib:ib+n])
					return
				case da == 0 && db == 1 && (p.Kind == backend.Add || p.Kind == backend.Multiply):
					floatVS(p.Kind, o[oi:oi+n], y[ib:ib+n], x[ia])
					return
				}
				for j := 0; j < n; j++ {
					o[oi+j] = applyF(p.Kind, x[ia+j*da], y[ib+j*db])
				}
			})
		}
		commit()
		return
	}
	sa, sb := bcastStrides(a.Shape, out.Shape), bcastStrides(b.Shape, out.Shape)
	x, y := ints(a), ints(b)
	o, commit := outInts(out)
	bcastLoop(out.Shape, sa, sb, func(oi, ia, ib, n, da, db int) {
		for j := 0; j < n; j++ {
			o[oi+j] = applyI(p.Kind, x[ia+j*da], y[ib+j*db])
		}
	})
	commit()
}

func floatVV(k backend.BinaryKind, o, x, y []float32) {
	if binaryVec(k, o, x, y) {
		return
	}
	switch k {
	case backend.Add:
		for i := range o {
			o[i] = x[i] + y[i]
		}
	case backend.Subtract:
		for i := range o {
			o[i] = x[i] - y[i]
		}
	case backend.Multiply:
		for i := range o {
			o[i] = x[i] * y[i]
		}
	case backend.Divide:
		for i := range o {
			o[i] = x[i] / y[i]
		}
	default:
		for i := range o {
			o[i] = applyF(k, x[i], y[i])
		}
	}
}

func floatVS(k backend.BinaryKind, o, x []float32, y float32) {
	if binaryScalarVec(k, o, x, y) {
		return
	}
	switch k {
	case backend.Add:
		for i := range o {
			o[i] = x[i] + y
		}
	case backend.Subtract:
		for i := range o {
			o[i] = x[i] - y
		}
	case backend.Multiply:
		for i := range o {
			o[i] = x[i] * y
		}
	case backend.Divide:
		for i := range o {
			o[i] = x[i] / y
		}
	default:
		for i := range o {
			o[i] = applyF(k, x[i], y)
		}
	}
}
