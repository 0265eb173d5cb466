package mx

import (
	"fmt"
	"math"
)

// asArray turns a Go number into a scalar array that takes like's dtype (MLX's weak
// scalar typing), and returns arrays unchanged.
func asArray(op string, v any, like *Array) *Array {
	var f float64
	isFloat := false
	switch x := v.(type) {
	case *Array:
		if x == nil {
			panicf(op, "nil array")
		}
		return x
	case float64:
		f, isFloat = x, true
	case float32:
		f, isFloat = float64(x), true
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case bool:
		if x {
			f = 1
		}
		if like == nil {
			return FromSlice([]bool{x}).Reshape()
		}
	default:
		panicf(op, "cannot use %T as an array or scalar", v)
	}
	dt := Float32
	if like != nil {
		dt = like.dtype
		if isFloat && !dt.IsFloat() {
			dt = Float32
		}
	} else if !isFloat {
		dt = Int32
	}
	return Full(nil, f, dt)
}

// binOperands resolves two operands, at most one of which may be a Go number.
func binOperands(op string, a, b any) (*Array, *Array) {
	x, xok := a.(*Array)
	y, yok := b.(*Array)
	switch {
	case xok && yok:
	case xok:
		y = asArray(op, b, x)
	case yok:
		x = asArray(op, a, y)
	default:
		x = asArray(op, a, nil)
		y = asArray(op, b, x)
	}
	if x == nil || y == nil {
		panicf(op, "nil array operand")
	}
	return x, y
}

// BroadcastShapes returns the shape two shapes broadcast to, panicking if they cannot.
func BroadcastShapes(a, b []int) []int { return broadcastShapes("BroadcastShapes", a, b) }

func broadcastShapes(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panicf(op, "shapes %v and %v cannot be broadcast together", a, b)
		}
	}
	return out
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

