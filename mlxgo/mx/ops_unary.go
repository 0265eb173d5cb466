package mx

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

type unKind = backend.UnaryKind

const (
	opNeg        = backend.Negative
	opExp        = backend.Exp
	opLog        = backend.Log
	opLog1p      = backend.Log1p
	opSqrt       = backend.Sqrt
	opRsqrt      = backend.Rsqrt
	opSquare     = backend.Square
	opAbs        = backend.Abs
	opTanh       = backend.Tanh
	opSigmoid    = backend.Sigmoid
	opSilu       = backend.Silu
	opGelu       = backend.Gelu
	opGeluApprox = backend.GeluApprox
	opCos        = backend.Cos
	opSin        = backend.Sin
	opErf        = backend.Erf
	opSign       = backend.Sign
	opFloor      = backend.Floor
	opCeil       = backend.Ceil
	opRound      = backend.Round
	opNot        = backend.LogicalNot
	opReciprocal = backend.Reciprocal
	opIsNaN      = backend.IsNaN
	opIsInf      = backend.IsInf
)

type unaryPrim struct{ k unKind }

func (p unaryPrim) Op() backend.Op { return backend.Unary{Kind: p.k} }

func (p unaryPrim) VJP(in []*Array, out, g *Array) []*Array {
	x := in[0]
	var r *Array
	switch p.k {
	case opNeg:
		r = Negative(g)
	case opExp:
		r = Multiply(g, out)
	case opLog:
		r = Divide(g, x)
	case opLog1p:
		r = Divide(g, Add(x, 1.0))
	case opSqrt:
		r = Divide(g, Multiply(out, 2.0))
	case opRsqrt:
		r = Multiply(g, Multiply(Divide(out, x), -0.5))
	case opSquare:
		r = Multiply(g, Multiply(x, 2.0))
	case opAbs:
		r = Multiply(g, Sign(x))
	case opTanh:
		r = Multiply(g, Subtract(1.0, Square(out)))
	case opSigmoid:
		r = Multiply(g, Multiply(out, Subtract(1.0, out)))
	case opSilu:
		r = newArray(cloneInts(x.shape), g.dtype, siluGradPrim{}, x, g)
	case opGelu:
		// d/dx x*Phi(x) = Phi(x) + x*phi(x)
		phi := Multiply(Exp(Multiply(Square(x), -0.5)), 1/math.Sqrt(2*math.Pi))
		cdf := Multiply(Add(Erf(Multiply(x, 1/math.Sqrt2)), 1.0), 0.5)
		r = Multiply(g, Add(cdf, Multiply(x, phi)))
	case opGeluApprox:
		c := math.Sqrt(2 / math.Pi)
		inner := Multiply(Add(x, Multiply(Power(x, 3.0), 0.044715)), c)
		t := Tanh(inner)
		dinner := Multiply(Add(Multiply(Square(x), 3*0.044715), 1.0), c)
		d := Add(Multiply(Add(t, 1.0), 0.5), Multiply(Multiply(Multiply(x, 0.5), Subtract(1.0, Square(t))), dinner))
		r = Multiply(g, d)
	case opCos:
		r = Multiply(g, Negative(Sin(x)))
	case opSin:
		r = Multiply(g, Cos(x))
	case opErf:
		r = Multiply(g, Multiply(Exp(Negative(Square(x))), 2/math.Sqrt(math.Pi)))
	case opReciprocal:
		r = Negative(Multiply(g, Square(out)))
	case opSign, opFloor, opCeil, opRound:
		r = ZerosLike(x)
	default:
		return []*Array{nil}
	}
	return []*Array{r}
}

func unary(k unKind, a *Array) *Array {
	if a == nil {
		panicf(k.String(), "nil array")
	}
	dt := a.dtype
	switch k {
	case opNot, opIsNaN, opIsInf:
		dt = Bool
	case opNeg, opSquare, opAbs, opSign:
	default:
		if !dt.IsFloat() {
			dt = Float32
			a = AsType(a, dt)
		}
	}
	return newArray(cloneInts(a.shape), dt, unaryPrim{k}, a)
}

// Negative returns -a.
func Negative(a *Array) *Array { return unary(opNeg, a) }

// Exp returns e**a.
func Exp(a *Array) *Array { return unary(opExp, a) }

// Log returns the natural logarithm.
func Log(a *Array) *Array { return unary(opLog, a) }

// Log1p returns log(1 + a), accurate for small a.
func Log1p(a *Array) *Array { return unary(opLog1p, a) }

// Sqrt returns the square root.
func Sqrt(a *Array) *Array { return unary(opSqrt, a) }

// Rsqrt returns 1 / sqrt(a).
func Rsqrt(a *Array) *Array { return unary(opRsqrt, a) }

// Square returns a * a.
func Square(a *Array) *Array { return unary(opSquare, a) }

// Abs returns |a|.
func Abs(a *Array) *Array { return unary(opAbs, a) }

// Tanh returns the hyperbolic tangent.
func Tanh(a *Array) *Array { return unary(opTanh, a) }

