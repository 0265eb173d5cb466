package widgets

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// wantAll fails for every string of wants missing from h.
func wantAll(t *testing.T, what, h string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(h, w) {
			t.Errorf("%s lacks %s", what, w)
		}
	}
}

// interactiveParts are in every new chart's option: the PNG button, zoom and restore.
var interactiveParts = []string{`"saveAsImage":{"pixelRatio":2,"title":"save as PNG"}`, `"dataZoom":{"title"`, `"restore"`, `"type":"inside"`}

func TestHeatmapHTML(t *testing.T) {
	rec := useNotebook(t)
	Heatmap("head 0", [][]float64{{1, 0}, {0.25, math.NaN()}}, []string{"the", "cat"}, []string{"the", "cat"})
	if got := strings.Join(rec.kinds(), ","); got != "display,sync" {
		t.Fatalf("calls = %s", got)
	}
	h := rec.calls[0].html
	checkSelfContained(t, h)
	wantAll(t, "heatmap", h, append([]string{`mlxgo-heatmap`, `"data":[[0,0,1],[1,0,0],[0,1,0.25],[1,1,null]]`,
		`"data":["the","cat"]`, `"inverse":true`, `"visualMap":{`, `2×2, min 0, max 1, 1 NaN/Inf left out`,
		`o.tooltip.formatter = function (p)`}, interactiveParts...)...)
	// Row and column labels default to indices.
	wantAll(t, "unlabelled heatmap", HeatmapHTML("z", [][]float64{{1, 2, 3}}, nil, nil), `"data":["0","1","2"]`, `"data":["0"]`)
}

func TestScatterBarTokensHTML(t *testing.T) {
	s := ScatterHTML("embeddings", []XY{{1, 2, "cat", "nouns"}, {3, 4, "dog", "nouns"}, {5, math.Inf(1), "bad", "nouns"}, {0, 1, "ran", "verbs"}})
	checkSelfContained(t, s)
	wantAll(t, "scatter", s, append([]string{`mlxgo-scatter`, `"name":"nouns"`, `"name":"verbs"`,
		`{"name":"cat","value":[1,2]}`, `"data":["nouns","verbs"]`, `3 points, 1 NaN/Inf left out`}, interactiveParts...)...)
	if strings.Contains(s, `"bad"`) {
		t.Error("a point with an infinite coordinate was drawn")
	}

	b := BarHTML("B norms", []string{"layer 0", "layer 1"}, Series{"q_proj", []float64{0.5, 1}}, Series{"v_proj", []float64{2, math.NaN()}})
	checkSelfContained(t, b)
	wantAll(t, "bar", b, append([]string{`mlxgo-bar`, `"data":[0.5,1]`, `"data":[2,null]`, `"data":["q_proj","v_proj"]`,
		`"type":"bar"`, `1 NaN/Inf left out`}, interactiveParts...)...)

	tk := TokensHTML("generated", []string{"Once", " upon", "<"}, []float64{0.9, 0.05, math.NaN()})
	wantAll(t, "tokens", tk, `class="mlxgo-tokens"`, `data-p="0.9" title="p = 0.9000" style="background:hsl(108,75%,78%)`,
		`data-p="0.05" title="p = 0.0500" style="background:hsl(6,75%,78%)`, `>Once</span>`, `> upon</span>`,
		`data-p="null" title="p = NaN/Inf" style="background:#cccccc`, `>&lt;</span>`)
}

