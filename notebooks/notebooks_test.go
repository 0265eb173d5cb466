// Package notebooks_test executes every notebook of this folder on the "Go (mlxgo)" kernel,
// headless, exports it to HTML, opens the HTML in headless Chromium and checks that the
// walkthrough's charts drew and that the outputs it promises are there.
package notebooks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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

func TestWalkthroughExecutesAndRenders(t *testing.T) {
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
	t.Log(goRun(t, args...))
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
	for _, want := range []string{"trainable after LoRA:", "validation loss: before", "BEFORE", "AFTER", "kernels run while building the graph: 0"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the exported walkthrough lacks %q", want)
		}
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
