package widgets

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Heatmap displays a matrix as coloured cells: z[i][j] is drawn in row i (labelled yLabels[i],
// row 0 at the top) and column j (labelled xLabels[j]) — for example one attention head's
// weights with the prompt's tokens on both axes, or the loss of each token of each validation
// example. Nil labels number rows and columns from 0. Non-finite values leave their cell empty
// and are counted in the subtitle. Hovering a cell shows its labels and value; the colour
// scale's handles filter the range; the wheel zooms; the toolbox saves a PNG. An input that
// cannot be drawn (no values, ragged rows, label counts that do not match, no finite value)
// shows a message instead. Outside a notebook it prints the matrix's size and range.
func Heatmap(title string, z [][]float64, xLabels, yLabels []string) {
	show(func() string { return HeatmapHTML(title, z, xLabels, yLabels) },
		func() string { return heatmapText(title, z, xLabels, yLabels) })
}

// heatmapCheck validates Heatmap's input and returns the finite range and the count of
// non-finite values.
func heatmapCheck(title string, z [][]float64, xLabels, yLabels []string) (lo, hi float64, bad int, err error) {
	if len(z) == 0 || len(z[0]) == 0 {
		return 0, 0, 0, inputError("Heatmap", title, "no values (%d rows)", len(z))
	}
	cols := len(z[0])
	for i, row := range z {
		if len(row) != cols {
			return 0, 0, 0, inputError("Heatmap", title, "row %d has %d values, row 0 has %d", i, len(row), cols)
		}
	}
	if xLabels != nil && len(xLabels) != cols {
		return 0, 0, 0, inputError("Heatmap", title, "%d x labels for %d columns", len(xLabels), cols)
	}
	if yLabels != nil && len(yLabels) != len(z) {
		return 0, 0, 0, inputError("Heatmap", title, "%d y labels for %d rows", len(yLabels), len(z))
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if !finite(v) {
				bad++
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return 0, 0, bad, inputError("Heatmap", title, "none of the %d values is finite (all NaN or ±Inf)", bad)
	}
	return lo, hi, bad, nil
}

// maxLabels is the most categories an axis labels one by one.
const maxLabels = 40

// indexLabels returns labels, or "0", "1", ... n-1 when labels is nil.
func indexLabels(labels []string, n int) []string {
	if labels != nil {
		return labels
	}
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// HeatmapHTML returns the chart Heatmap displays as a self-contained HTML fragment, or an
// error message fragment for input that cannot be drawn.
func HeatmapHTML(title string, z [][]float64, xLabels, yLabels []string) string {
	lo, hi, bad, err := heatmapCheck(title, z, xLabels, yLabels)
	if err != nil {
		return errorHTML(err)
	}
	xs, ys := indexLabels(xLabels, len(z[0])), indexLabels(yLabels, len(z))
	data := make([]any, 0, len(z)*len(z[0]))
	for i, row := range z {
		for j, v := range row {
			data = append(data, []any{j, i, jsonValue(v)})
		}
	}
	if lo == hi {
		hi = lo + 1e-12
	}
	sub := joinNonEmpty(", ", fmt.Sprintf("%d×%d, min %.4g, max %.4g", len(z), len(z[0]), lo, hi), notFinite(bad))
	rotate := 0
	if len(xs) > 12 {
		rotate = 60
	}
	// Every label is drawn up to maxLabels per axis; beyond, ECharts picks a readable subset.
	xInterval, yInterval := any("auto"), any("auto")
	if len(xs) <= maxLabels {
		xInterval = 0
	}
	if len(ys) <= maxLabels {
		yInterval = 0
	}
	option := interactive(map[string]any{
		"animation": false,
		"title":     map[string]any{"text": title, "subtext": sub, "left": 10, "top": 4},
		"tooltip":   map[string]any{"position": "top"},
		"grid":      map[string]any{"left": 90, "right": 110, "top": 70, "bottom": 90},
		"xAxis": map[string]any{"type": "category", "data": xs,
			"axisLabel": map[string]any{"rotate": rotate, "interval": xInterval}},
		"yAxis": map[string]any{"type": "category", "data": ys, "inverse": true,
			"axisLabel": map[string]any{"interval": yInterval}},
		"visualMap": map[string]any{"min": lo, "max": hi, "calculable": true, "orient": "vertical",
			"right": 10, "top": 70, "precision": 3,
			"inRange": map[string]any{"color": []string{"#f7fbff", "#6baed6", "#08306b"}}},
		"series": []any{map[string]any{"name": title, "type": "heatmap", "data": data, "progressive": 0,
			"emphasis": map[string]any{"itemStyle": map[string]any{"borderColor": "#333", "borderWidth": 1}}}},
	}, true)
	return chartHTML(chartSpec{classes: "mlxgo-heatmap", height: "460px", option: withJS(option, heatmapTooltipJS)})
}

// heatmapTooltipJS names a hovered cell by its row and column labels.
const heatmapTooltipJS = `var xs = o.xAxis.data, ys = o.yAxis.data;
o.tooltip.formatter = function (p) {
  var v = p.value[2];
  return ys[p.value[1]] + " → " + xs[p.value[0]] + "<br/><b>" + (v === null || v === undefined ? "NaN/Inf" : Number(v).toPrecision(4)) + "</b>";
};`

func heatmapText(title string, z [][]float64, xLabels, yLabels []string) string {
	lo, hi, bad, err := heatmapCheck(title, z, xLabels, yLabels)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(fmt.Sprintf("%s: heatmap %d×%d, min %.4g, max %.4g %s", title, len(z), len(z[0]), lo, hi, notFinite(bad)))
}