// bcastIndex calls f(o, ia, ib) over every output position with the matching input
// offsets, running whole inner rows at a time.
func bcastLoop(shape, sa, sb []int, f func(o, ia, ib, n, da, db int)) {
	n := len(shape)
	total := numel(shape)
	if total == 0 {
		return
	}
	if n == 0 {
		f(0, 0, 0, 1, 0, 0)
		return
	}
	inner := shape[n-1]
	idx := make([]int, n)
	ia, ib := 0, 0
	for o := 0; o < total; o += inner {
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

type binKind int

const (
	opAdd binKind = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
	opPow
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAnd
	opOr
	opFloorDiv
	opRemainder
	opAtan2
)

var binNames = [...]string{"Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power",
	"Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
	"FloorDivide", "Remainder", "Atan2"}

type binaryPrim struct{ k binKind }

func (p binaryPrim) Name() string { return binNames[p.k] }

func (p binaryPrim) isCompare() bool { return p.k >= opEq && p.k <= opOr }

func applyF(k binKind, x, y float32) float32 {
	switch k {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opMax:
		if x != x || x > y {
			return x
		}
		return y
	case opMin:
		if x != x || x < y {
			return x
		}
		return y
	case opPow:
		return float32(math.Pow(float64(x), float64(y)))
	case opFloorDiv:
		return float32(math.Floor(float64(x / y)))
	case opRemainder:
		r := float32(math.Mod(float64(x), float64(y)))
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	case opAtan2:
		return float32(math.Atan2(float64(x), float64(y)))
	}
	return b2f(cmpF(k, x, y))
}

func cmpF(k binKind, x, y float32) bool {
	switch k {
	case opEq:
		return x == y
	case opNe:
		return x != y
	case opLt:
		return x < y
	case opLe:
		return x <= y
	case opGt:
		return x > y
	case opGe:
		return x >= y
	case opAnd:
		return x != 0 && y != 0
	case opOr:
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

func applyI(k binKind, x, y int64) int64 {
	switch k {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opMax:
		return max(x, y)
	case opMin:
		return min(x, y)
	case opPow:
		r := int64(1)
		for i := int64(0); i < y; i++ {
			r *= x
		}
		return r
	case opFloorDiv, opDiv:
		if y == 0 {
			return 0
		}
		q := x / y
		if (x%y != 0) && ((x < 0) != (y < 0)) {
			q--
		}
		return q
	case opRemainder:
		if y == 0 {
			return 0
		}
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	case opEq:
		return b2i(x == y)
	case opNe:
		return b2i(x != y)
	case opLt:
		return b2i(x < y)
	case opLe:
		return b2i(x <= y)
	case opGt:
		return b2i(x > y)
	case opGe:
		return b2i(x >= y)
	case opAnd:
		return b2i(x != 0 && y != 0)
	case opOr:
		return b2i(x != 0 || y != 0)
	}
	panic(fmt.Sprintf("mx: integer %s is not supported", binNames[k]))
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (p binaryPrim) Eval(in []*Array, out *Array) {
	a, b := in[0], in[1]
	ct := PromoteTypes(a.dtype, b.dtype)
	sa, sb := bcastStrides(a.shape, out.shape), bcastStrides(b.shape, out.shape)
	if ct.IsFloat() {
		x, y := floats(a), floats(b)
		o, commit := outFloats(out)
		if len(x) == len(o) && len(y) == len(o) {
			parallelFor(len(o), 1<<15, func(lo, hi int) { floatVV(p.k, o[lo:hi], x[lo:hi], y[lo:hi]) })
		} else {
			bcastLoop(out.shape, sa, sb, func(oi, ia, ib, n, da, db int) {
				if da == 1 && db == 0 {
					floatVS(p.k, o[oi:oi+n], x[ia:ia+n], y[ib])
					return
				}
				for j := 0; j < n; j++ {
					o[oi+j] = applyF(p.k, x[ia+j*da], y[ib+j*db])
				}
			})
		}
		commit()
		return
	}
	x, y := ints(a), ints(b)
	o, commit := outInts(out)
	bcastLoop(out.shape, sa, sb, func(oi, ia, ib, n, da, db int) {
		for j := 0; j < n; j++ {
			o[oi+j] = applyI(p.k, x[ia+j*da], y[ib+j*db])
		}
	})
	commit()
}

func floatVV(k binKind, o, x, y []float32) {
	switch k {
	case opAdd:
		for i := range o {
			o[i] = x[i] + y[i]
		}
	case opSub:
		for i := range o {
			o[i] = x[i] - y[i]
		}
	case opMul:
		for i := range o {
			o[i] = x[i] * y[i]
		}
	case opDiv:
		for i := range o {
			o[i] = x[i] / y[i]
		}
	default:
		for i := range o {
			o[i] = applyF(k, x[i], y[i])
		}
	}
}

func floatVS(k binKind, o, x []float32, y float32) {
	switch k {
	case opAdd:
		for i := range o {
			o[i] = x[i] + y
		}
	case opMul:
		for i := range o {
			o[i] = x[i] * y
		}
	default:
		for i := range o {
			o[i] = applyF(k, x[i], y)
		}
	}
}

func (p binaryPrim) VJP(in []*Array, out, g *Array) []*Array {
	a, b := in[0], in[1]
	var ga, gb *Array
	switch p.k {
	case opAdd:
		ga, gb = g, g
	case opSub:
		ga, gb = g, Negative(g)
	case opMul:
		ga, gb = Multiply(g, b), Multiply(g, a)
	case opDiv:
		ga = Divide(g, b)
		gb = Negative(Multiply(g, Divide(out, b)))
	case opMax, opMin:
		// The gradient goes to the selected operand; ties split it evenly, as MLX does.
		sel := AsType(Equal(a, out), g.dtype)
		other := AsType(Equal(b, out), g.dtype)
		tot := Add(sel, other)
		ga = Multiply(g, Divide(sel, tot))
		gb = Multiply(g, Divide(other, tot))
	case opPow:
		ga = Multiply(g, Multiply(b, Power(a, Subtract(b, 1))))
		gb = Multiply(g, Multiply(out, Log(a)))
	case opAtan2:
		den := Add(Square(a), Square(b))
		ga = Multiply(g, Divide(b, den))
		gb = Multiply(g, Divide(Negative(a), den))
	case opRemainder:
		ga = g
		gb = Multiply(g, Negative(FloorDivide(a, b)))
	default:
		return []*Array{nil, nil}
	}
	return []*Array{sumToShape(ga, a.shape), sumToShape(gb, b.shape)}
}

func binary(k binKind, a, b any) *Array {
	op := binNames[k]
	x, y := binOperands(op, a, b)
	shape := broadcastShapes(op, x.shape, y.shape)
	dt := PromoteTypes(x.dtype, y.dtype)
	p := binaryPrim{k}
	if p.isCompare() {
		dt = Bool
	} else if k == opDiv && !dt.IsFloat() {
		dt = Float32
		x, y = AsType(x, dt), AsType(y, dt)
	}
	return newArray(shape, dt, p, x, y)
}

// sumToShape sums a broadcast gradient back down to shape.
func sumToShape(g *Array, shape []int) *Array {
	if g == nil || sameShape(g.shape, shape) {
		return g
	}
	lead := len(g.shape) - len(shape)
	var axes []int
	for i := range g.shape {
		if i < lead || (shape[i-lead] == 1 && g.shape[i] != 1) {
			axes = append(axes, i)
		}
	}
	r := Sum(g, axes, true)
	return Reshape(r, shape...)
}

// Add returns a + b with broadcasting; either may be a Go number.
func Add(a, b any) *Array { return binary(opAdd, a, b) }

// Subtract returns a - b.
func Subtract(a, b any) *Array { return binary(opSub, a, b) }

// Multiply returns a * b.
func Multiply(a, b any) *Array { return binary(opMul, a, b) }

// Divide returns a / b (true division: integers give float32).
func Divide(a, b any) *Array { return binary(opDiv, a, b) }

// FloorDivide returns floor(a / b).
func FloorDivide(a, b any) *Array { return binary(opFloorDiv, a, b) }

// Remainder returns a mod b with the sign of b, as Python's %.
func Remainder(a, b any) *Array { return binary(opRemainder, a, b) }

// Maximum returns the elementwise maximum (NaN propagates).
func Maximum(a, b any) *Array { return binary(opMax, a, b) }

// Minimum returns the elementwise minimum (NaN propagates).
func Minimum(a, b any) *Array { return binary(opMin, a, b) }

// Power returns a raised to b.
func Power(a, b any) *Array { return binary(opPow, a, b) }

// Atan2 returns the angle of (b, a), elementwise.
func Atan2(a, b any) *Array { return binary(opAtan2, a, b) }

// Equal returns a == b as bool.
func Equal(a, b any) *Array { return binary(opEq, a, b) }

// NotEqual returns a != b as bool.
func NotEqual(a, b any) *Array { return binary(opNe, a, b) }

// Less returns a < b as bool.
func Less(a, b any) *Array { return binary(opLt, a, b) }

// LessEqual returns a <= b as bool.
func LessEqual(a, b any) *Array { return binary(opLe, a, b) }

// Greater returns a > b as bool.
func Greater(a, b any) *Array { return binary(opGt, a, b) }

// GreaterEqual returns a >= b as bool.
func GreaterEqual(a, b any) *Array { return binary(opGe, a, b) }

// LogicalAnd returns a && b as bool.
func LogicalAnd(a, b any) *Array { return binary(opAnd, a, b) }

// LogicalOr returns a || b as bool.
func LogicalOr(a, b any) *Array { return binary(opOr, a, b) }

// Clip limits a to [lo, hi]; either bound may be nil (no limit), a number or an array.
func Clip(a *Array, lo, hi any) *Array {
	if lo != nil {
		a = Maximum(a, lo)
	}
	if hi != nil {
		a = Minimum(a, hi)
	}
	return a
}

// Add returns a + b. Methods mirror the functions of the same name for chaining.
func (a *Array) Add(b any) *Array { return Add(a, b) }

// Sub returns a - b.
func (a *Array) Sub(b any) *Array { return Subtract(a, b) }

// Mul returns a * b.
func (a *Array) Mul(b any) *Array { return Multiply(a, b) }

// Div returns a / b.
func (a *Array) Div(b any) *Array { return Divide(a, b) }

// Pow returns a ** b.
func (a *Array) Pow(b any) *Array { return Power(a, b) }
