package widgets_test

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/widgets"
	"github.com/mlxgo/mlxgo/widgets/browsercheck"
)

// debianRequireJS is RequireJS as Debian's jupyter-notebook installs it (libjs-requirejs).
const debianRequireJS = "/usr/share/javascript/requirejs/require.min.js"

// amdLoader returns a <script> giving the page an AMD loader, as classic Notebook and
// nbconvert's HTML have: Debian's RequireJS when installed, else a stub whose define swallows
// modules (a library captured by it never reaches window.echarts either).
func amdLoader(t *testing.T) string {
	if _, err := os.Stat(debianRequireJS); err == nil {
		t.Logf("page loads RequireJS from %s", debianRequireJS)
		return `<script src="file://` + debianRequireJS + `"></script>`
	}
	t.Logf("%s not found: page uses an AMD define stub", debianRequireJS)
	return `<script>window.define = function () {}; window.define.amd = {};</script>`
}

func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := browsercheck.Chromium(); err != nil {
		t.Fatalf("%v (the browser tests need Debian's chromium: run make setup)", err)
	}
}

func writePage(t *testing.T, name, body string) string {
	t.Helper()
	page := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mlxgo widgets</title>" + amdLoader(t) +
		"</head>\n<body style=\"margin:0;background:#fff;\">\n" + body + "\n</body></html>\n"
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func lossChart() *widgets.LossChart {
	c := widgets.NewLossChart("browser test")
	for s := 1; s <= 60; s++ {
		c.AddTrain(s, 3*math.Exp(-float64(s)/20)+0.5+0.05*math.Sin(float64(s)))
		c.AddLR(s, 1e-4*math.Min(1, float64(s)/10))
		if s%10 == 0 {
			c.AddVal(s, 3*math.Exp(-float64(s)/20)+0.6)
		}
	}
	return c
}

// TestLossChartDrawsInChromium renders a page holding a LossChart under an AMD loader and
// checks, from a screenshot and from the canvas pixels, that the chart is drawn offline.
func TestLossChartDrawsInChromium(t *testing.T) {
	requireChromium(t)
	c := lossChart()
	page := writePage(t, "loss.html", "<h1 style=\"font-size:14px;margin:0 0 4px 0;\">mlxgo browser check</h1>\n"+c.HTML())

	shot := filepath.Join(t.TempDir(), "loss.png")
	if err := browsercheck.Screenshot(page, shot, browsercheck.Options{Width: 1000, Height: 800}); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, shot)
	// The chart occupies the top 400 pixels (heading plus a 380 px container).
	region := image.Rect(0, 20, 1000, 400).Intersect(img.Bounds())
	ink, blue := 0, 0
	for y := region.Min.Y; y < region.Max.Y; y++ {
		for x := region.Min.X; x < region.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			if r < 245 || g < 245 || b < 245 {
				ink++
			}
			// The training series is drawn in #1f77b4.
			if absDiff(r, 0x1f) < 40 && absDiff(g, 0x77) < 40 && absDiff(b, 0xb4) < 40 {
				blue++
			}
		}
	}
	t.Logf("screenshot: %d non-white pixels, %d in the training series' colour", ink, blue)
	if ink < 2000 {
		t.Errorf("chart region has %d non-white pixels, want a drawn chart (>= 2000)", ink)
	}
	if blue < 100 {
		t.Errorf("chart region has %d pixels of the training series' colour, want the loss curve (>= 100)", blue)
	}
	below := 0
	for y := 450; y < img.Bounds().Max.Y; y++ {
		for x := 0; x < img.Bounds().Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 < 245 || g>>8 < 245 || b>>8 < 245 {
				below++
			}
		}
	}
	if below > 0 {
		t.Errorf("%d non-white pixels below the chart: the page is not laid out as expected", below)
	}

	rep, err := browsercheck.Check(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %+v", rep)
	if len(rep.Charts) != 1 || !rep.Charts[0].Loss {
		t.Fatalf("charts = %+v, want one loss chart", rep.Charts)
	}
	ch := rep.Charts[0]
	if ch.Ink == 0 || ch.Canvases == 0 {
		t.Errorf("canvas ink %d on %d canvases", ch.Ink, ch.Canvases)
	}
	if want := 60 + 6 + 60; ch.Points != want {
		t.Errorf("ECharts holds %d points, want %d", ch.Points, want)
	}
	if ch.Width < 900 || ch.Height != 380 {
		t.Errorf("chart is %dx%d, want about 1000x380", ch.Width, ch.Height)
	}
	if rep.ECharts != widgets.EChartsVersion {
		t.Errorf("window.echarts.version = %q, want %s", rep.ECharts, widgets.EChartsVersion)
	}
	if !strings.Contains(rep.Text, "mlxgo browser check") {
		t.Errorf("page text %q lacks the heading", rep.Text)
	}
	if len(rep.Errors) > 0 || len(rep.FailedResources) > 0 {
		t.Errorf("script errors %v, failed resources %v", rep.Errors, rep.FailedResources)
	}
}

