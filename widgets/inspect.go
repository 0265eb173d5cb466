package widgets

import (
	"fmt"
	"html"
	"math"
	"strings"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Stats summarises an array's values, as Inspect shows them.
type Stats struct {
	// Shape, Dtype and Backend describe the array and where it was evaluated.
	Shape   []int
	Dtype   string
	Backend string
	// Size is the number of elements; NaN, PosInf and NegInf count the non-finite ones.
	Size, NaN, PosInf, NegInf int
	// Min, Max, Mean and Std are over the finite values (NaN when there is none).
	Min, Max, Mean, Std float64
}

// ArrayStats evaluates x and summarises its values.
func ArrayStats(x *mx.Array) Stats {
	vals := x.Float64s()
	s := Stats{Shape: x.Shape(), Dtype: x.Dtype().String(), Backend: mx.CurrentBackend().Name(), Size: len(vals),
		Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, sq float64
	n := 0
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			s.NaN++
		case math.IsInf(v, 1):
			s.PosInf++
		case math.IsInf(v, -1):
			s.NegInf++
		default:
			n++
			sum += v
			s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
		}
	}
	if n == 0 {
		s.Min, s.Max, s.Mean, s.Std = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return s
	}
	s.Mean = sum / float64(n)
	for _, v := range vals {
		if finite(v) {
			sq += (v - s.Mean) * (v - s.Mean)
		}
	}
	s.Std = math.Sqrt(sq / float64(n))
	return s
}

// rows returns the statistics as name/value rows.
func (s Stats) rows() [][]string {
	f := func(v float64) string { return fmt.Sprintf("%.6g", v) }
	return [][]string{
		{"shape", fmt.Sprint(s.Shape)}, {"dtype", s.Dtype}, {"backend", s.Backend}, {"size", fmt.Sprint(s.Size)},
		{"min", f(s.Min)}, {"max", f(s.Max)}, {"mean", f(s.Mean)}, {"std", f(s.Std)},
		{"NaN", fmt.Sprint(s.NaN)}, {"+Inf", fmt.Sprint(s.PosInf)}, {"-Inf", fmt.Sprint(s.NegInf)},
	}
}

// maxHeatmapSide bounds the rows and columns Inspect draws: larger matrices are averaged over
// blocks.
const maxHeatmapSide = 48

// Inspect shows what an array holds: its shape, dtype and backend, min/max/mean/std of its
// finite values, how many are NaN or ±Inf, a histogram of the values and, for a 2-D array,
// a heatmap (averaged over blocks when a side exceeds 48). It evaluates x. Outside a notebook
// it prints the statistics.
func Inspect(name string, x *mx.Array) {
	show(func() string { return InspectHTML(name, x) }, func() string { return inspectText(name, x) })
}

// InspectHTML returns the fragment Inspect displays: a div of class mlxgo-inspect holding the
// statistics table, the histogram and, for 2-D arrays, the heatmap.
func InspectHTML(name string, x *mx.Array) string {
	if x == nil {
		return errorHTML(inputError("Inspect", name, "nil array"))
	}
	s := ArrayStats(x)
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="mlxgo-inspect"><div style="font-weight:bold;">%s</div>`, html.EscapeString(name))
	b.WriteString(TableHTML([]string{"", ""}, s.rows()))
	if s.Size == 0 {
		b.WriteString(errorHTML(inputError("Inspect", name, "the array is empty (shape %v): nothing to draw", s.Shape)))
		b.WriteString("</div>")
		return b.String()
	}
	vals := x.Float64s()
	f32 := make([]float32, len(vals))
	for i, v := range vals {
		f32[i] = float32(v)
	}
	if s.Size-s.NaN-s.PosInf-s.NegInf > 0 {
		b.WriteString(HistogramHTML(name+": values", f32, 40))
	}
	if x.Ndim() == 2 {
		z, note := blockMean(vals, x.Dim(0), x.Dim(1), maxHeatmapSide)
		b.WriteString(HeatmapHTML(joinNonEmpty(" ", name, note), z, nil, nil))
	}
	b.WriteString("</div>")
	return b.String()
}

// blockMean reshapes row-major vals (r×c) into rows, averaging blocks so no side exceeds
// side. Non-finite values propagate into their block's mean.
func blockMean(vals []float64, r, c, side int) ([][]float64, string) {
	br, bc := (r+side-1)/side, (c+side-1)/side
	rows, cols := (r+br-1)/br, (c+bc-1)/bc
	z := make([][]float64, rows)
	for i := range z {
		z[i] = make([]float64, cols)
		for j := range z[i] {
			sum, n := 0.0, 0
			for y := i * br; y < min(r, (i+1)*br); y++ {
				for x := j * bc; x < min(c, (j+1)*bc); x++ {
					sum += vals[y*c+x]
					n++
				}
			}
			z[i][j] = sum / float64(n)
		}
	}
	if br == 1 && bc == 1 {
		return z, ""
	}
	return z, fmt.Sprintf("(means of %d×%d blocks)", br, bc)
}

func inspectText(name string, x *mx.Array) string {
	if x == nil {
		return inputError("Inspect", name, "nil array").Error()
	}
	var b strings.Builder
	b.WriteString(name)
	for _, r := range ArrayStats(x).rows() {
		fmt.Fprintf(&b, "\n  %-8s %s", r[0], r[1])
	}
	return b.String()
}
