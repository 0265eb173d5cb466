package mx

import "math"

type unKind int

const (
	opNeg unKind = iota
	opExp
	opLog
	opLog1p
	opSqrt
	opRsqrt
	opSquare
	opAbs
	opTanh
	opSigmoid
	opSilu
	opGelu
	opGeluApprox
	opCos
	opSin
	opErf
	opSign
	opFloor
	opCeil
	opRound
	opNot
	opReciprocal
	opIsNaN
	opIsInf
)

var unNames = [...]string{"Negative", "Exp", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Abs",
	"Tanh", "Sigmoid", "Silu", "Gelu", "GeluApprox", "Cos", "Sin", "Erf", "Sign", "Floor", "Ceil",
	"Round", "LogicalNot", "Reciprocal", "IsNaN", "IsInf"}

type unaryPrim struct{ k unKind }

func (p unaryPrim) Name() string { return unNames[p.k] }

func sigmoid32(x float32) float32 { return 1 / (1 + expf(-x)) }

func unaryF(k unKind, x float32) float32 {
	f := float64(x)
	switch k {
	case opNeg:
		return -x
	case opExp:
		return expf(x)
	case opLog:
		return float32(math.Log(f))
	case opLog1p:
		return float32(math.Log1p(f))
	case opSqrt:
		return float32(math.Sqrt(f))
	case opRsqrt:
		return float32(1 / math.Sqrt(f))
	case opSquare:
		return x * x
	case opAbs:
		return float32(math.Abs(f))
	case opTanh:
		return float32(math.Tanh(f))
	case opSigmoid:
		return sigmoid32(x)
	case opSilu:
		return x * sigmoid32(x)
	case opGelu:
		return float32(f * (1 + math.Erf(f/math.Sqrt2)) / 2)
	case opGeluApprox:
		return float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
	case opCos:
		return float32(math.Cos(f))
	case opSin:
		return float32(math.Sin(f))
	case opErf:
		return float32(math.Erf(f))
	case opSign:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x
	case opFloor:
		return float32(math.Floor(f))
	case opCeil:
		return float32(math.Ceil(f))
	case opRound:
		return float32(math.RoundToEven(f))
	case opNot:
		return b2f(x == 0)
	case opReciprocal:
		return 1 / x
	case opIsNaN:
		return b2f(x != x)
	case opIsInf:
		return b2f(math.IsInf(f, 0))
	}
	panic("unreachable")
}

func (p unaryPrim) Eval(in []*Array, out *Array) {
	if !in[0].dtype.IsFloat() && !out.dtype.IsFloat() {
		x := ints(in[0])
		o, commit := outInts(out)
		for i, v := range x {
			switch p.k {
			case opNeg:
				o[i] = -v
			case opSquare:
				o[i] = v * v
			case opAbs:
				o[i] = max(v, -v)
			case opSign:
				o[i] = b2i(v > 0) - b2i(v < 0)
			case opNot:
				o[i] = b2i(v == 0)
			case opIsNaN, opIsInf:
				o[i] = 0
			default:
				o[i] = v
			}
		}
		commit()
		return
	}
	x := floats(in[0])
	o, commit := outFloats(out)
	parallelFor(len(o), 1<<14, func(lo, hi int) {
		switch p.k {
		case opNeg:
			for i := lo; i < hi; i++ {
				o[i] = -x[i]
			}
		case opSquare:
			for i := lo; i < hi; i++ {
				o[i] = x[i] * x[i]
			}
		default:
			for i := lo; i < hi; i++ {
				o[i] = unaryF(p.k, x[i])
			}
		}
	})
	commit()
}

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
		panicf(unNames[k], "nil array")
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

func (wherePrim) Name() string { return "Where" }

func (wherePrim) Eval(in []*Array, out *Array) {
	shape := out.shape
	c := ints(in[0])
	sc := bcastStrides(in[0].shape, shape)
	sx := bcastStrides(in[1].shape, shape)
	sy := bcastStrides(in[2].shape, shape)
	// Expand the condition to the output shape first, then select.
	cond := make([]bool, out.Size())
	bcastLoop(shape, sc, sc, func(o, ia, _, n, da, _ int) {
		for j := 0; j < n; j++ {
			cond[o+j] = c[ia+j*da] != 0
		}
	})
	if out.dtype.IsFloat() {
		x, y := floats(in[1]), floats(in[2])
		o, commit := outFloats(out)
		bcastLoop(shape, sx, sy, func(oi, ia, ib, n, da, db int) {
			for j := 0; j < n; j++ {
				if cond[oi+j] {
					o[oi+j] = x[ia+j*da]
				} else {
					o[oi+j] = y[ib+j*db]
				}
			}
		})
		commit()
		return
	}
	x, y := ints(in[1]), ints(in[2])
	o, commit := outInts(out)
	bcastLoop(shape, sx, sy, func(oi, ia, ib, n, da, db int) {
		for j := 0; j < n; j++ {
			if cond[oi+j] {
				o[oi+j] = x[ia+j*da]
			} else {
				o[oi+j] = y[ib+j*db]
			}
		}
	})
	commit()
}

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

func (astypePrim) Name() string { return "AsType" }

func (astypePrim) Eval(in []*Array, out *Array) {
	if out.dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outFloats(out)
		copy(o, x)
		commit()
		return
	}
	if in[0].dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outInts(out)
		for i, v := range x {
			if out.dtype == Bool {
				o[i] = b2i(v != 0)
			} else {
				o[i] = int64(v)
			}
		}
		commit()
		return
	}
	x := ints(in[0])
	o, commit := outInts(out)
	copy(o, x)
	commit()
}

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

func (stopGradPrim) Name() string { return "StopGradient" }
func (stopGradPrim) Eval(in []*Array, out *Array) {
	in[0].buffer().retain()
	out.setBuffer(in[0].slot.buf, in[0].strides, in[0].offset)
}
func (stopGradPrim) VJP(in []*Array, _, _ *Array) []*Array { return []*Array{nil} }

// StopGradient returns a with the same values through which no gradient flows.
func StopGradient(a *Array) *Array { return newArray(cloneInts(a.shape), a.dtype, stopGradPrim{}, a) }

func (a *Array) buffer() *buffer { return a.slot.buf }

// siluGradPrim computes g · σ(x)·(1 + x·(1 − σ(x))) in one pass.
type siluGradPrim struct{}

func (siluGradPrim) Name() string { return "SiluGrad" }

func (siluGradPrim) Eval(in []*Array, out *Array) {
	x, g := floats(in[0]), floats(in[1])
	o, commit := outFloats(out)
	parallelFor(len(o), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := sigmoid32(x[i])
			o[i] = g[i] * s * (1 + x[i]*(1-s))
		}
	})
	commit()
}

func (siluGradPrim) VJP(in []*Array, _, g *Array) []*Array {
	// d/dx of σ(x)(1 + x(1−σ)) = σ(1−σ)(2 + x(1−2σ)); linear in the incoming gradient.
	x, gin := in[0], in[1]
	s := Sigmoid(x)
	d := Multiply(Multiply(s, Subtract(1.0, s)), Add(2.0, Multiply(x, Subtract(1.0, Multiply(s, 2.0)))))
	return []*Array{Multiply(Multiply(g, gin), d), newArray(cloneInts(x.shape), g.dtype, siluGradPrim{}, x, g)}
}