// TestCheckSeesSeveralOutputs mimics an exported notebook: several outputs each inlining the
// library, a live output that was cleared, and other widgets.
func TestCheckSeesSeveralOutputs(t *testing.T) {
	requireChromium(t)
	c := lossChart()
	body := `<div class="output">` + c.HTML() + `</div><div class="output"></div>` +
		`<div class="output">` + widgets.HistogramHTML("weights", []float32{-1, -0.5, 0, 0, 0.5, 1}, 4) + `</div>` +
		`<div class="output">` + widgets.LineHTML("curve", []float64{1, 3, 2}) + `</div>` +
		`<div class="output">` + widgets.TableHTML([]string{"name", "shape"}, [][]string{{"lora_a", "(64, 8)"}}) + `</div>`
	page := writePage(t, "outputs.html", body)
	rep, err := browsercheck.Check(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Charts) != 3 || len(rep.LossCharts()) != 1 {
		t.Fatalf("charts = %+v", rep.Charts)
	}
	for _, ch := range rep.Charts {
		if ch.Ink == 0 || ch.Points <= 0 {
			t.Errorf("chart %+v not drawn", ch)
		}
	}
	if !strings.Contains(rep.Text, "lora_a") {
		t.Errorf("text %q lacks the table", rep.Text)
	}
}

// TestCheckFailsOnUndrawnChart makes sure the check can fail: a loss-chart container whose
// script never runs, and a page without any loss chart.
func TestCheckFailsOnUndrawnChart(t *testing.T) {
	requireChromium(t)
	page := writePage(t, "empty.html", `<div class="mlxgo-chart mlxgo-loss-chart" id="x" style="width:600px;height:300px"></div>`)
	rep, err := browsercheck.Check(page)
	if err == nil || !strings.Contains(err.Error(), "has no canvas") {
		t.Errorf("undrawn chart: err = %v, report %+v", err, rep)
	}
	page = writePage(t, "none.html", `<p>no charts here</p>`)
	rep, err = browsercheck.Check(page)
	if err == nil || !strings.Contains(err.Error(), "no element of class mlxgo-loss-chart") {
		t.Errorf("page without charts: err = %v", err)
	}
	if !strings.Contains(rep.Text, "no charts here") {
		t.Errorf("text = %q", rep.Text)
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestNewWidgetsDrawInChromium renders the experiment widgets — heatmap, scatter, bar, run
// comparison, Inspect of a matrix, shaded tokens — and an input error on one page, and checks
// in headless Chromium that every chart drew and holds its data.
func TestNewWidgetsDrawInChromium(t *testing.T) {
	requireChromium(t)
	a, b := widgets.NewRun("rank 4"), widgets.NewRun("rank 8")
	for s := 1; s <= 10; s++ {
		a.Train = append(a.Train, widgets.Point{Step: s, Value: 3 - 0.1*float64(s)})
		b.Train = append(b.Train, widgets.Point{Step: s, Value: 3 - 0.15*float64(s)})
	}
	a.Val = []widgets.Point{{Step: 5, Value: 2.6}, {Step: 10, Value: 2.2}}
	a.Metrics["val loss"], b.Metrics["val loss"] = 2.2, 1.9
	body := widgets.HeatmapHTML("attention", [][]float64{{1, 0, 0}, {0.4, 0.6, 0}}, []string{"Once", " upon", " a"}, []string{"Once", " upon"}) +
		widgets.ScatterHTML("embeddings", []widgets.XY{{X: 1, Y: 2, Label: "cat", Group: "a"}, {X: 2, Y: 1, Label: "dog", Group: "b"}, {X: 0, Y: 0, Label: "ran", Group: "b"}}) +
		widgets.BarHTML("B norms", []string{"layer 0", "layer 1"}, widgets.Series{Name: "q_proj", Values: []float64{0.5, 1}}, widgets.Series{Name: "v_proj", Values: []float64{2, 1.5}}) +
		widgets.CompareHTML("sweep", a, b) +
		widgets.InspectHTML("w", mx.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)) +
		widgets.TokensHTML("generated", []string{"Once", " upon", " a", " time"}, []float64{0.9, 0.6, 0.3, 0.05}) +
		widgets.HeatmapHTML("broken", [][]float64{{1, 2}}, []string{"only one"}, nil)
	page := writePage(t, "experiments.html", body)
	rep, err := browsercheck.CheckWith(page, browsercheck.Options{Height: 3000,
		Require: []string{"mlxgo-heatmap", "mlxgo-scatter", "mlxgo-bar", "mlxgo-compare-chart", "mlxgo-histogram"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Charts {
		t.Logf("chart: %+v", c)
	}
	for class, points := range map[string][]int{
		"mlxgo-heatmap": {6, 6}, "mlxgo-scatter": {3}, "mlxgo-bar": {4}, "mlxgo-compare-chart": {10 + 2 + 10}, "mlxgo-histogram": {40},
	} {
		var got []int
		for _, c := range rep.Of(class) {
			got = append(got, c.Points)
			if c.Ink == 0 {
				t.Errorf("%s chart %d drew nothing", class, c.Index)
			}
		}
		if !slices.Equal(got, points) {
			t.Errorf("%s charts hold %v points, want %v", class, got, points)
		}
	}
	for _, want := range []string{"Once upon a time", "widgets.Heatmap(\"broken\"): 1 x labels for 2 columns", "val loss", "rank 8"} {
		if !strings.Contains(rep.Text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if len(rep.Errors) > 0 {
		t.Errorf("script errors: %v", rep.Errors)
	}
}
