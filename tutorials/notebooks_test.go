package tutorials_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/tutorials/internal/notebook"
)

// allGuides are the folders holding a main.go: every one has a notebook.
func allGuides(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob("[0-9][0-9]-*/main.go")
	if err != nil || len(mains) < 5 {
		t.Fatalf("guides: %v %v", mains, err)
	}
	var dirs []string
	for _, m := range mains {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

// TestNotebooksInSync checks that each guide's committed notebook is what the generator makes
// from its README.md and main.go, so the notebook never carries code of its own.
func TestNotebooksInSync(t *testing.T) {
	for _, g := range allGuides(t) {
		want, err := notebook.Build(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(notebook.Name(g))
		if err != nil {
			t.Errorf("%v: run go generate ./tutorials", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what %s/README.md and main.go make: run go generate ./tutorials", notebook.Name(g), g)
		}
	}
}

// TestNotebookBuild checks the generated cells of one guide: the README's text, then the
// declarations of main.go without func main, then main's body as a %% cell.
func TestNotebookBuild(t *testing.T) {
	raw, err := notebook.Build("01-lazy-evaluation")
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string `json:"cell_type"`
			Source   string `json:"source"`
		} `json:"cells"`
		Metadata struct {
			Kernelspec struct{ Name string } `json:"kernelspec"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &nb); err != nil {
		t.Fatal(err)
	}
	// nbformat requires execution_count (null) and outputs in code cells, and neither in markdown.
	if n := strings.Count(string(raw), `"execution_count": null`); n != 2 || strings.Count(string(raw), `"outputs": []`) != 2 {
		t.Errorf("%d code cells with execution_count null, want 2", n)
	}
	if nb.Metadata.Kernelspec.Name != "mlxgo" || len(nb.Cells) != 5 {
		t.Fatalf("kernel %q, %d cells", nb.Metadata.Kernelspec.Name, len(nb.Cells))
	}
	decls, body := nb.Cells[3].Source, nb.Cells[4].Source
	if !strings.HasPrefix(nb.Cells[0].Source, "# 01 · Lazy evaluation") || !strings.HasPrefix(nb.Cells[1].Source, "## A graph, not a value") ||
		!strings.HasPrefix(decls, "import (") || !strings.Contains(decls, "func pending(a *mx.Array) int {") ||
		strings.Contains(decls, "func main") || strings.Contains(decls, "package main") ||
		!strings.HasPrefix(body, "%%\n// 1. Operations build a graph.\na := mx.FromSlice([]float32{1, 2, 3})\n") {
		t.Errorf("cells:\n%s\n---\n%.300s\n---\n%.300s", nb.Cells[0].Source, decls, body)
	}
	if _, err := notebook.Build("no-such-guide"); err == nil || !strings.Contains(err.Error(), "no-such-guide") {
		t.Errorf("missing guide: %v", err)
	}
}

// TestNotebooksExecute installs the "Go (mlxgo)" kernel, executes every guide's notebook
// headless and checks that its last cell printed what `go run` of the guide prints (numbers
// aside: memory and timings vary).
func TestNotebooksExecute(t *testing.T) {
	if testing.Short() {
		t.Skip("executes the notebooks (minutes); run without -short")
	}
	root := repoRoot(t)
	run := func(args ...string) string {
		cmd := exec.Command(goTool(t), append([]string{"run"}, args...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go run %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("./kernel/cmd/install")
	out := t.TempDir()
	args := []string{"./kernel/cmd/runnb", "-no-html", "-out", out}
	guides := allGuides(t)
	for _, g := range guides {
		args = append(args, filepath.Join("tutorials", notebook.Name(g)))
	}
	t.Log(run(args...))
	digits := regexp.MustCompile(`[0-9.]+`)
	norm := func(s string) []string { return nonEmpty(strings.Split(digits.ReplaceAllString(s, "#"), "\n")) }
	for _, g := range guides {
		got := lastCellStdout(t, filepath.Join(out, filepath.Base(notebook.Name(g))))
		want := output(t, g)
		if a, b := norm(got), norm(want); strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: the notebook printed\n%s\nwhile go run printed\n%s", g, got, want)
		}
	}
}

// lastCellStdout returns what the last code cell of an executed notebook printed.
func lastCellStdout(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string `json:"cell_type"`
			Outputs  []struct {
				OutputType string `json:"output_type"`
				Name       string `json:"name"`
				Text       any    `json:"text"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(raw, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var b strings.Builder
	for i := len(nb.Cells) - 1; i >= 0; i-- {
		if nb.Cells[i].CellType != "code" {
			continue
		}
		for _, o := range nb.Cells[i].Outputs {
			if o.OutputType != "stream" || o.Name != "stdout" {
				continue
			}
			switch v := o.Text.(type) {
			case string:
				b.WriteString(v)
			case []any:
				for _, s := range v {
					b.WriteString(s.(string))
				}
			}
		}
		break
	}
	return b.String()
}
