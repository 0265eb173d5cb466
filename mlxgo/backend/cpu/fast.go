package cpu

import (
	"math"

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
			var ss float32
			for _, v := range row {
				ss += v * v
			}
			r := float32(1 / math.Sqrt(float64(ss/float32(d)+p.Eps)))
			or := o[i*d : (i+1)*d]
			for j, v := range row {
				or[j] = w[j] * (v * r)
			}
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
		var ss float32
		for _, v := range row {
			ss += v * v
		}
		return float32(1 / math.Sqrt(float64(ss/float32(d)+p.Eps)))
	}
	if p.Weight {
		// Fixed split over columns keeps the sum order independent of scheduling.
		acc := make([]float64, d)
		for i := 0; i < rows; i++ {
			row, gr := x[i*d:(i+1)*d], g[i*d:(i+1)*d]
			r := rms(row)
			for j := range acc {
				acc[j] += float64(gr[j] * row[j] * r)
			}
		}
		for j := range o {
			o[j] = float32(acc[j])
		}
		commit()
		return
	}
	parallelFor(rows, max(1, 8192/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, gr, or := x[i*d:(i+1)*d], g[i*d:(i+1)*d], o[i*d:(i+1)*d]
			r := rms(row)
			var dot float32
			for j, v := range row {
				dot += gr[j] * w[j] * v * r
			}
			dot /= float32(d)
			for j, v := range row {
				or[j] = r * (gr[j]*w[j] - v*r*dot)
			}
		}
	})
	commit()
}

func layerNorm(p backend.LayerNorm, in []*node, out *node) {
	x, w, b := floats(in[0]), floats(in[1]), floats(in[2])
	d := in[0].Shape[in[0].Ndim()-1]
	o, commit := outFloats(out)
	for i := 0; i*d < len(x); i++ {
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
	commit()
}

func rope(p backend.RoPE, in []*node, out *node) {
	x := floats(in[0])
	n := in[0].Ndim()
	L, D := in[0].Shape[n-2], in[0].Shape[n-1]
	o, commit := outFloats(out)
	copy(o, x)
	half := p.Dims / 2
	cos := make([]float32, L*half)
	sin := make([]float32, L*half)
	for t := 0; t < L; t++ {
		pos := float32(p.Offset+t) * p.Scale
		for i := 0; i < half; i++ {
			th := float64(pos * p.InvFreq[i])
			cos[t*half+i] = float32(math.Cos(th))
			s := float32(math.Sin(th))
			if p.Inverse {
				s = -s
			}
			sin[t*half+i] = s
		}
	}
	rows := len(x) / D
	for r := 0; r < rows; r++ {
		t := r % L
		xr, or := x[r*D:(r+1)*D], o[r*D:(r+1)*D]
		c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
		for i := 0; i < half; i++ {
			var a, b int
			if p.Traditional {
				a, b = 2*i, 2*i+1
			} else {
				a, b = i, i+half
			}
			x1, x2 := xr[a], xr[b]
			or[a] = x1*c[i] - x2*s[i]
			or[b] = x1*s[i] + x2*c[i]
		}
	}
	commit()
}
