package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RunOptions control RunNotebook.
type RunOptions struct {
	// OutDir receives the executed notebook, its HTML export and the execution log.
	OutDir string
	// Kernel is the kernelspec name; empty means KernelName.
	Kernel string
	// Timeout is the per-cell timeout; 0 means 900 s.
	Timeout time.Duration
	// AllowErrors runs every cell even after one fails (the run still fails at the end).
	AllowErrors bool
	// KeepState lets cells use their default state folder (next to the notebook). By default
	// the run gets a fresh one in OutDir/NAME.state, so earlier runs cannot leak into it.
	KeepState bool
	// NoHTML skips the HTML export.
	NoHTML bool
	// Verbose streams the kernel's log to Log instead of only saving it.
	Verbose bool
	// Env adds environment variables for the execution (KEY=VALUE).
	Env []string
	// Log receives progress lines; nil means os.Stderr.
	Log io.Writer
}

// RunResult reports a notebook execution.
type RunResult struct {
	// Notebook, HTML and LogFile are the paths written ("" when not written).
	Notebook, HTML, LogFile string
	// StateDir is the state folder the cells used ("" with KeepState).
	StateDir string
	// Cells is the number of code cells.
	Cells int
	// Errors describes the cells that failed.
	Errors []CellError
	// Duration is the execution's wall time.
	Duration time.Duration
}

// CellError is a failed cell of an executed notebook.
type CellError struct {
	// Index is the cell's position in the notebook, from 0 (markdown cells count).
	Index int
	// Name and Value are the error's ename and evalue.
	Name, Value string
	// Source is the cell's first line.
	Source string
}

// String formats the error as "cell I (first line): NAME: VALUE".
func (e CellError) String() string {
	return fmt.Sprintf("cell %d (%s): %s: %s", e.Index, e.Source, e.Name, strings.TrimSpace(e.Value))
}

