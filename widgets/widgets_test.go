package widgets

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// recorder is a notebook frontend that records what widgets send.
type recorder struct {
	calls []call
}

type call struct {
	kind string // display, update or sync
	id   string
	html string
}

func (r *recorder) notebook() bool      { return true }
func (r *recorder) display(h string)    { r.calls = append(r.calls, call{"display", "", h}) }
func (r *recorder) update(id, h string) { r.calls = append(r.calls, call{"update", id, h}) }
func (r *recorder) sync()               { r.calls = append(r.calls, call{"sync", "", ""}) }
func (r *recorder) kinds() (ks []string) {
	for _, c := range r.calls {
		ks = append(ks, c.kind)
	}
	return ks
}

// textFrontend is the frontend outside notebooks.
type textFrontend struct{}

func (textFrontend) notebook() bool     { return false }
func (textFrontend) display(string)     { panic("display outside a notebook") }
func (textFrontend) update(_, _ string) { panic("update outside a notebook") }
func (textFrontend) sync()              {}

// useNotebook makes widgets send HTML to a recorder for the duration of the test.
func useNotebook(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	old := out
	out = r
	t.Cleanup(func() { out = old })
	return r
}

// useText makes widgets print text into a buffer for the duration of the test.
func useText(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	oldOut, oldStdout := out, stdout
	out, stdout = textFrontend{}, &buf
	t.Cleanup(func() { out, stdout = oldOut, oldStdout })
	return &buf
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

// libMarker is a piece of echarts.min.js that appears once in the library.
const libMarker = `t.version="5.6.0"`

func mustLib(t *testing.T) string {
	t.Helper()
	js, err := EChartsJS()
	if err != nil {
		t.Fatalf("%v", err)
	}
	if n := strings.Count(js, libMarker); n != 1 {
		t.Fatalf("echarts.min.js holds %q %d times, want 1 (is it ECharts %s?)", libMarker, n, EChartsVersion)
	}
	return js
}

var scriptSrc = regexp.MustCompile(`(?i)<script[^>]*\bsrc\s*=`)

// checkSelfContained asserts that h carries the library exactly once, wrapped, and loads
// nothing from the network.
func checkSelfContained(t *testing.T, h string) {
	t.Helper()
	mustLib(t)
	if n := strings.Count(h, libMarker); n != 1 {
		t.Errorf("library inlined %d times, want 1", n)
	}
	if n := strings.Count(h, libraryTag); n != 1 {
		t.Errorf("library tag appears %d times, want 1", n)
	}
	if scriptSrc.MatchString(h) {
		t.Errorf("output loads a script by src: %s", scriptSrc.FindString(h))
	}
	for _, bad := range []string{"http://", "https://"} {
		for _, m := range regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?`+regexp.QuoteMeta(bad)).FindAllString(h, -1) {
			t.Errorf("output refers to the network: %s", m)
		}
	}
	for _, want := range []string{
		"(function (define, module, exports, require) {",
		"}).call(window, undefined, undefined, undefined, undefined);",
		`if (window.echarts && window.echarts.version === "5.6.0") { return; }`,
		"var chart = ec.init(el, null, opts);",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The library must sit inside the wrapper: between the shadowing function and its call.
	open := strings.Index(h, "(function (define, module, exports, require) {")
	lib := strings.Index(h, libMarker)
	closeAt := strings.Index(h, "}).call(window, undefined")
	if !(open < lib && lib < closeAt) {
		t.Errorf("library not inside the wrapper: wrapper at %d, library at %d, call at %d", open, lib, closeAt)
	}
}

func TestLossChartHTML(t *testing.T) {
	c := NewLossChart("LoRA </script><b>run</b>")
	c.AddTrain(1, 2.5)
	c.AddTrain(3, math.NaN())
	c.AddTrain(2, 2.25) // out of order: drawn sorted by step
	c.AddVal(2, 2.75)
	c.AddLR(1, 1e-4)
	h := c.HTML()
	checkSelfContained(t, h)
	for _, want := range []string{
		`class="mlxgo-chart mlxgo-loss-chart"`,
		`[[1,2.5],[2,2.25],[3,null]]`, // train, sorted, NaN as a gap
		`[[2,2.75]]`,                  // validation
		`[[1,0.0001]]`,                // learning rate
		`"yAxisIndex":1`,              // the learning rate's own axis
		`"name":"learning rate"`,
		`"animation":false`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("chart HTML lacks %s", want)
		}
	}
	if strings.Contains(h, "</script><b>") {
		t.Error("title closes the script element")
	}
	if !strings.Contains(h, `LoRA \u003c/script\u003e\u003cb\u003erun`) {
		t.Error("title missing or not escaped in the option JSON")
	}
}

func TestLossChartWithoutValOrLR(t *testing.T) {
	c := NewLossChart("t")
	c.AddTrain(1, 1)
	h := c.HTML()
	if strings.Contains(h, `"yAxisIndex":1`) || strings.Contains(h, "validation") {
		t.Error("empty series drawn")
	}
}

func TestLossChartLiveUpdates(t *testing.T) {
	rec := useNotebook(t)
	clock := newFakeClock()
	c := NewLossChart("live")
	c.now = clock.now
	if c.Interval != 250*time.Millisecond {
		t.Fatalf("notebook Interval = %v, want 250ms", c.Interval)
	}
	c.Add(1, 3.0) // first render
	clock.advance(100 * time.Millisecond)
	c.Add(2, 2.9) // throttled
	clock.advance(100 * time.Millisecond)
	c.Add(3, 2.8) // throttled
	clock.advance(100 * time.Millisecond)
	c.Add(4, 2.7) // 300 ms after the first: renders
	c.AddVal(4, 2.95)
	c.UpdateNow() // forced
	if got, want := strings.Join(rec.kinds(), ","), "update,sync,update,sync,update,sync"; got != want {
		t.Fatalf("calls = %s, want %s", got, want)
	}
	id := rec.calls[0].id
	if id == "" || rec.calls[2].id != id || rec.calls[4].id != id {
		t.Fatalf("live renders use ids %q %q %q, want one id", rec.calls[0].id, rec.calls[2].id, rec.calls[4].id)
	}
	if !strings.Contains(rec.calls[2].html, "[4,2.7]") || strings.Contains(rec.calls[2].html, "[4,2.95]") {
		t.Error("second render does not hold the throttled points")
	}
	if !strings.Contains(rec.calls[4].html, "[[4,2.95]]") {
		t.Error("forced render lacks the validation point")
	}
	rec.calls = nil
	c.Done()
	if got, want := strings.Join(rec.kinds(), ","), "update,display,sync"; got != want {
		t.Fatalf("Done calls = %s, want %s", got, want)
	}
	if rec.calls[0].id != id || rec.calls[0].html != "" {
		t.Errorf("Done did not clear the live output: %+v", rec.calls[0])
	}
	final := rec.calls[1].html
	checkSelfContained(t, final)
	if !strings.Contains(final, "[[1,3],[2,2.9],[3,2.8],[4,2.7]]") {
		t.Error("final chart lacks the training points")
	}
	// After Done a new live output starts.
	rec.calls = nil
	c.Add(5, 2.6)
	if len(rec.calls) == 0 || rec.calls[0].kind != "update" || rec.calls[0].id == id {
		t.Errorf("Add after Done: %v", rec.kinds())
	}
}

func TestDoneWithoutUpdate(t *testing.T) {
	rec := useNotebook(t)
	c := NewLossChart("x")
	c.AddTrain(1, 1)
	c.Done()
	if got, want := strings.Join(rec.kinds(), ","), "display,sync"; got != want {
		t.Fatalf("calls = %s, want %s", got, want)
	}
}

func TestLossChartText(t *testing.T) {
	buf := useText(t)
	clock := newFakeClock()
	c := NewLossChart("run")
	c.now = clock.now
	if c.Interval != time.Second {
		t.Fatalf("text Interval = %v, want 1s", c.Interval)
	}
	c.AddLR(1, 2e-4)
	c.Add(1, 3.5)
	clock.advance(500 * time.Millisecond)
	c.Add(2, 3.25) // throttled
	clock.advance(600 * time.Millisecond)
	c.AddVal(3, 3.4)
	c.Add(3, 3.0)
	c.Done()
	got := buf.String()
	want := "run: step 1 train 3.5 | lr 0.0002\n" +
		"run: step 3 train 3 | val 3.4 (step 3) | lr 0.0002\n" +
		"run: train 3 at step 3 (min 3 at step 3, 3 points); val 3.4 at step 3 (best 3.4 at step 3, 1 points); lr 0.0002\n"
	if got != want {
		t.Errorf("text output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "<") {
		t.Error("HTML printed outside a notebook")
	}
}

func TestLossChartJSON(t *testing.T) {
	c := NewLossChart("saved")
	c.AddTrain(1, 2)
	c.AddTrain(2, math.NaN())
	c.AddVal(2, 1.5)
	c.AddLR(2, 1e-5)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var d LossChart
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "saved" || d.Interval == 0 {
		t.Errorf("title %q interval %v", d.Title, d.Interval)
	}
	tr := d.Train()
	if len(tr) != 2 || tr[0] != (Point{1, 2}) || tr[1].Step != 2 || !math.IsNaN(tr[1].Value) {
		t.Errorf("train = %v", tr)
	}
	if v := d.Val(); len(v) != 1 || v[0] != (Point{2, 1.5}) {
		t.Errorf("val = %v", v)
	}
	if l := d.LR(); len(l) != 1 || l[0] != (Point{2, 1e-5}) {
		t.Errorf("lr = %v", l)
	}
}

func TestProgress(t *testing.T) {
	rec := useNotebook(t)
	clock := newFakeClock()
	p := NewProgress("train", 100)
	p.now = clock.now
	p.start = clock.now()
	clock.advance(5 * time.Second)
	p.SetStatus("loss 2.31")
	p.Add(10, 5000)
	st := p.statsLocked()
	if st.stepsPerSec != 2 || st.tokensPerSec != 1000 || st.eta != 45*time.Second {
		t.Errorf("stats = %+v, want 2 it/s, 1000 tok/s, ETA 45s", st)
	}
	if len(rec.calls) != 2 || rec.calls[0].kind != "update" {
		t.Fatalf("calls = %v", rec.kinds())
	}
	h := rec.calls[0].html
	for _, want := range []string{`class="mlxgo-progress"`, "width:10.0%", "10/100 (10%)", "2.00 it/s",
		"1000 tok/s", "ETA 0:45", "loss 2.31", "elapsed 0:05"} {
		if !strings.Contains(h, want) {
			t.Errorf("progress HTML lacks %q:\n%s", want, h)
		}
	}
	clock.advance(100 * time.Millisecond)
	p.Add(1, 0) // throttled
	if len(rec.calls) != 2 {
		t.Errorf("throttled Add rendered: %v", rec.kinds())
	}
	p.Done()
	if got := strings.Join(rec.kinds()[2:], ","); got != "update,display,sync" {
		t.Errorf("Done calls = %s", got)
	}
	if !strings.Contains(rec.calls[3].html, "11/100 (11%)") {
		t.Error("final bar is stale")
	}
}

func TestProgressResumeAndText(t *testing.T) {
	buf := useText(t)
	clock := newFakeClock()
	p := NewProgress("resume", 0)
	p.now = clock.now
	p.Set(50)
	clock.advance(4 * time.Second)
	p.Add(8, 0)
	p.Done()
	got := buf.String()
	want := "resume 58 steps · 2.00 it/s · elapsed 0:04\n" + "resume 58 steps · 2.00 it/s · elapsed 0:04\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	p2 := NewProgress("bar", 4)
	p2.now = clock.now
	p2.start = clock.now()
	clock.advance(time.Second)
	p2.Add(1, 0)
	if s := p2.String(); !strings.HasPrefix(s, "bar [#####...............] 1/4 (25%) · 1.00 it/s") || !strings.Contains(s, "ETA 0:03") {
		t.Errorf("text bar = %q", s)
	}
}

func TestClockString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0:00", 59 * time.Second: "0:59", 61 * time.Second: "1:01", 3723 * time.Second: "1:02:03",
	} {
		if got := clockString(d); got != want {
			t.Errorf("clockString(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHistogramBins(t *testing.T) {
	vals := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, float32(math.NaN()), float32(math.Inf(1))}
	edges, counts, skipped := histogram(vals, 5)
	if skipped != 2 {
		t.Errorf("skipped = %d, want 2", skipped)
	}
	if want := []int{2, 2, 2, 2, 2}; !equal(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	if len(edges) != 6 || edges[0] != 0 || edges[5] != 9 {
		t.Errorf("edges = %v", edges)
	}
	_, counts, _ = histogram([]float32{3, 3, 3}, 10)
	if !equal(counts, []int{3}) {
		t.Errorf("constant values: counts = %v", counts)
	}
	_, counts, skipped = histogram([]float32{float32(math.NaN())}, 10)
	if counts != nil || skipped != 1 {
		t.Errorf("no finite value: counts %v skipped %d", counts, skipped)
	}
	_, counts, _ = histogram(vals[:10], 0)
	if len(counts) != 30 {
		t.Errorf("default bins = %d, want 30", len(counts))
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOneShotChartsInNotebook(t *testing.T) {
	rec := useNotebook(t)
	Line("curves", []float64{1, 2, 3}, []float64{3, math.Inf(1)})
	Histogram("weights", []float32{-1, 0, 0, 1}, 2)
	line := newGoEchartsLine()
	Chart(line)
	ECharts(map[string]any{"title": map[string]any{"text": "raw"}, "series": []any{}})
	if got := strings.Join(rec.kinds(), ","); got != "display,sync,display,sync,display,sync,display,sync" {
		t.Fatalf("calls = %s", got)
	}
	checks := [][]string{
		{`mlxgo-line-chart`, `[[0,1],[1,2],[2,3]]`, `[[0,3],[1,null]]`, `"series 2"`},
		{`mlxgo-histogram`, `"data":[1,3]`, `"4 values"`},
		{`mlxgo-goecharts`, `width:640px`, `height:300px`, `"goecharts series"`, `"data":[{"value":7}`},
		{`"text":"raw"`},
	}
	for i, wants := range checks {
		h := rec.calls[2*i].html
		checkSelfContained(t, h)
		for _, w := range wants {
			if !strings.Contains(h, w) {
				t.Errorf("chart %d lacks %s", i, w)
			}
		}
	}
}

// newGoEchartsLine builds a small go-echarts line chart.
func newGoEchartsLine() *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(charts.WithInitializationOpts(opts.Initialization{Width: "640px", Height: "300px"}))
	line.SetXAxis([]string{"a", "b"}).AddSeries("goecharts series", []opts.LineData{{Value: 7}, {Value: 9}})
	return line
}

func TestTableAndHTML(t *testing.T) {
	rec := useNotebook(t)
	Table([]string{"name", "shape"}, [][]string{{"layers.0.q_proj.lora_a", "(64, 8)"}, {"<b>", "&"}})
	HTML("<p>hello</p>")
	if got := strings.Join(rec.kinds(), ","); got != "display,sync,display,sync" {
		t.Fatalf("calls = %s", got)
	}
	tab := rec.calls[0].html
	for _, want := range []string{`<table class="mlxgo-table"`, "<th", ">name</th>", ">layers.0.q_proj.lora_a</td>", "&lt;b&gt;", "&amp;"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q: %s", want, tab)
		}
	}
	if rec.calls[2].html != "<p>hello</p>" {
		t.Errorf("HTML sent %q", rec.calls[2].html)
	}
}

func TestTextFallbacks(t *testing.T) {
	buf := useText(t)
	Table([]string{"name", "dtype"}, [][]string{{"w", "float32"}, {"bias", "bf16"}})
	HTML(`<div><b>Loss</b> &amp; more<script>var x = "<p>";</script></div><p>next</p>`)
	Line("curve", []float64{1, 4, 2})
	Histogram("h", []float32{0, 0, 1}, 2)
	ECharts(map[string]any{"title": map[string]any{"text": "raw"}})
	got := buf.String()
	for _, want := range []string{
		"name  dtype\nw     float32\nbias  bf16\n",
		"Loss & more\nnext\n",
		"curve\n  series 1: 3 points, first 1, last 2, min 1, max 4\n",
		"h (3 values)\n",
		"2 ████████████████████████████████████████\n",
		"chart: raw\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "var x") || strings.Contains(got, "<") {
		t.Errorf("markup leaked into text:\n%s", got)
	}
}

func TestScriptSafe(t *testing.T) {
	in := `a="</script>"; b="</SCRIPT >"; c="<!-- x"`
	got := scriptSafe(in)
	if strings.Contains(strings.ToLower(got), "</script") || strings.Contains(got, "<!--") {
		t.Errorf("scriptSafe(%q) = %q", in, got)
	}
	if got != `a="<\/script>"; b="<\/SCRIPT >"; c="<\!-- x"` {
		t.Errorf("scriptSafe(%q) = %q", in, got)
	}
}

func TestEChartsPathEnv(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "echarts.min.js")
	if err := os.WriteFile(p, []byte("//"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EChartsEnv, p)
	if got, err := EChartsPath(); err != nil || got != p {
		t.Errorf("EChartsPath() = %q, %v; want %q", got, err, p)
	}
	t.Setenv(EChartsEnv, filepath.Join(dir, "missing.js"))
	if _, err := EChartsPath(); err == nil || !strings.Contains(err.Error(), EChartsEnv) {
		t.Errorf("missing override: err = %v", err)
	}
	t.Setenv(EChartsEnv, "")
	got, err := EChartsPath()
	if err != nil {
		t.Fatalf("%v", err)
	}
	if !strings.HasSuffix(filepath.ToSlash(got), "widgets/node/node_modules/echarts/dist/echarts.min.js") {
		t.Errorf("default path %q", got)
	}
}