// TestBadInput: input a widget cannot draw shows a message naming the widget, its title and
// the problem — no chart, no script.
func TestBadInput(t *testing.T) {
	for _, c := range []struct{ html, want string }{
		{HeatmapHTML("empty", nil, nil, nil), `widgets.Heatmap(&#34;empty&#34;): no values (0 rows)`},
		{HeatmapHTML("ragged", [][]float64{{1, 2}, {3}}, nil, nil), `row 1 has 1 values, row 0 has 2`},
		{HeatmapHTML("labels", [][]float64{{1, 2}}, []string{"a"}, nil), `1 x labels for 2 columns`},
		{HeatmapHTML("labels", [][]float64{{1, 2}}, nil, []string{"a", "b"}), `2 y labels for 1 rows`},
		{HeatmapHTML("nan", [][]float64{{math.NaN(), math.Inf(-1)}}, nil, nil), `none of the 2 values is finite`},
		{ScatterHTML("none", nil), `widgets.Scatter(&#34;none&#34;): no points`},
		{ScatterHTML("nan", []XY{{X: math.NaN()}}), `none of the 1 points has finite coordinates`},
		{BarHTML("bars", nil, Series{"a", nil}), `widgets.Bar(&#34;bars&#34;): no categories`},
		{BarHTML("bars", []string{"x"}), `no series`},
		{BarHTML("bars", []string{"x", "y"}, Series{"q_proj", []float64{1}}), `series &#34;q_proj&#34; has 1 values for 2 categories`},
		{TokensHTML("t", nil, nil), `widgets.Tokens(&#34;t&#34;): no tokens`},
		{TokensHTML("t", []string{"a", "b"}, []float64{1}), `2 tokens but 1 probabilities`},
		{CompareHTML("runs"), `widgets.Compare(&#34;runs&#34;): no runs`},
		{CompareHTML("runs", NewRun("a"), NewRun("a")), `two runs are named &#34;a&#34;`},
		{InspectHTML("nil", nil), `widgets.Inspect(&#34;nil&#34;): nil array`},
		{InspectHTML("empty", mx.FromSlice([]float32{}, 0, 3)), `the array is empty (shape [0 3]): nothing to draw`},
	} {
		if !strings.Contains(c.html, `class="mlxgo-error"`) || !strings.Contains(c.html, c.want) {
			t.Errorf("message lacks %q:\n%.300s", c.want, c.html)
		}
		if strings.Contains(c.html, "echarts") || strings.Contains(c.html, "mlxgo-chart") {
			t.Errorf("bad input %q still drew a chart", c.want)
		}
	}
	// Outside a notebook the same messages are printed.
	buf := useText(t)
	Heatmap("labels", [][]float64{{1, 2}}, []string{"a"}, nil)
	Bar("bars", []string{"x", "y"}, Series{"q_proj", []float64{1}})
	wantAll(t, "text output", buf.String(), `widgets.Heatmap("labels"): 1 x labels for 2 columns`,
		`widgets.Bar("bars"): series "q_proj" has 1 values for 2 categories`)
}

func TestInspect(t *testing.T) {
	inf := float32(math.Inf(1))
	x := mx.FromSlice([]float32{1, 2, 3, float32(math.NaN()), inf, -inf, 4, 6}, 2, 4)
	s := ArrayStats(x)
	if s.NaN != 1 || s.PosInf != 1 || s.NegInf != 1 || s.Size != 8 || s.Min != 1 || s.Max != 6 || s.Mean != 3.2 ||
		math.Abs(s.Std-math.Sqrt(2.96)) > 1e-12 || s.Dtype != "float32" || s.Backend == "" {
		t.Errorf("stats %+v", s)
	}
	h := InspectHTML("w", x)
	wantAll(t, "inspect", h, `class="mlxgo-inspect"`, `>shape</td><td style="text-align:left;padding:2px 10px;">[2 4]</td>`,
		`>NaN</td><td style="text-align:left;padding:2px 10px;">1</td>`, `mlxgo-histogram`, `mlxgo-heatmap`, `"data":[[0,0,1],`)
	if strings.Contains(InspectHTML("v", mx.FromSlice([]float32{1, 2}, 2)), "mlxgo-heatmap") {
		t.Error("a 1-D array got a heatmap")
	}
	// A large matrix is averaged over blocks.
	z, note := blockMean(make([]float64, 200*10), 200, 10, 96)
	if len(z) != 67 || len(z[0]) != 10 || note != "(means of 3×1 blocks)" {
		t.Errorf("block means %d×%d %q", len(z), len(z[0]), note)
	}
	buf := useText(t)
	Inspect("w", x)
	wantAll(t, "text", buf.String(), "w\n  shape    [2 4]\n  dtype    float32\n", "  mean     3.2\n", "  +Inf     1\n")
}

