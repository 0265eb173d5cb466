package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(reduce)
	Register(softmax)
	Register(cumsum)
}

// rowsLast returns the values of a with the reduced axes moved last, as float32 or int64
// rows of length r.
func rowsLast(a *node, axes []int) (f []float32, iv []int64, r int) {
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
		r *= a.Shape[ax]
	}
	v := a
	if !isIdentity(perm) {
		st := a.StridesOrDefault()
		ns := make([]int, n)
		shape := make([]int, n)
		for i, ax := range perm {
			ns[i], shape[i] = st[ax], a.Shape[ax]
		}
		v = &node{Shape: shape, Dtype: a.Dtype, Storage: a.Storage, Strides: ns, Offset: a.Offset}
	}
	if a.Dtype.IsFloat() {
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

func reduce(p backend.Reduce, in []*node, out *node) {
	f, iv, r := rowsLast(in[0], p.Axes)
	rows := out.Size()
	if p.Kind == backend.ArgMax || p.Kind == backend.ArgMin {
		o, commit := outInts(out)
		if f == nil {
			f = make([]float32, len(iv))
			for i, v := range iv {
				f[i] = float32(v)
			}
		}
		parallelFor(rows, max(1, 1<<14/max(r, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := f[i*r : (i+1)*r]
				best := 0
				for j, v := range row {
					if (p.Kind == backend.ArgMax && (v > row[best] || (v != v && row[best] == row[best]))) ||
						(p.Kind == backend.ArgMin && (v < row[best] || (v != v && row[best] == row[best]))) {
						best = j
					}
				}
				o[i] = int64(best)
			}
		})
		commit()
		return
	}
	if f != nil {
		o, commit := outFloats(out)
		parallelFor(rows, max(1, 4096/max(r, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				o[i] = reduceRow(p.Kind, f[i*r:(i+1)*r])
			}
		})
		commit()
		return
	}
	o, commit := outInts(out)
	for i := 0; i < rows; i++ {
		row := iv[i*r : (i+1)*r]
		var acc int64
		switch p.Kind {
		case backend.Sum:
			for _, v := range row {
				acc += v
			}
		case backend.Prod:
			acc = 1
			for _, v := range row {
				acc *= v
			}
		case backend.Max:
			acc = math.MinInt64
			for _, v := range row {
				acc = max(acc, v)
			}
		case backend.Min:
			acc = math.MaxInt64
			for _, v := range row {
				acc = min(acc, v)
			}
		}
		o[i] = acc
	}
	commit()
}

func reduceRow(k backend.ReduceKind, row []float32) float32 {
	switch k {
	case backend.Sum:
		var acc float64
		for _, v := range row {
			acc += float64(v)
		}
		return float32(acc)
	case backend.Prod:
		acc := 1.0
		for _, v := range row {
			acc *= float64(v)
		}
		return float32(acc)
	case backend.Max:
		acc := float32(math.Inf(-1))
		for _, v := range row {
			if v > acc || v != v {
				acc = v
			}
		}
		return acc
	case backend.Min:
		acc := float32(math.Inf(1))
		for _, v := range row {
			if v < acc || v != v {
				acc = v
			}
		}
		return acc
	case backend.LogSumExp:
		m := maxVec(row)
		if math.IsInf(float64(m), 0) {
			return m
		}
		return m + float32(math.Log(sumExpSub(row, m)))
	}
	panic("unreachable")
}

func softmax(_ backend.Softmax, in []*node, out *node) {
	x := floats(in[0])
	o, commit := outFloats(out)
	r := in[0].Shape[in[0].Ndim()-1]
	rows := len(x) / max(r, 1)
	parallelFor(rows, max(1, 1<<15/max(r, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			softmaxRow(o[i*r:(i+1)*r], x[i*r:(i+1)*r])
		}
	})
	commit()
}

func softmaxRow(o, x []float32) {
	m := maxVec(x)
	s := expSubSum(o, x, m)
	scaleVec(o, float32(1/s))
}

func cumsum(p backend.Cumsum, in []*node, out *node) {
	r := in[0].Shape[in[0].Ndim()-1]
	if out.Dtype.IsFloat() {
		x := floats(in[0])
		o, commit := outFloats(out)
		parallelFor(len(x)/max(r, 1), max(1, 1<<14/max(r, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				var acc float64
				for jj := 0; jj < r; jj++ {
					j := jj
					if p.Reverse {
						j = r - 1 - jj
					}
					if p.Inclusive {
						acc += float64(x[i*r+j])
						o[i*r+j] = float32(acc)
					} else {
						o[i*r+j] = float32(acc)
						acc += float64(x[i*r+j])
					}
				}
			}
		})
		commit()
		return
	}
	x := ints(in[0])
	o, commit := outInts(out)
	for i := 0; i*r < len(x); i++ {
		var acc int64
		for jj := 0; jj < r; jj++ {
			j := jj
			if p.Reverse {
				j = r - 1 - jj
			}
			if p.Inclusive {
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
