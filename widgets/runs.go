package widgets

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
)

// RunFile is the file, in an adapter folder, where Run.Save keeps a run's curves and metrics.
const RunFile = "mlxgo_run.json"

// Run is one training run as Compare shows it: its loss curves and its final metrics.
type Run struct {
	// Name is the run's legend entry and table row, e.g. "rank 8, lr 1e-4".
	Name string `json:"name"`
	// Train and Val are the training and validation losses against the step.
	Train []Point `json:"train"`
	Val   []Point `json:"val"`
	// Metrics are the run's final figures, shown as the table's columns (missing ones blank).
	Metrics map[string]float64 `json:"metrics"`
}

// NewRun returns an empty run.
func NewRun(name string) *Run { return &Run{Name: name, Metrics: map[string]float64{}} }

// Observe records a trainer event: a "train" report adds to the training curve and sets the
// metrics "train loss", "steps", "tokens" and "peak memory MB"; a "val" report adds to the
// validation curve and sets "val loss" and "best val loss". Pass it (or a function calling it)
// as trainer.Train's callback.
func (r *Run) Observe(e trainer.Event) {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	switch e.Kind {
	case "train":
		r.Train = append(r.Train, Point{e.Step, e.Loss})
		r.Metrics["train loss"] = e.Loss
		r.Metrics["steps"] = float64(e.Step)
		r.Metrics["tokens"] = float64(e.Tokens)
		if e.PeakMemory > 0 {
			r.Metrics["peak memory MB"] = float64(e.PeakMemory) / 1e6
		}
	case "val":
		r.Val = append(r.Val, Point{e.Step, e.Loss})
		r.Metrics["val loss"] = e.Loss
		if best, ok := r.Metrics["best val loss"]; !ok || e.Loss < best {
			r.Metrics["best val loss"] = e.Loss
		}
	}
}

// Save writes the run to dir/mlxgo_run.json (through a temporary file and a rename), next to
// the adapters a trainer saved there, so LoadRun can draw its curves later.
func (r *Run) Save(dir string) error {
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("widgets: saving run %q: %w", r.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, RunFile)
	f, err := os.CreateTemp(dir, "."+RunFile+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("widgets: saving run to %s: %w", path, err)
	}
	return nil
}

// MarshalJSON writes metrics with null for non-finite values (a diverged run's NaN loss).
func (r *Run) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Metrics))
	for k, v := range r.Metrics {
		m[k] = jsonValue(v)
	}
	return json.Marshal(struct {
		Name    string         `json:"name"`
		Train   []Point        `json:"train"`
		Val     []Point        `json:"val"`
		Metrics map[string]any `json:"metrics"`
	}{r.Name, r.Train, r.Val, m})
}

// UnmarshalJSON reads what MarshalJSON writes; a null metric becomes NaN.
func (r *Run) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name    string              `json:"name"`
		Train   []Point             `json:"train"`
		Val     []Point             `json:"val"`
		Metrics map[string]*float64 `json:"metrics"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	r.Name, r.Train, r.Val, r.Metrics = raw.Name, raw.Train, raw.Val, map[string]float64{}
	for k, v := range raw.Metrics {
		r.Metrics[k] = math.NaN()
		if v != nil {
			r.Metrics[k] = *v
		}
	}
	return nil
}

// LoadRun reads a run from a saved adapter folder: the curves and metrics Run.Save wrote
// there, if any; the newest checkpoint's state (*_state.json: "steps", "tokens", "best val
// loss"); and adapter_config.json ("rank", "scale", "learning rate"). The run is named after
// the folder unless mlxgo_run.json names it. A folder with none of these files is an error
// naming it; a file that does not parse is an error naming the file.
func LoadRun(dir string) (*Run, error) {
	r := NewRun(filepath.Base(filepath.Clean(dir)))
	found := false
	if data, err := os.ReadFile(filepath.Join(dir, RunFile)); err == nil {
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("widgets: %s: %w", filepath.Join(dir, RunFile), err)
		}
		found = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("widgets: %w", err)
	}
	if step := trainer.LatestCheckpoint(dir); step > 0 {
		path := filepath.Join(dir, fmt.Sprintf("%07d_state.json", step))
		var st struct {
			Step    int     `json:"step"`
			Tokens  int     `json:"trained_tokens"`
			BestVal float64 `json:"best_val"`
		}
		data, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil {
			return nil, fmt.Errorf("widgets: %s: %w", path, err)
		}
		setIfMissing(r.Metrics, "steps", float64(st.Step))
		setIfMissing(r.Metrics, "tokens", float64(st.Tokens))
		if st.BestVal < math.MaxFloat64 {
			setIfMissing(r.Metrics, "best val loss", st.BestVal)
		}
		found = true
	}
	path := filepath.Join(dir, "adapter_config.json")
	if data, err := os.ReadFile(path); err == nil {
		var cfg struct {
			Lora struct {
				Rank  *float64 `json:"rank"`
				Scale *float64 `json:"scale"`
			} `json:"lora_parameters"`
			LR *float64 `json:"learning_rate"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("widgets: %s: %w", path, err)
		}
		for k, v := range map[string]*float64{"rank": cfg.Lora.Rank, "scale": cfg.Lora.Scale, "learning rate": cfg.LR} {
			if v != nil {
				setIfMissing(r.Metrics, k, *v)
			}
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("widgets: %s holds no run: no %s, no checkpoint (*_state.json), no adapter_config.json", dir, RunFile)
	}
	return r, nil
}