func TestCompareAndRunFiles(t *testing.T) {
	a := NewRun("rank 4")
	a.Train = []Point{{1, 3}, {2, 2.5}}
	a.Val = []Point{{2, 2.7}}
	a.Metrics = map[string]float64{"rank": 4, "val loss": 2.7, "learning rate": 1e-4, "zeta": math.NaN()}
	b := NewRun("rank 8")
	b.Train = []Point{{1, 3.1}, {2, 2.2}}
	b.Metrics = map[string]float64{"rank": 8, "train loss": 2.2}
	h := CompareHTML("sweep", a, b)
	checkSelfContained(t, h)
	wantAll(t, "comparison", h, append([]string{`class="mlxgo-compare"`, `mlxgo-compare-chart`,
		`"name":"rank 4 · train"`, `"name":"rank 4 · val"`, `"name":"rank 8 · train"`, `[[1,3],[2,2.5]]`, `"dashed"`,
		`>run</th>`, `>rank</th>`, `>learning rate</th>`, `>train loss</th>`, `>val loss</th>`, `>zeta</th>`,
		`>0.0001</td>`, `>NaN</td>`}, interactiveParts...)...)
	if i, j := strings.Index(h, ">rank</th>"), strings.Index(h, ">learning rate</th>"); i > j {
		t.Error("columns are not in the usual order")
	}

	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "rank 4" || len(got.Train) != 2 || got.Val[0] != (Point{2, 2.7}) || got.Metrics["rank"] != 4 || !math.IsNaN(got.Metrics["zeta"]) {
		t.Errorf("loaded %+v", got)
	}
	if _, err := LoadRun(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no run") {
		t.Errorf("empty folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, RunFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRun(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, RunFile)) {
		t.Errorf("broken run file: %v", err)
	}
}

// TestRunFromTrainer feeds a Run from a real trainer's events (the walkthrough's model, 4 steps),
// then reads the adapter folder back: with the saved run, and with the trainer's files alone.
func TestRunFromTrainer(t *testing.T) {
	const modelDir, dataDir = "../notebooks/models/tiny-story", "../notebooks/data"
	model := lm.MustLoad(modelDir)
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	train, err := data.LoadSplit(dataDir, "train", tok, data.Options{MaskPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	valid, err := data.LoadSplit(dataDir, "valid", tok, data.Options{MaskPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	model.Freeze()
	cfg := lora.Config{NumLayers: 2, Rank: 4, Scale: 10}
	if _, err := lora.Apply(model, cfg); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "r4")
	opts := trainer.Defaults()
	opts.AdapterPath, opts.Iters, opts.BatchSize, opts.LearningRate = dir, 4, 4, 1e-3
	opts.StepsPerReport, opts.StepsPerEval, opts.SaveEvery, opts.ValBatches = 1, 2, 2, 2
	run := NewRun("rank 4")
	tr := trainer.New(model, opts, lora.FromConfig(cfg), tok.EOSIDs()[0])
	if err := tr.Train(context.Background(), train, valid, run.Observe); err != nil {
		t.Fatal(err)
	}
	if len(run.Train) != 4 || len(run.Val) < 2 || run.Metrics["steps"] != 4 || run.Metrics["tokens"] <= 0 ||
		run.Metrics["best val loss"] > run.Metrics["val loss"] {
		t.Fatalf("run from events: %+v", run)
	}
	if err := run.Save(dir); err != nil {
		t.Fatal(err)
	}
	saved, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Name != "rank 4" || len(saved.Train) != 4 || saved.Metrics["rank"] != 4 || saved.Metrics["learning rate"] != 1e-3 {
		t.Errorf("saved run read back as %+v", saved)
	}
	// Without mlxgo_run.json: the checkpoint and adapter_config.json still give the metrics.
	if err := os.Remove(filepath.Join(dir, RunFile)); err != nil {
		t.Fatal(err)
	}
	bare, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Name != "r4" || len(bare.Train) != 0 || bare.Metrics["steps"] != 4 || bare.Metrics["tokens"] != run.Metrics["tokens"] ||
		bare.Metrics["rank"] != 4 || bare.Metrics["scale"] != 10 || bare.Metrics["learning rate"] != 1e-3 ||
		math.Abs(bare.Metrics["best val loss"]-run.Metrics["best val loss"]) > 1e-9 {
		t.Errorf("run from the trainer's files: %+v (events gave %+v)", bare.Metrics, run.Metrics)
	}
	h := CompareHTML("two sources", run, bare)
	wantAll(t, "comparison", h, `"name":"rank 4 · train"`, `>r4</td>`)
}