// Sigmoid returns 1 / (1 + exp(-a)).
func Sigmoid(a *Array) *Array { return unary(opSigmoid, a) }

// Silu returns a * sigmoid(a).
func Silu(a *Array) *Array { return unary(opSilu, a) }

// Gelu returns the exact GELU, a * Phi(a).
func Gelu(a *Array) *Array { return unary(opGelu, a) }

// GeluApprox returns the tanh approximation of GELU.
func GeluApprox(a *Array) *Array { return unary(opGeluApprox, a) }

// Cos returns the cosine.
func Cos(a *Array) *Array { return unary(opCos, a) }

// Sin returns the sine.
func Sin(a *Array) *Array { return unary(opSin, a) }

// Erf returns the error function.
func Erf(a *Array) *Array { return unary(opErf, a) }

// Sign returns -1, 0 or 1.
func Sign(a *Array) *Array { return unary(opSign, a) }

// Floor rounds down.
func Floor(a *Array) *Array { return unary(opFloor, a) }

// Ceil rounds up.
func Ceil(a *Array) *Array { return unary(opCeil, a) }

// Round rounds half to even.
func Round(a *Array) *Array { return unary(opRound, a) }

// Reciprocal returns 1 / a.
func Reciprocal(a *Array) *Array { return unary(opReciprocal, a) }

// LogicalNot returns !a as bool.
func LogicalNot(a *Array) *Array { return unary(opNot, a) }

// IsNaN reports NaN elements.
func IsNaN(a *Array) *Array { return unary(opIsNaN, a) }

// IsInf reports infinite elements.
func IsInf(a *Array) *Array { return unary(opIsInf, a) }

// Neg returns -a.
func (a *Array) Neg() *Array { return Negative(a) }

// Exp returns e**a.
func (a *Array) Exp() *Array { return Exp(a) }

// Log returns log(a).
func (a *Array) Log() *Array { return Log(a) }

// Sqrt returns sqrt(a).
func (a *Array) Sqrt() *Array { return Sqrt(a) }

// Square returns a*a.
func (a *Array) Square() *Array { return Square(a) }

// Abs returns |a|.
func (a *Array) Abs() *Array { return Abs(a) }

// --- where, astype, stop_gradient ---

type wherePrim struct{}

func (wherePrim) Op() backend.Op { return backend.Where{} }

func (wherePrim) VJP(in []*Array, out, g *Array) []*Array {
	z := ZerosLike(g)
	return []*Array{nil,
		sumToShape(Where(in[0], g, z), in[1].shape),
		sumToShape(Where(in[0], z, g), in[2].shape)}
}

// Where selects x where cond is true and y elsewhere, with broadcasting; x and y may be
// Go numbers.
func Where(cond *Array, x, y any) *Array {
	a, b := binOperands("Where", x, y)
	shape := broadcastShapes("Where", broadcastShapes("Where", cond.shape, a.shape), b.shape)
	dt := PromoteTypes(a.dtype, b.dtype)
	return newArray(shape, dt, wherePrim{}, cond, AsType(a, dt), AsType(b, dt))
}

type astypePrim struct{}

func (astypePrim) Op() backend.Op { return backend.AsType{} }

func (astypePrim) VJP(in []*Array, out, g *Array) []*Array {
	if !in[0].dtype.IsFloat() {
		return []*Array{nil}
	}
	return []*Array{AsType(g, in[0].dtype)}
}

// AsType converts a to dtype dt (a itself when it already has it).
func AsType(a *Array, dt Dtype) *Array {
	if a.dtype == dt {
		return a
	}
	return newArray(cloneInts(a.shape), dt, astypePrim{}, a)
}

// AsType converts the array to dtype dt.
func (a *Array) AsType(dt Dtype) *Array { return AsType(a, dt) }

type stopGradPrim struct{}

func (stopGradPrim) Op() backend.Op { return backend.StopGradient{} }

func (stopGradPrim) VJP(in []*Array, _, _ *Array) []*Array { return []*Array{nil} }

// StopGradient returns a with the same values through which no gradient flows.
func StopGradient(a *Array) *Array { return newArray(cloneInts(a.shape), a.dtype, stopGradPrim{}, a) }

// siluGradPrim computes g · σ(x)·(1 + x·(1 − σ(x))) in one pass.
type siluGradPrim struct{}

func (siluGradPrim) Op() backend.Op { return backend.SiluGrad{} }

func (siluGradPrim) VJP(in []*Array, _, g *Array) []*Array {
	// d/dx of σ(x)(1 + x(1−σ)) = σ(1−σ)(2 + x(1−2σ)); linear in the incoming gradient.
	x, gin := in[0], in[1]
	s := Sigmoid(x)
	d := Multiply(Multiply(s, Subtract(1.0, s)), Add(2.0, Multiply(x, Subtract(1.0, Multiply(s, 2.0)))))
	return []*Array{Multiply(Multiply(g, gin), d), newArray(cloneInts(x.shape), g.dtype, siluGradPrim{}, x, g)}
}
