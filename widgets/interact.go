package widgets

import (
	"fmt"
	"math"
	"strings"
)

// interactive gives an option what every new chart offers: a toolbox with a save-as-PNG button
// and, for charts with axes, box zoom and restore, plus zooming with the wheel inside the plot.
// Legends (where a chart has one) toggle series on click; tooltips are set per chart.
func interactive(option map[string]any, axes bool) map[string]any {
	feature := map[string]any{"saveAsImage": map[string]any{"title": "save as PNG", "pixelRatio": 2}}
	if axes {
		feature["dataZoom"] = map[string]any{"title": map[string]any{"zoom": "zoom", "back": "undo zoom"}}
		feature["restore"] = map[string]any{"title": "restore"}
		if _, ok := option["dataZoom"]; !ok {
			option["dataZoom"] = []any{
				map[string]any{"type": "inside", "xAxisIndex": 0, "filterMode": "none"},
				map[string]any{"type": "inside", "yAxisIndex": 0, "filterMode": "none"},
			}
		}
	}
	option["toolbox"] = map[string]any{"right": 12, "top": 4, "feature": feature}
	return option
}

// withJS returns a JavaScript expression for an option: the JSON of option, passed through a
// function body js that may edit it as o (to add formatters, which JSON cannot hold).
func withJS(option map[string]any, js string) string {
	return "(function (o) {\n" + js + "\nreturn o;\n})(" + jsonString(option) + ")"
}

// inputError is the error a widget shows in place of a chart when its input cannot be drawn.
func inputError(widget, title, format string, args ...any) error {
	return fmt.Errorf("widgets.%s(%q): %s", widget, title, fmt.Sprintf(format, args...))
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// jsonValue is v, or nil (JSON null) when it is not finite.
func jsonValue(v float64) any {
	if !finite(v) {
		return nil
	}
	return v
}

// notFinite describes how many values were left out for not being finite, or "".
func notFinite(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d NaN/Inf left out", n)
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// show displays a widget's HTML in the notebook, or prints its text form elsewhere.
func show(htmlFn func() string, textFn func() string) {
	if !out.notebook() {
		fmt.Fprintln(stdout, textFn())
		return
	}
	out.display(htmlFn())
	out.sync()
}
