package cpu

import "github.com/mlxgo/mlxgo/mlxgo/backend"

func init() {
	Register(full)
	Register(arange)
	Register(linspace)
	Register(eye)
	Register(tri)
}

func full(p backend.Full, _ []*node, out *node) {
	if out.Dtype.IsFloat() {
		o, commit := outFloats(out)
		for i := range o {
			o[i] = float32(p.Value)
		}
		commit()
		return
	}
	o, commit := outInts(out)
	for i := range o {
		o[i] = int64(p.Value)
	}
	commit()
}

func arange(p backend.Arange, _ []*node, out *node) {
	o, commit := outFloats64(out)
	for i := range o {
		o[i] = p.Start + float64(i)*p.Step
	}
	commit()
}

func linspace(p backend.Linspace, _ []*node, out *node) {
	o, commit := outFloats64(out)
	n := len(o)
	for i := range o {
		if n == 1 {
			o[i] = p.Start
		} else {
			o[i] = p.Start + (p.Stop-p.Start)*float64(i)/float64(n-1)
		}
	}
	commit()
}

func eye(p backend.Eye, _ []*node, out *node) {
	o, commit := outFloats64(out)
	n, m := out.Shape[0], out.Shape[1]
	for i := 0; i < n; i++ {
		if j := i + p.K; j >= 0 && j < m {
			o[i*m+j] = 1
		}
	}
	commit()
}

func tri(p backend.Tri, _ []*node, out *node) {
	o, commit := outFloats64(out)
	n, m := out.Shape[0], out.Shape[1]
	for i := 0; i < n; i++ {
		for j := 0; j < m && j <= i+p.K; j++ {
			o[i*m+j] = 1
		}
	}
	commit()
}
