package widgets

import (
	"fmt"
	"slices"
	"strings"
)

// XY is one point of a Scatter plot.
type XY struct {
	// X and Y are the point's coordinates.
	X, Y float64
	// Label names the point in its tooltip (and beside it when the plot has few points).
	Label string
	// Group puts the point in a series of that name: one colour and one legend entry per group.
	Group string
}

// Scatter displays points in the plane, for example token embeddings projected to 2-D, one
// colour and legend entry per Group (click an entry to hide its points). Hovering a point
// shows its label and coordinates; the wheel zooms; the toolbox saves a PNG. Points with a
// non-finite coordinate are left out and counted in the subtitle; no points, or none finite,
// shows a message instead. Outside a notebook it prints the number of points per group.
func Scatter(title string, points []XY) {
	show(func() string { return ScatterHTML(title, points) }, func() string { return scatterText(title, points) })
}

// scatterGroups splits the finite points by group, in order of first appearance.
func scatterGroups(title string, points []XY) (names []string, groups map[string][]XY, bad int, err error) {
	if len(points) == 0 {
		return nil, nil, 0, inputError("Scatter", title, "no points")
	}
	groups = map[string][]XY{}
	for _, p := range points {
		if !finite(p.X) || !finite(p.Y) {
			bad++
			continue
		}
		if _, ok := groups[p.Group]; !ok {
			names = append(names, p.Group)
		}
		groups[p.Group] = append(groups[p.Group], p)
	}
	if len(names) == 0 {
		return nil, nil, bad, inputError("Scatter", title, "none of the %d points has finite coordinates", bad)
	}
	return names, groups, bad, nil
}

// ScatterHTML returns the chart Scatter displays as a self-contained HTML fragment, or an
// error message fragment.
func ScatterHTML(title string, points []XY) string {
	names, groups, bad, err := scatterGroups(title, points)
	if err != nil {
		return errorHTML(err)
	}
	showLabels := len(points) <= 80
	var ser []any
	var legend []string
	for _, g := range names {
		name := g
		if name == "" {
			name = "points"
		}
		legend = append(legend, name)
		data := make([]any, len(groups[g]))
		for i, p := range groups[g] {
			data[i] = map[string]any{"value": []float64{p.X, p.Y}, "name": p.Label}
		}
		ser = append(ser, map[string]any{"name": name, "type": "scatter", "data": data, "symbolSize": 9,
			"label": map[string]any{"show": showLabels, "formatter": "{b}", "position": "right", "fontSize": 10}})
	}
	option := interactive(map[string]any{
		"animation": false,
		"title": map[string]any{"text": title, "left": 10, "top": 4,
			"subtext": joinNonEmpty(", ", fmt.Sprintf("%d points", len(points)-bad), notFinite(bad))},
		"legend":  map[string]any{"data": legend, "right": 130, "top": 6, "type": "scroll"},
		"tooltip": map[string]any{"trigger": "item"},
		"grid":    map[string]any{"left": 65, "right": 40, "top": 70, "bottom": 40},
		"xAxis":   map[string]any{"type": "value", "scale": true},
		"yAxis":   map[string]any{"type": "value", "scale": true},
		"series":  ser,
	}, true)
	return chartHTML(chartSpec{classes: "mlxgo-scatter", height: "460px", option: withJS(option, scatterTooltipJS)})
}

// scatterTooltipJS shows a point's label, group and coordinates.
const scatterTooltipJS = `o.tooltip.formatter = function (p) {
  return (p.name ? "<b>" + p.name + "</b><br/>" : "") + p.seriesName + ": (" +
    Number(p.value[0]).toPrecision(4) + ", " + Number(p.value[1]).toPrecision(4) + ")";
};`

func scatterText(title string, points []XY) string {
	names, groups, bad, err := scatterGroups(title, points)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, g := range names {
		parts = append(parts, fmt.Sprintf("%s %d", cmpOr(g, "points"), len(groups[g])))
	}
	return strings.TrimSpace(fmt.Sprintf("%s: scatter, %s %s", title, strings.Join(parts, ", "), notFinite(bad)))
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Series is a named list of values, one per category of a Bar chart.
type Series struct {
	// Name is the series' legend entry.
	Name string
	// Values holds one value per category.
	Values []float64
}

// Bar displays a grouped bar chart: one group of bars per category, one bar (and legend
// entry, which hides it on click) per series — for example LoRA B norms with the layers as
// categories and the adapted modules as series. Non-finite values leave their bar out. No
// categories, no series, or a series whose length differs from the categories' shows a
// message instead. Outside a notebook it prints the values as a table.
func Bar(title string, categories []string, series ...Series) {
	show(func() string { return BarHTML(title, categories, series...) },
		func() string { return barText(title, categories, series) })
}

func barCheck(title string, categories []string, series []Series) error {
	if len(categories) == 0 {
		return inputError("Bar", title, "no categories")
	}
	if len(series) == 0 {
		return inputError("Bar", title, "no series")
	}
	for _, s := range series {
		if len(s.Values) != len(categories) {
			return inputError("Bar", title, "series %q has %d values for %d categories", s.Name, len(s.Values), len(categories))
		}
	}
	return nil
}

// BarHTML returns the chart Bar displays as a self-contained HTML fragment, or an error
// message fragment.
func BarHTML(title string, categories []string, series ...Series) string {
	if err := barCheck(title, categories, series); err != nil {
		return errorHTML(err)
	}
	var ser []any
	var legend []string
	bad := 0
	for _, s := range series {
		legend = append(legend, s.Name)
		data := make([]any, len(s.Values))
		for i, v := range s.Values {
			data[i] = jsonValue(v)
			if !finite(v) {
				bad++
			}
		}
		ser = append(ser, map[string]any{"name": s.Name, "type": "bar", "data": data})
	}
	rotate := 0
	if len(categories) > 8 {
		rotate = 30
	}
	option := interactive(map[string]any{
		"animation": false,
		"title":     map[string]any{"text": title, "subtext": notFinite(bad), "left": 10, "top": 4},
		"legend":    map[string]any{"data": legend, "right": 130, "top": 6, "type": "scroll"},
		"tooltip":   map[string]any{"trigger": "axis", "axisPointer": map[string]any{"type": "shadow"}},
		"grid":      map[string]any{"left": 65, "right": 30, "top": 70, "bottom": 70},
		"xAxis": map[string]any{"type": "category", "data": categories,
			"axisLabel": map[string]any{"rotate": rotate, "interval": 0}},
		"yAxis":  map[string]any{"type": "value", "scale": false},
		"series": ser,
	}, true)
	return chartHTML(chartSpec{classes: "mlxgo-bar", option: jsonString(option)})
}

func barText(title string, categories []string, series []Series) string {
	if err := barCheck(title, categories, series); err != nil {
		return err.Error()
	}
	headers := append([]string{title}, categories...)
	var rows [][]string
	for _, s := range series {
		row := []string{s.Name}
		for _, v := range s.Values {
			row = append(row, fmt.Sprintf("%.4g", v))
		}
		rows = append(rows, row)
	}
	return strings.TrimRight(tableText(headers, slices.Clip(rows)), "\n")
}
