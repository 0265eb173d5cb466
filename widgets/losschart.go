package widgets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Point is one sample of a chart series: a training step and a value. A non-finite Value
// (NaN, ±Inf) is kept but drawn as a gap; in JSON it is null.
type Point struct {
	// Step is the training step (the x coordinate).
	Step int
	// Value is the loss or learning rate at Step.
	Value float64
}

// MarshalJSON encodes the point as {"step":S,"value":V}, with null for a non-finite value.
func (p Point) MarshalJSON() ([]byte, error) {
	return []byte(`{"step":` + strconv.Itoa(p.Step) + `,"value":` + jsonFloat(p.Value) + `}`), nil
}

// UnmarshalJSON decodes what MarshalJSON writes; a null value becomes NaN.
func (p *Point) UnmarshalJSON(b []byte) error {
	var raw struct {
		Step  int      `json:"step"`
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.Step, p.Value = raw.Step, math.NaN()
	if raw.Value != nil {
		p.Value = *raw.Value
	}
	return nil
}

// jsonFloat formats v as a JSON number, or null when it is not finite.
func jsonFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// series is a list of points that marshals as ECharts [[x, y], ...] data.
type series []Point

// MarshalJSON writes [[step, value], ...] with null for non-finite values.
func (s series) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(24 * len(s))
	b.WriteByte('[')
	for i, p := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.Step))
		b.WriteByte(',')
		b.WriteString(jsonFloat(p.Value))
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// LossChart is a live chart of training loss, validation loss and learning rate against the
// step. Record points with AddTrain, AddVal and AddLR, call Update as often as you like (it
// re-renders in place at most every Interval), and Done at the end, which replaces the live
// output by a final chart that stays in the saved notebook:
//
//	chart := widgets.NewLossChart("LoRA fine-tuning")
//	for step := 1; step <= steps; step++ {
//		loss := ... // one training step
//		chart.AddTrain(step, loss)
//		chart.Update()
//	}
//	chart.Done()
//
// In HTML the chart sits in a div of class "mlxgo-loss-chart". A LossChart marshals to and
// from JSON (title and points), so a notebook can save it with kernel.Save and continue it in
// a later cell. Its methods are safe for concurrent use.
type LossChart struct {
	// Title is shown above the chart and in the text form.
	Title string
	// Interval is the least time between two renders by Update: 250 ms in a notebook and
	// 1 s for the text form, set by NewLossChart.
	Interval time.Duration

	mu        sync.Mutex
	train     []Point
	val       []Point
	lr        []Point
	displayID string    // live output, "" when none is shown
	last      time.Time // time of the last render by Update
	now       func() time.Time
}

// NewLossChart returns an empty chart with the given title. Nothing is displayed until the
// first Update (or Done).
func NewLossChart(title string) *LossChart {
	return &LossChart{Title: title, Interval: defaultInterval()}
}

// defaultInterval is the throttle of live widgets: about 4 renders a second in a notebook,
// one line a second as text.
func defaultInterval() time.Duration {
	if out.notebook() {
		return 250 * time.Millisecond
	}
	return time.Second
}

// AddTrain records the training loss at step.
func (c *LossChart) AddTrain(step int, loss float64) {
	c.mu.Lock()
	c.train = append(c.train, Point{step, loss})
	c.mu.Unlock()
}

// AddVal records the validation loss at step.
func (c *LossChart) AddVal(step int, loss float64) {
	c.mu.Lock()
	c.val = append(c.val, Point{step, loss})
	c.mu.Unlock()
}

// AddLR records the learning rate at step; it is drawn against a secondary axis on the right.
func (c *LossChart) AddLR(step int, lr float64) {
	c.mu.Lock()
	c.lr = append(c.lr, Point{step, lr})
	c.mu.Unlock()
}

// Add records the training loss at step and calls Update: the one-line form for a training
// loop.
func (c *LossChart) Add(step int, loss float64) {
	c.AddTrain(step, loss)
	c.Update()
}

// Train returns a copy of the training-loss points, in the order they were added.
func (c *LossChart) Train() []Point { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.train) }

// Val returns a copy of the validation-loss points, in the order they were added.
func (c *LossChart) Val() []Point { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.val) }

// LR returns a copy of the learning-rate points, in the order they were added.
func (c *LossChart) LR() []Point { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.lr) }

// Update re-renders the chart in place (one output, replaced each time) unless the previous
// render was less than Interval ago; points added meanwhile are shown by the next render.
// Outside a notebook it prints one line with the latest values instead, just as throttled.
func (c *LossChart) Update() { c.update(false) }

// UpdateNow is Update without the throttle.
func (c *LossChart) UpdateNow() { c.update(true) }

func (c *LossChart) update(force bool) {
	c.mu.Lock()
	now := c.clock()
	if !force && !c.last.IsZero() && now.Sub(c.last) < c.Interval {
		c.mu.Unlock()
		return
	}
	c.last = now
	if !out.notebook() {
		line := c.lineLocked()
		c.mu.Unlock()
		fmt.Fprintln(stdout, line)
		return
	}
	if c.displayID == "" {
		c.displayID = newID("mlxgo-loss-live-")
	}
	id, h := c.displayID, c.htmlLocked(c.displayID)
	c.mu.Unlock()
	out.update(id, h)
	out.sync()
}

// Done ends the live display: it clears the in-place output and displays the final chart as
// an ordinary output, which the saved notebook keeps. Outside a notebook it prints a summary.
// Points added after Done start a new live output on the next Update.
func (c *LossChart) Done() {
	c.mu.Lock()
	if !out.notebook() {
		s := c.summaryLocked()
		c.mu.Unlock()
		fmt.Fprintln(stdout, s)
		return
	}
	id := c.displayID
	c.displayID = ""
	c.last = time.Time{}
	h := c.htmlLocked("")
	c.mu.Unlock()
	if id != "" {
		out.update(id, "")
	}
	out.display(h)
	out.sync()
}

