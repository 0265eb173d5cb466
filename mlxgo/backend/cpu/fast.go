package cpu

import (
	"math"
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(rmsNorm)
	Register(rmsNormGrad)
	Register(layerNorm)
	Register(rope)
}

func rmsNorm(p backend.RMSNorm, in []*node, out *node) {
	x, w := floats(in[0]), floats(in[1])
	d := in[0].Shape[in[0].Ndim()-1]
	o, commit := outFloats(out)
	rows := len(x) / max(d, 1)
	parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*d : (i+1)*d]
			// The sum of squares on vectors: as one running sum it was a
			// chain of dependent adds, four cycles per element.
			r := float32(1 / math.Sqrt(float64(dotVec(row, row)/float32(d)+p.Eps)))
			or := o[i*d : (i+1)*d]
			floatVS(backend.Multiply, or, row, r) // w·(x·r), on vectors
			floatVV(backend.Multiply, or, w[:d], or)
		}
	})
	commit()
}

func rmsNormGrad(p backend.RMSNormGrad, in []*node, out *node) {
	x, w, g := floats(in[0]), floats(in[1]), floats(in[2])
	d := len(w)
	rows := len(x) / max(d, 1)
	o, commit := outFloats(out)
	rms := func(row []float32) float32 {
		return float32(1 / math.Sqrt(float64(dotVec(row, row)/float32(d)+p.Eps)))
	}
	if p.Weight {
		// The rows' scales in parallel, then each core sums its own columns over all
		// rows in row order, so the result does not depend on the split.
		rs := make([]float32, rows)
		parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				rs[i] = rms(x[i*d : (i+1)*d])
			}
		})
		parallelFor(d, 64, func(lo, hi int) {
			acc := make([]float64, hi-lo)
			for i := 0; i < rows; i++ {
				row, gr, r := x[i*d+lo:i*d+hi], g[i*d+lo:i*d+hi], rs[i]
				for j := range acc {
					acc[j] += float64(gr[j] * row[j] * r)
				}
			}
			for j, a := range acc {
				o[lo+j] = float32(a)
			}
		})
		commit()
		return
	}
	parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
		t := make([]float32, d)
		for i := lo; i < hi; i++ {
			row, gr, or := x[i*d:(i+1)*d], g[i*d:(i+1)*d], o[i*d:(i+1)*d]
			r := rms(row)
			// r·(g·w − x·r·dot) on vectors, one operation at a time in that
			// order; g·w first, so that Σ g·w·x is a dot product.
			floatVV(backend.Multiply, or, gr, w)
			dot := dotVec(or, row) * r / float32(d)
			floatVS(backend.Multiply, t, row, r)
			floatVS(backend.Multiply, t, t, dot)
			floatVV(backend.Subtract, or, or, t)
			floatVS(backend.Multiply, or, or, r)
		}
	})
	commit()
}

func layerNorm(p backend.LayerNorm, in []*node, out *node) {
	x, w, b := floats(in[0]), floats(in[1]), floats(in[2])
	d := in[0].Shape[in[0].Ndim()-1]
	o, commit := outFloats(out)
	parallelFor(len(x)/max(d, 1), max(1, 8192/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*d : (i+1)*d]
			var mu, v float64
			for _, e := range row {
				mu += float64(e)
			}
			mu /= float64(d)
			for _, e := range row {
				v += (float64(e) - mu) * (float64(e) - mu)
			}
			r := 1 / math.Sqrt(v/float64(d)+float64(p.Eps))
			for j, e := range row {
				o[i*d+j] = float32((float64(e)-mu)*r)*w[j] + b[j]
			}
		}
	})
	commit()
}