func setIfMissing(m map[string]float64, k string, v float64) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// metricOrder puts the usual metrics first, in this order; others follow alphabetically.
var metricOrder = []string{"rank", "scale", "learning rate", "steps", "tokens", "train loss", "val loss", "best val loss", "peak memory MB"}

// metricColumns lists the metrics of the runs, ordered by metricOrder then by name.
func metricColumns(runs []*Run) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			seen[k] = true
		}
	}
	var cols []string
	for _, k := range metricOrder {
		if seen[k] {
			cols = append(cols, k)
			delete(seen, k)
		}
	}
	rest := make([]string, 0, len(seen))
	for k := range seen {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	return append(cols, rest...)
}

// compareTable returns the table's header and rows.
func compareTable(runs []*Run) ([]string, [][]string) {
	cols := metricColumns(runs)
	var rows [][]string
	for _, r := range runs {
		row := []string{r.Name}
		for _, c := range cols {
			v, ok := r.Metrics[c]
			switch {
			case !ok:
				row = append(row, "")
			case v == math.Trunc(v) && math.Abs(v) < 1e15:
				row = append(row, strconv.FormatFloat(v, 'f', -1, 64))
			default:
				row = append(row, fmt.Sprintf("%.4g", v))
			}
		}
		rows = append(rows, row)
	}
	return append([]string{"run"}, cols...), rows
}

func compareCheck(title string, runs []*Run) error {
	if len(runs) == 0 {
		return inputError("Compare", title, "no runs")
	}
	names := map[string]bool{}
	for i, r := range runs {
		if r == nil {
			return inputError("Compare", title, "run %d is nil", i)
		}
		if names[r.Name] {
			return inputError("Compare", title, "two runs are named %q: the legend could not tell them apart", r.Name)
		}
		names[r.Name] = true
	}
	return nil
}

// Compare displays several runs together: their training curves (solid) and validation curves
// (dashed, with markers) overlaid in one chart with a legend entry per curve (click to hide
// it), and a table of their final metrics. Runs come from trainer events (Run.Observe) or from
// saved adapter folders (LoadRun). No runs, or two runs of the same name, shows a message
// instead. Outside a notebook it prints the table.
func Compare(title string, runs ...*Run) {
	show(func() string { return CompareHTML(title, runs...) }, func() string { return compareText(title, runs) })
}

// palette colours the runs; a run's training and validation curves share its colour.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// CompareHTML returns what Compare displays: a div of class mlxgo-compare holding the chart
// (class mlxgo-compare-chart) and the metrics table, or an error message fragment.
func CompareHTML(title string, runs ...*Run) string {
	if err := compareCheck(title, runs); err != nil {
		return errorHTML(err)
	}
	var ser []any
	var legend []string
	curves := 0
	for i, r := range runs {
		color := palette[i%len(palette)]
		if len(r.Train) > 0 {
			name := r.Name + " · train"
			legend = append(legend, name)
			ser = append(ser, map[string]any{"name": name, "type": "line", "data": sortedSeries(r.Train),
				"showSymbol": len(r.Train) < 2, "color": color, "lineStyle": map[string]any{"width": 1.5}})
			curves++
		}
		if len(r.Val) > 0 {
			name := r.Name + " · val"
			legend = append(legend, name)
			ser = append(ser, map[string]any{"name": name, "type": "line", "data": sortedSeries(r.Val),
				"symbol": "circle", "symbolSize": 6, "color": color, "lineStyle": map[string]any{"type": "dashed", "width": 2}})
			curves++
		}
	}
	var b strings.Builder
	b.WriteString(`<div class="mlxgo-compare">`)
	if curves > 0 {
		option := interactive(map[string]any{
			"animation": false,
			"title":     map[string]any{"text": title, "subtext": fmt.Sprintf("%d runs", len(runs)), "left": 10, "top": 4},
			"legend":    map[string]any{"data": legend, "type": "scroll", "bottom": 4, "left": 10, "right": 10},
			"tooltip":   map[string]any{"trigger": "axis"},
			"grid":      map[string]any{"left": 65, "right": 30, "top": 70, "bottom": 80},
			"xAxis": map[string]any{"type": "value", "name": "step", "nameLocation": "middle", "nameGap": 26,
				"min": "dataMin", "max": "dataMax"},
			"yAxis":  map[string]any{"type": "value", "name": "loss", "scale": true},
			"series": ser,
		}, true)
		b.WriteString(chartHTML(chartSpec{classes: "mlxgo-compare-chart", height: "440px", option: jsonString(option)}))
	} else {
		fmt.Fprintf(&b, `<div style="font-weight:bold;">%s</div><div style="color:#555;">no curves recorded (runs loaded from checkpoints only): metrics below</div>`,
			html.EscapeString(title))
	}
	headers, rows := compareTable(runs)
	b.WriteString(TableHTML(headers, rows))
	b.WriteString("</div>")
	return b.String()
}

func compareText(title string, runs []*Run) string {
	if err := compareCheck(title, runs); err != nil {
		return err.Error()
	}
	headers, rows := compareTable(runs)
	return title + "\n" + strings.TrimRight(tableText(headers, rows), "\n")
}