// HTML returns the chart as a self-contained HTML fragment (container, inlined ECharts
// library, drawing script), as Done displays it.
func (c *LossChart) HTML() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.htmlLocked("")
}

// String returns the text form of the chart: a one-line summary of its series.
func (c *LossChart) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.summaryLocked()
}

// lossChartJSON is the JSON form of a LossChart.
type lossChartJSON struct {
	Title string  `json:"title"`
	Train []Point `json:"train"`
	Val   []Point `json:"val"`
	LR    []Point `json:"lr"`
}

// MarshalJSON encodes the title and the points.
func (c *LossChart) MarshalJSON() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Marshal(lossChartJSON{c.Title, c.train, c.val, c.lr})
}

// UnmarshalJSON replaces the title and the points by those encoded in b. A chart decoded
// into a zero LossChart gets the default Interval.
func (c *LossChart) UnmarshalJSON(b []byte) error {
	var v lossChartJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Title, c.train, c.val, c.lr = v.Title, v.Train, v.Val, v.LR
	if c.Interval == 0 {
		c.Interval = defaultInterval()
	}
	return nil
}

func (c *LossChart) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// sortedSeries returns the points sorted by step (stable), as ECharts draws lines in data order.
func sortedSeries(p []Point) series {
	s := slices.Clone(p)
	slices.SortStableFunc(s, func(a, b Point) int { return a.Step - b.Step })
	return series(s)
}

// optionLocked builds the ECharts option of the chart.
func (c *LossChart) optionLocked() map[string]any {
	legend := []string{"train"}
	ser := []any{map[string]any{
		"name": "train", "type": "line", "data": sortedSeries(c.train), "showSymbol": len(c.train) < 2,
		"sampling": "lttb", "yAxisIndex": 0, "color": "#1f77b4", "lineStyle": map[string]any{"width": 1.5},
	}}
	if len(c.val) > 0 {
		legend = append(legend, "validation")
		ser = append(ser, map[string]any{
			"name": "validation", "type": "line", "data": sortedSeries(c.val), "symbol": "circle",
			"symbolSize": 6, "yAxisIndex": 0, "color": "#d62728", "lineStyle": map[string]any{"width": 2},
		})
	}
	yAxes := []any{map[string]any{"type": "value", "name": "loss", "scale": true}}
	right := 30
	if len(c.lr) > 0 {
		legend = append(legend, "learning rate")
		ser = append(ser, map[string]any{
			"name": "learning rate", "type": "line", "data": sortedSeries(c.lr), "showSymbol": false,
			"yAxisIndex": 1, "color": "#2ca02c", "lineStyle": map[string]any{"type": "dashed", "width": 1},
		})
		yAxes = append(yAxes, map[string]any{
			"type": "value", "name": "learning rate", "position": "right", "scale": true,
			"splitLine": map[string]any{"show": false},
		})
		right = 80
	}
	return interactive(map[string]any{
		"animation": false,
		"title":     map[string]any{"text": c.Title, "left": 10, "top": 4},
		"legend":    map[string]any{"data": legend, "right": 130, "top": 6},
		"tooltip":   map[string]any{"trigger": "axis"},
		"grid":      map[string]any{"left": 65, "right": right, "top": 60, "bottom": 50},
		"xAxis": map[string]any{"type": "value", "name": "step", "nameLocation": "middle", "nameGap": 28,
			"min": "dataMin", "max": "dataMax"},
		"yAxis":    yAxes,
		"dataZoom": []any{map[string]any{"type": "inside"}},
		"series":   ser,
	}, true)
}

func (c *LossChart) htmlLocked(key string) string {
	return chartHTML(chartSpec{classes: "mlxgo-loss-chart", key: key, option: jsonString(c.optionLocked())})
}

// lineLocked is the one-line text form printed by Update outside notebooks.
func (c *LossChart) lineLocked() string {
	var parts []string
	if n := len(c.train); n > 0 {
		p := c.train[n-1]
		parts = append(parts, fmt.Sprintf("step %d train %.4g", p.Step, p.Value))
	}
	if n := len(c.val); n > 0 {
		p := c.val[n-1]
		parts = append(parts, fmt.Sprintf("val %.4g (step %d)", p.Value, p.Step))
	}
	if n := len(c.lr); n > 0 {
		parts = append(parts, fmt.Sprintf("lr %.3g", c.lr[n-1].Value))
	}
	if len(parts) == 0 {
		parts = append(parts, "no points yet")
	}
	return c.label() + strings.Join(parts, " | ")
}

// summaryLocked is the text form printed by Done outside notebooks.
func (c *LossChart) summaryLocked() string {
	describe := func(name string, s []Point, best string) string {
		if len(s) == 0 {
			return ""
		}
		last := s[len(s)-1]
		minP := s[0]
		for _, p := range s {
			if p.Value < minP.Value || math.IsNaN(minP.Value) {
				minP = p
			}
		}
		return fmt.Sprintf("%s %.4g at step %d (%s %.4g at step %d, %d points)",
			name, last.Value, last.Step, best, minP.Value, minP.Step, len(s))
	}
	var parts []string
	for _, s := range []string{
		describe("train", c.train, "min"),
		describe("val", c.val, "best"),
	} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if n := len(c.lr); n > 0 {
		parts = append(parts, fmt.Sprintf("lr %.3g", c.lr[n-1].Value))
	}
	if len(parts) == 0 {
		parts = append(parts, "no points")
	}
	return c.label() + strings.Join(parts, "; ")
}

func (c *LossChart) label() string {
	if c.Title == "" {
		return ""
	}
	return c.Title + ": "
}
