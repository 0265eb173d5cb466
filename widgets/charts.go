package widgets

import (
	"fmt"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/go-echarts/go-echarts/v2/render"
)

// Line displays a line chart of one or more series against their index (0, 1, 2, ...). The
// series are named "series 1", "series 2", ... in the legend. Non-finite values are gaps.
// Outside a notebook it prints, per series, its length and its first, last, min and max.
func Line(title string, ys ...[]float64) {
	if !out.notebook() {
		fmt.Fprintln(stdout, lineText(title, ys))
		return
	}
	out.display(LineHTML(title, ys...))
	out.sync()
}

// LineHTML returns the chart Line displays as a self-contained HTML fragment.
func LineHTML(title string, ys ...[]float64) string {
	var ser []any
	var legend []string
	for i, y := range ys {
		name := "series " + strconv.Itoa(i+1)
		legend = append(legend, name)
		pts := make(series, len(y))
		for j, v := range y {
			pts[j] = Point{j, v}
		}
		ser = append(ser, map[string]any{"name": name, "type": "line", "data": pts,
			"showSymbol": len(y) < 50, "sampling": "lttb"})
	}
	option := interactive(map[string]any{
		"animation": false,
		"title":     map[string]any{"text": title, "left": 10, "top": 4},
		"legend":    map[string]any{"data": legend, "right": 130, "top": 6},
		"tooltip":   map[string]any{"trigger": "axis"},
		"grid":      map[string]any{"left": 65, "right": 30, "top": 60, "bottom": 40},
		"xAxis":     map[string]any{"type": "value", "min": "dataMin", "max": "dataMax"},
		"yAxis":     map[string]any{"type": "value", "scale": true},
		"series":    ser,
	}, true)
	return chartHTML(chartSpec{classes: "mlxgo-line-chart", option: jsonString(option)})
}

func lineText(title string, ys [][]float64) string {
	var b strings.Builder
	b.WriteString(title)
	for i, y := range ys {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range y {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		fmt.Fprintf(&b, "\n  series %d: %d points", i+1, len(y))
		if len(y) > 0 {
			fmt.Fprintf(&b, ", first %.4g, last %.4g, min %.4g, max %.4g", y[0], y[len(y)-1], lo, hi)
		}
	}
	return b.String()
}

// histogram counts the finite values in bins equal-width bins between their min and max. It
// returns the bins' edges (bins+1 of them), the counts, and how many values were not finite.
// With no finite value it returns no bins; when all finite values are equal, one bin.
func histogram(values []float32, bins int) (edges []float64, counts []int, skipped int) {
	if bins <= 0 {
		bins = 30
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			skipped++
			continue
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	if lo > hi {
		return nil, nil, skipped
	}
	if lo == hi {
		return []float64{lo, hi}, []int{len(values) - skipped}, skipped
	}
	edges = make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + (hi-lo)*float64(i)/float64(bins)
	}
	edges[bins] = hi
	counts = make([]int, bins)
	width := (hi - lo) / float64(bins)
	for _, v := range values {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		i := int((f - lo) / width)
		if i >= bins {
			i = bins - 1 // the maximum belongs to the last, closed bin
		}
		counts[i]++
	}
	return edges, counts, skipped
}

// Histogram displays the distribution of values (for example a weight matrix) as bins
// equal-width bins between their min and max (bins <= 0 means 30). NaN and ±Inf values are
// left out and counted in the subtitle. Outside a notebook it prints a text histogram.
func Histogram(title string, values []float32, bins int) {
	if !out.notebook() {
		fmt.Fprintln(stdout, histogramText(title, values, bins))
		return
	}
	out.display(HistogramHTML(title, values, bins))
	out.sync()
}

// HistogramHTML returns the chart Histogram displays as a self-contained HTML fragment.
func HistogramHTML(title string, values []float32, bins int) string {
	edges, counts, skipped := histogram(values, bins)
	labels := make([]string, len(counts))
	for i := range counts {
		labels[i] = fmt.Sprintf("%.3g … %.3g", edges[i], edges[i+1])
	}
	sub := fmt.Sprintf("%d values", len(values))
	if skipped > 0 {
		sub += fmt.Sprintf(", %d not finite (left out)", skipped)
	}
	option := interactive(map[string]any{
		"animation": false,
		"title":     map[string]any{"text": title, "subtext": sub, "left": 10, "top": 4},
		"tooltip":   map[string]any{"trigger": "axis"},
		"grid":      map[string]any{"left": 65, "right": 30, "top": 70, "bottom": 60},
		"xAxis":     map[string]any{"type": "category", "data": labels, "axisLabel": map[string]any{"rotate": 30}},
		"yAxis":     map[string]any{"type": "value", "name": "count"},
		"series": []any{map[string]any{"name": "count", "type": "bar", "data": counts,
			"barCategoryGap": "5%", "color": "#1f77b4"}},
	}, true)
	return chartHTML(chartSpec{classes: "mlxgo-histogram", option: jsonString(option)})
}

func histogramText(title string, values []float32, bins int) string {
	edges, counts, skipped := histogram(values, bins)
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d values", title, len(values))
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d not finite", skipped)
	}
	b.WriteString(")")
	most := 0
	for _, c := range counts {
		most = max(most, c)
	}
	for i, c := range counts {
		n := 0
		if most > 0 {
			n = int(math.Round(40 * float64(c) / float64(most)))
		}
		fmt.Fprintf(&b, "\n%11.4g … %-11.4g %7d %s", edges[i], edges[i+1], c, strings.Repeat("█", n))
	}
	return b.String()
}

