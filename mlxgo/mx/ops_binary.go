package mx

import "github.com/mlxgo/mlxgo/mlxgo/backend"

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

type binKind = backend.BinaryKind

const (
	opAdd       = backend.Add
	opSub       = backend.Subtract
	opMul       = backend.Multiply
	opDiv       = backend.Divide
	opMax       = backend.Maximum
	opMin       = backend.Minimum
	opPow       = backend.Power
	opEq        = backend.Equal
	opNe        = backend.NotEqual
	opLt        = backend.Less
	opLe        = backend.LessEqual
	opGt        = backend.Greater
	opGe        = backend.GreaterEqual
	opAnd       = backend.LogicalAnd
	opOr        = backend.LogicalOr
	opFloorDiv  = backend.FloorDivide
	opRemainder = backend.Remainder
	opAtan2     = backend.Atan2
)

type binaryPrim struct{ k binKind }

func (p binaryPrim) Op() backend.Op { return backend.Binary{Kind: p.k} }

func (p binaryPrim) isCompare() bool { return p.k >= opEq && p.k <= opOr }

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
	op := k.String()
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
