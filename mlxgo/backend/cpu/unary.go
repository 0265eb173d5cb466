package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(unary)
	Register(where)
	Register(astype)
	Register(siluGrad)
}

func sigmoid32(x float32) float32 { return 1 / (1 + expf(-x)) }

func unaryF(k backend.UnaryKind, x float32) float32 {
	f := float64(x)
	switch k {
	case backend.Negative:
		return -x
	case backend.Exp:
		return expf(x)
	case backend.Log:
		return float32(math.Log(f))
	case backend.Log1p:
		return float32(math.Log1p(f))
	case backend.Sqrt:
		return float32(math.Sqrt(f))
	case backend.Rsqrt:
		return float32(1 / math.Sqrt(f))
	case backend.Square:
		return x * x
	case backend.Abs:
		return float32(math.Abs(f))
	case backend.Tanh:
		return float32(math.Tanh(f))
	case backend.Sigmoid:
		return sigmoid32(x)
	case backend.Silu:
		return x * sigmoid32(x)
	case backend.Gelu:
		return float32(f * (1 + math.Erf(f/math.Sqrt2)) / 2)
	case backend.GeluApprox:
		return float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
	case backend.Cos:
		return float32(math.Cos(f))
	case backend.Sin:
		return float32(math.Sin(f))
	case backend.Erf:
		return float32(math.Erf(f))
	case backend.Sign:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x
	case backend.Floor:
		return float32(math.Floor(f))
	case backend.Ceil:
		return float32(math.Ceil(f))
	case backend.Round:
		return float32(math.RoundToEven(f))
	case backend.LogicalNot:
		return b2f(x == 0)
	case backend.Reciprocal:
		return 1 / x
	case backend.IsNaN:
		return b2f(x != x)
	case backend.IsInf:
		return b2f(math.IsInf(f, 0))
	}
	panic("unreachable")
}

func unary(p backend.Unary, in []*node, out *node) {
	if !in[0].Dtype.IsFloat() && !out.Dtype.IsFloat() {
		x := ints(in[0])
		o, commit := outInts(out)
		for i, v := range x {
			switch p.Kind {
			case backend.Negative:
				o[i] = -v
			case backend.Square:
				o[i] = v * v
			case backend.Abs:
				o[i] = max(v, -v)
			case backend.Sign:
				o[i] = b2i(v > 0) - b2i(v < 0)
			case backend.LogicalNot:
				o[i] = b2i(v == 0)
			case backend.IsNaN, backend.IsInf:
				o[i] = 0
			default:
				o[i] = v
			}
		}
		commit()
		return
	}
	x := floats(in[0])
	var o []float32
	var commit func()
	if p.Kind == backend.GeluApprox { // geluApproxVec makes two passes: no donation
		o, commit = outFloats(out)
	} else {
		o, commit = outFloatsFrom(out, in[0])
	}
	parallelFor(len(o), unaryGrain(p.Kind), func(lo, hi int) { unaryFloats(p.Kind, o[lo:hi], x[lo:hi]) })
	commit()
}

// unaryGrain is the fewest elements a core gets: elements of the vector kernels and
// the simplest loops cost a fraction of a nanosecond, those through math several.
func unaryGrain(k backend.UnaryKind) int {
	switch k {
	case backend.Negative, backend.Square, backend.Abs, backend.Reciprocal, backend.Exp,
		backend.Sigmoid, backend.Silu, backend.GeluApprox:
		return 1 << 15
	}
	return 1 << 12
}

// unaryFloats sets o = k(x), through the vector kernels where there is one.
func unaryFloats(k backend.UnaryKind, o, x []float32) {
	switch k {
	case backend.Negative:
		for i, v := range x {
			o[i] = -v
		}
	case backend.Square:
		for i, v := range x {
			o[i] = v * v
		}
	case backend.Exp:
		expVec(o, x)
	case backend.Sigmoid:
		sigmoidVec(o, x)
	case backend.Silu:
		siluVec(o, x)
	case backend.GeluApprox:
		geluApproxVec(o, x)
	default:
		for i, v := range x {
			o[i] = unaryF(k, v)
		}
	}
}

// geluApproxVec sets o = x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2, written as
// x·σ(2·√(2/π)·(x + 0.044715·x³)) to use the vector sigmoid. o may not be x.
func geluApproxVec(o, x []float32) {
	const c = 2 * 0.7978845608028654
	for i, v := range x {
		o[i] = c * (v + 0.044715*v*v*v)
	}
	sigmoidVec(o, o)
	for i, v := range x {
		o[i] *= v
	}
}

func where(_ backend.Where, in []*node, out *node) {
	shape := out.Shape
	c := ints(in[0])
	sc := bcastStrides(in[0].Shape, shape)
	sx := bcastStrides(in[1].Shape, shape)
	sy := bcastStrides(in[2].Shape, shape)
	// Expand the condition to the output shape first, then select.
	cond := make([]bool, out.Size())
	bcastParallel(shape, sc, sc, 1<<15, func(o, ia, _, n, da, _ int) {
		for j := 0; j < n; j++ {
			cond[o+j] = c[ia+j*da] != 0
		}
	})
	if out.Dtype.IsFloat() {
		x, y := floats(in[1]), floats(in[2])
		o, commit := outFloats(out)
		bcastParallel(shape, sx, sy, 1<<15, func(oi, ia, ib, n, da, db int) {
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

func astype(_ backend.AsType, in []*node, out *node) {
	if out.Dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outFloats(out)
		parallelFor(len(o), 1<<16, func(lo, hi int) { copy(o[lo:hi], x[lo:hi]) })
		commit()
		return
	}
	if in[0].Dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outInts(out)
		for i, v := range x {
			if out.Dtype == backend.Bool {
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

func siluGrad(_ backend.SiluGrad, in []*node, out *node) {
	x, g := floats(in[0]), floats(in[1])
	o, commit := outFloats(out)
	parallelFor(len(o), 1<<15, func(lo, hi int) { siluGradVec(o[lo:hi], x[lo:hi], g[lo:hi]) })
	commit()
}