// Table displays an HTML table with a header row, for example a pytree's parameters (name,
// shape, dtype, trainable or frozen, size). Cells are text and are escaped. Outside a
// notebook it prints aligned columns.
func Table(headers []string, rows [][]string) {
	if !out.notebook() {
		fmt.Fprint(stdout, tableText(headers, rows))
		return
	}
	out.display(TableHTML(headers, rows))
	out.sync()
}

// TableHTML returns the table Table displays as an HTML fragment.
func TableHTML(headers []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table class="mlxgo-table" style="border-collapse:collapse;font-family:monospace;font-size:12px;">`)
	b.WriteString("<thead><tr>")
	for _, h := range headers {
		fmt.Fprintf(&b, `<th style="text-align:left;border-bottom:1px solid #888;padding:2px 10px;">%s</th>`, html.EscapeString(h))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, `<td style="text-align:left;padding:2px 10px;">%s</td>`, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

func tableText(headers []string, rows [][]string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(headers, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	_ = w.Flush()
	return b.String()
}

// ECharts displays a chart from an ECharts option (a value that encodes to the JSON of an
// ECharts option object, such as a map[string]any), with the inlined library. Outside a
// notebook it prints the chart's title, if any.
func ECharts(option any) {
	if !out.notebook() {
		fmt.Fprintln(stdout, optionTitle(option))
		return
	}
	out.display(chartHTML(chartSpec{option: jsonString(option)}))
	out.sync()
}

// optionTitle digs the title text out of an option, for the text form.
func optionTitle(option any) string {
	if m, ok := option.(map[string]any); ok {
		if t, ok := m["title"].(map[string]any); ok {
			if s, ok := t["text"].(string); ok && s != "" {
				return "chart: " + s
			}
		}
	}
	return "chart (shown in notebooks only)"
}

// Chart displays a chart built with go-echarts (any of its charts, such as *charts.Line),
// through the inlined library rather than the CDN go-echarts pages use. The chart's width and
// height options are kept. Outside a notebook it prints a one-line note.
func Chart(c render.Renderer) {
	if !out.notebook() {
		fmt.Fprintln(stdout, "go-echarts chart (shown in notebooks only)")
		return
	}
	out.display(ChartHTML(c))
	out.sync()
}

// ChartHTML returns the go-echarts chart Chart displays as a self-contained HTML fragment.
func ChartHTML(c render.Renderer) string {
	snip := c.RenderSnippet()
	spec := chartSpec{classes: "mlxgo-goecharts", option: snip.Option}
	if m := elementSize.FindStringSubmatch(snip.Element); m != nil {
		spec.width, spec.height = m[1], m[2]
	}
	return chartHTML(spec)
}

var elementSize = regexp.MustCompile(`style="width:([0-9.]+(?:px|%|em|vw)?);height:([0-9.]+(?:px|%|em|vh)?);?"`)