// KernelInstalled reports whether Jupyter knows the named kernelspec.
func KernelInstalled(jupyter, name string) (bool, error) {
	out, err := exec.Command(jupyter, "kernelspec", "list", "--json").Output()
	if err != nil {
		return false, fmt.Errorf("setup: %s kernelspec list: %w (%s)", jupyter, err, aptHint)
	}
	var specs struct {
		Kernelspecs map[string]json.RawMessage `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &specs); err != nil {
		return false, fmt.Errorf("setup: kernelspec list: %w", err)
	}
	_, ok := specs.Kernelspecs[name]
	return ok, nil
}

// RunNotebook executes a notebook headless with nbconvert on the mlxgo kernel (cells run in
// the notebook's folder), writes OutDir/NAME.ipynb and OutDir/NAME.html, and returns an error
// when the execution or any cell failed. The result is filled in as far as the run got.
func RunNotebook(nb string, o RunOptions) (*RunResult, error) {
	logw := o.Log
	if logw == nil {
		logw = os.Stderr
	}
	if o.Kernel == "" {
		o.Kernel = KernelName
	}
	if o.Timeout <= 0 {
		o.Timeout = 900 * time.Second
	}
	res := &RunResult{}
	jupyter, err := Jupyter()
	if err != nil {
		return res, err
	}
	if err := exec.Command(jupyter, "nbconvert", "--version").Run(); err != nil {
		return res, fmt.Errorf("setup: %s nbconvert does not run: %w (%s)", jupyter, err, aptHint)
	}
	if ok, err := KernelInstalled(jupyter, o.Kernel); err != nil {
		return res, err
	} else if !ok {
		return res, fmt.Errorf("setup: Jupyter has no kernel %q: run go run ./kernel/cmd/install (make walkthrough does)", o.Kernel)
	}
	nb, err = filepath.Abs(nb)
	if err != nil {
		return res, err
	}
	if _, err := os.Stat(nb); err != nil {
		return res, fmt.Errorf("setup: %w", err)
	}
	outDir, err := filepath.Abs(o.OutDir)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return res, err
	}
	base := strings.TrimSuffix(filepath.Base(nb), ".ipynb")
	env := append(os.Environ(), o.Env...)
	if !o.KeepState {
		res.StateDir = filepath.Join(outDir, base+".state")
		if err := os.RemoveAll(res.StateDir); err != nil {
			return res, err
		}
		env = append(env, "MLXGO_STATE_DIR="+res.StateDir)
	}

	res.LogFile = filepath.Join(outDir, base+".log")
	logFile, err := os.Create(res.LogFile)
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	var sink io.Writer = logFile
	if o.Verbose {
		sink = io.MultiWriter(logFile, logw)
	}
	args := []string{"nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.kernel_name=" + o.Kernel,
		fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(o.Timeout.Seconds())),
		"--output-dir", outDir, "--output", base}
	if o.AllowErrors {
		args = append(args, "--allow-errors")
	}
	args = append(args, nb)
	fmt.Fprintf(logw, "runnb: executing %s on kernel %q (per-cell timeout %v; log in %s)\n", nb, o.Kernel, o.Timeout, res.LogFile)
	cmd := exec.Command(jupyter, args...)
	cmd.Dir = filepath.Dir(nb)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = sink, sink
	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	_ = logFile.Sync()
	out := filepath.Join(outDir, base+".ipynb")
	if runErr != nil {
		excerpt := nbconvertFailure(res.LogFile)
		return res, fmt.Errorf("runnb: executing %s failed after %v: %w\n%s", nb, res.Duration.Round(time.Second), runErr, excerpt)
	}
	res.Notebook = out
	res.Cells, res.Errors, err = NotebookErrors(out)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(logw, "runnb: executed %d code cells in %v: %s\n", res.Cells, res.Duration.Round(time.Second), out)
	// Trusted, so JupyterLab runs the charts' scripts when the executed notebook is opened.
	if err := Trust(jupyter, out); err != nil {
		fmt.Fprintf(logw, "runnb: warning: %v\n", err)
	}
	if !o.NoHTML {
		cmd := exec.Command(jupyter, "nbconvert", "--to", "html", "--output-dir", outDir, out)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			return res, fmt.Errorf("runnb: exporting %s to HTML: %w\n%s", out, err, b)
		}
		res.HTML = filepath.Join(outDir, base+".html")
		fmt.Fprintf(logw, "runnb: HTML export: %s\n", res.HTML)
	}
	if len(res.Errors) > 0 {
		var lines []string
		for _, e := range res.Errors {
			lines = append(lines, "  "+e.String())
		}
		return res, fmt.Errorf("runnb: %d cell(s) of %s failed:\n%s", len(res.Errors), nb, strings.Join(lines, "\n"))
	}
	return res, nil
}

// Trust signs a notebook as trusted (what `jupyter trust` does), with the Python that runs
// jupyter: Debian's packages have no jupyter-trust command.
func Trust(jupyter, nb string) error {
	python := "python3"
	if f, err := os.Open(jupyter); err == nil {
		line := make([]byte, 256)
		n, _ := f.Read(line)
		f.Close()
		first, _, _ := strings.Cut(string(line[:n]), "\n")
		if interp, ok := strings.CutPrefix(first, "#!"); ok && strings.Contains(interp, "python") {
			if fields := strings.Fields(interp); len(fields) == 1 {
				python = fields[0]
			}
		}
	}
	if b, err := exec.Command(python, "-m", "nbformat.sign", nb).CombinedOutput(); err != nil {
		return fmt.Errorf("trusting %s: %s -m nbformat.sign: %w\n%s", nb, python, err, b)
	}
	return nil
}

// NotebookErrors reads an executed notebook and returns its number of code cells and the
// error outputs of its cells.
func NotebookErrors(path string) (cells int, errs []CellError, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	var nb struct {
		Cells []struct {
			CellType string          `json:"cell_type"`
			Source   json.RawMessage `json:"source"`
			Outputs  []struct {
				OutputType string `json:"output_type"`
				Ename      string `json:"ename"`
				Evalue     string `json:"evalue"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		return 0, nil, fmt.Errorf("setup: reading notebook %s: %w", path, err)
	}
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		cells++
		for _, o := range c.Outputs {
			if o.OutputType == "error" {
				errs = append(errs, CellError{Index: i, Name: o.Ename, Value: o.Evalue, Source: firstLine(c.Source)})
			}
		}
	}
	return cells, errs, nil
}

// firstLine returns the first non-empty line of a cell source (a string or a list of
// strings), after GoNB's "%%" line when there is one.
func firstLine(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var parts []string
		_ = json.Unmarshal(raw, &parts)
		s = strings.Join(parts, "")
	}
	if i := strings.Index(s, "%%\n"); i >= 0 && (i == 0 || s[i-1] == '\n') {
		s = s[i+3:] // the cell's main body, after GoNB's %% line
	}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 60 {
				l = l[:60] + "..."
			}
			return l
		}
	}
	return ""
}

// nbconvertFailure returns the part of the log that explains a failed execution: from the
// cell execution error on, else the log's end.
func nbconvertFailure(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	for _, marker := range []string{"An error occurred while executing the following cell", "CellExecutionError", "Traceback"} {
		if i := bytes.Index(data, []byte(marker)); i >= 0 {
			return tail(string(data[i:]), 6000)
		}
	}
	return tail(string(data), 3000)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