func rope(p backend.RoPE, in []*node, out *node) {
	// Rows are read in place when they are unit-stride (the heads of a transposed
	// projection), so the input is not first copied.
	x, rowOff, inPlace := rowsOf(in[0])
	if !inPlace {
		x = floats(in[0])
	}
	n := in[0].Ndim()
	L, D := in[0].Shape[n-2], in[0].Shape[n-1]
	o, commit := outFloats(out)
	half := p.Dims / 2
	cos, sin := ropeTable(p, L)
	rows := len(o) / max(D, 1)
	// Rows at the same position of consecutive positions are a fixed stride
	// apart (D, or the position axis's stride in place): the offset is worked
	// out from the strides once per run of L rows (it cost more than the
	// rotation when done for every row).
	step := D
	if inPlace && L > 1 {
		step = rowOff(1) - rowOff(0)
	}
	parallelFor(rows, max(1, 1<<14/max(D, 1)), func(lo, hi int) {
		t, xo := lo%L, lo*D
		for r := lo; r < hi; r, t, xo = r+1, t+1, xo+step {
			if t == L {
				t = 0
			}
			if inPlace && (t == 0 || r == lo) {
				xo = rowOff(r)
			}
			xr, or := x[xo:xo+D], o[r*D:(r+1)*D]
			c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
			copy(or[2*half:], xr[2*half:])
			if p.Traditional {
				for i := range c {
					x1, x2 := xr[2*i], xr[2*i+1]
					or[2*i] = x1*c[i] - x2*s[i]
					or[2*i+1] = x1*s[i] + x2*c[i]
				}
				continue
			}
			ropeVec(or[:half], or[half:2*half], xr[:half], xr[half:2*half], c, s)
		}
	})
	commit()
}

// ropeVecGo sets o1 = x1·c − x2·s and o2 = x1·s + x2·c, all of len(c): the
// rotation of the pairs (x1[i], x2[i]) by the angles of c and s.
func ropeVecGo(o1, o2, x1, x2, c, s []float32) {
	o1, o2, x1, x2, s = o1[:len(c)], o2[:len(c)], x1[:len(c)], x2[:len(c)], s[:len(c)]
	for i := range c {
		a, b := x1[i], x2[i]
		o1[i] = a*c[i] - b*s[i]
		o2[i] = a*s[i] + b*c[i]
	}
}

// ropeKey identifies a table of cos and sin: the frequencies (as bytes), the
// positions and the direction.
type ropeKey struct {
	freq      string
	scale     float32
	offset, L int
	inverse   bool
}

// ropeCache holds the tables rope has made: every layer of a model rotates q
// and k by the same positions, so a training step makes its table once
// instead of 60 times. It is emptied when it reaches ropeCacheMax tables (a
// decoding loop makes one per position).
var ropeCache struct {
	sync.Mutex
	tables map[ropeKey][2][]float32
}

const ropeCacheMax = 64

// ropeTable returns cos and sin of (Offset+t)·Scale·InvFreq[i] for t < L and
// i < Dims/2 (sin negated for the inverse rotation), L rows of Dims/2. The
// tables are shared: callers must not write to them.
func ropeTable(p backend.RoPE, L int) (cos, sin []float32) {
	half := p.Dims / 2
	freq := make([]byte, 4*half)
	for i, f := range p.InvFreq[:half] {
		b := math.Float32bits(f)
		freq[4*i], freq[4*i+1], freq[4*i+2], freq[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
	key := ropeKey{string(freq), p.Scale, p.Offset, L, p.Inverse}
	ropeCache.Lock()
	t, ok := ropeCache.tables[key]
	ropeCache.Unlock()
	if ok {
		return t[0], t[1]
	}
	cos, sin = make([]float32, L*half), make([]float32, L*half)
	parallelFor(L, max(1, 1024/max(half, 1)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			pos := float32(p.Offset+t) * p.Scale
			for i := 0; i < half; i++ {
				s, c := math.Sincos(float64(pos * p.InvFreq[i]))
				if p.Inverse {
					s = -s
				}
				cos[t*half+i], sin[t*half+i] = float32(c), float32(s)
			}
		}
	})
	ropeCache.Lock()
	if ropeCache.tables == nil || len(ropeCache.tables) >= ropeCacheMax {
		ropeCache.tables = map[ropeKey][2][]float32{}
	}
	ropeCache.tables[key] = [2][]float32{cos, sin}
	ropeCache.Unlock()
	return cos, sin
}
