// Package notebooks_test executes every notebook of this folder on the "Go (mlxgo)" kernel,
// headless, exports it to HTML, opens the HTML in headless Chromium and checks that the
// charts of the walkthrough and of the experiments notebook drew, hold their data, and that
// the outputs they promise are there.
package notebooks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/widgets/browsercheck"
)

func goRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestNotebooksExecuteAndRender(t *testing.T) {
	if testing.Short() {
		t.Skip("executes the notebooks (minutes); run without -short")
	}
	goRun(t, "./kernel/cmd/install")
	nbs, _ := filepath.Glob("*.ipynb")
	if len(nbs) == 0 {
		t.Fatal("no notebooks")
	}
	out := t.TempDir()
	args := []string{"./kernel/cmd/runnb", "-out", out}
	for _, nb := range nbs {
		args = append(args, filepath.Join("notebooks", nb))
	}
	log := goRun(t, args...)
	t.Log(log)
	t.Run("walkthrough", func(t *testing.T) { walkthrough(t, out) })
	t.Run("experiments", func(t *testing.T) { experiments(t, out, log) })
}

func walkthrough(t *testing.T, out string) {
	html := filepath.Join(out, "lora_walkthrough.html")
	rep, err := browsercheck.Check(html)
	if err != nil {
		t.Fatalf("browser check of %s: %v", html, err)
	}
	if len(rep.LossCharts()) == 0 || len(rep.Errors) > 0 {
		t.Fatalf("loss charts %d, script errors %v", len(rep.LossCharts()), rep.Errors)
	}
	for _, c := range rep.Charts {
		t.Logf("chart: %+v", c)
	}
	text := rep.Text
	for _, want := range []string{"trainable after LoRA:", "validation loss: before", "BEFORE", "AFTER", "kernels run while building the graph: 0",
		"ggml-model-f16.gguf", "Modelfile"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the exported walkthrough lacks %q", want)
		}
	}
	// The real-model cell loads the Hub id from the cache, or says why it did not (it never
	// downloads unless told to).
	if !regexp.MustCompile(`skipped: HuggingFaceTB/SmolLM2-135M-Instruct is not in the Hugging Face cache|loaded HuggingFaceTB/SmolLM2-135M-Instruct from`).MatchString(text) {
		t.Fatal("the real-model cell printed neither what it loaded nor why it skipped")
	}
	// The loss must fall: compare the figures the training cell prints.
	m := regexp.MustCompile(`validation loss: before ([0-9.]+), after ([0-9.]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no validation figures")
	}
	before, _ := strconv.ParseFloat(m[1], 64)
	after, _ := strconv.ParseFloat(m[2], 64)
	if !(after < before) {
		t.Fatalf("validation loss did not fall: %v -> %v", before, after)
	}
	t.Logf("validation loss %v -> %v", before, after)
	if _, err := os.Stat(filepath.Join(out, "lora_walkthrough.ipynb")); err != nil {
		t.Fatal(err)
	}
}

// experiments checks the executed experiments notebook: it ran within 5 minutes, and its
// exported HTML draws the sweep's comparison and heatmap, the attention and per-token loss
// heatmaps, the B-norm bars, the inspectors, the embedding scatter and the shaded tokens.
func experiments(t *testing.T, out, log string) {
	m := regexp.MustCompile(`experiments\.ipynb: (\d+) code cells, 0 failed, ([0-9hms.]+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("runnb did not report the experiments notebook:\n%s", log)
	}
	took, err := time.ParseDuration(m[2])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("experiments.ipynb: %s code cells in %v", m[1], took)
	if took > 5*time.Minute {
		t.Errorf("the experiments notebook took %v, want under 5 minutes", took)
	}
	html := filepath.Join(out, "experiments.html")
	rep, err := browsercheck.CheckWith(html, browsercheck.Options{Height: 1200, Timeout: 10 * time.Minute,
		Require: []string{"mlxgo-heatmap", "mlxgo-scatter", "mlxgo-compare-chart", "mlxgo-bar", "mlxgo-histogram"}})
	if err != nil {
		t.Fatalf("browser check of %s: %v", html, err)
	}
	for _, c := range rep.Charts {
		t.Logf("chart: %+v", c)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("script errors: %v", rep.Errors)
	}
	points := func(class string) []int {
		var ps []int
		for _, c := range rep.Of(class) {
			ps = append(ps, c.Points)
		}
		return ps
	}
	// Sweep (2×2), attention before and after (prompt × prompt), per-token loss, Inspect of a B
	// matrix (8×64, drawn as means of 1×2 blocks: 8×32) and of the embeddings (512×128, drawn
	// as means of 11×3 blocks: 47×43).
	heat := points("mlxgo-heatmap")
	if len(heat) != 6 || heat[0] != 4 || heat[1] != heat[2] || heat[1] < 100 || heat[3] < 12 || heat[4] != 8*32 || heat[5] != 47*43 {
		t.Errorf("heatmaps hold %v points, want [4 L² L² answers×tokens 256 2021]", heat)
	}
	// 4 sweep runs twice (from events, from folders), then LoRA vs QLoRA: curves of 40 steps.
	cmp := points("mlxgo-compare-chart")
	if len(cmp) != 3 || cmp[0] != cmp[1] || cmp[0] < 4*8 || cmp[2] < 2*8 {
		t.Errorf("comparison charts hold %v points", cmp)
	}
	if sc := points("mlxgo-scatter"); len(sc) != 1 || sc[0] < 50 {
		t.Errorf("scatter holds %v points, want the tokens the data uses", sc)
	}
	if bars := points("mlxgo-bar"); len(bars) != 1 || bars[0] != 8 {
		t.Errorf("bar chart holds %v values, want 4 layers × 2 modules", bars)
	}
	for _, want := range []string{"best run: out/experiments/sweep/", "largest change of an attention weight",
		"after fine-tuning: mean loss per answer token", "block weights MB", "QLoRA, 4-bit base",
		"rank 8, lr 0.0003", "probability:", "fine-tuned: Q: What does the owl say?"} {
		if !strings.Contains(rep.Text, want) {
			t.Errorf("the exported experiments notebook lacks %q", want)
		}
	}
}
