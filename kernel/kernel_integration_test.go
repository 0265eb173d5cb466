package kernel_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/kernel/internal/setup"
	"github.com/mlxgo/mlxgo/widgets/browsercheck"
)

// requireJupyter fails (never skips) when Jupyter and nbconvert are missing: CI installs them.
func requireJupyter(t *testing.T) string {
	t.Helper()
	jupyter, err := setup.Jupyter()
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	if out, err := exec.Command(jupyter, "nbconvert", "--version").CombinedOutput(); err != nil {
		t.Fatalf("%s nbconvert does not run: %v %s (run make setup)", jupyter, err, out)
	}
	return jupyter
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := setup.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// goRun runs `go run ./PKG ARGS...` in the repository and returns its combined output.
func goRun(t *testing.T, root string, env []string, pkg string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", pkg}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// notebook is the part of an executed notebook the tests read.
type notebook struct {
	Cells []struct {
		CellType string `json:"cell_type"`
		Outputs  []struct {
			OutputType string         `json:"output_type"`
			Name       string         `json:"name"`
			Text       any            `json:"text"`
			Data       map[string]any `json:"data"`
			Ename      string         `json:"ename"`
			Evalue     string         `json:"evalue"`
		} `json:"outputs"`
	} `json:"cells"`
}

// joined flattens nbformat's multiline strings (a string or a list of strings).
func joined(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, s := range v {
			b.WriteString(joined(s))
		}
		return b.String()
	}
	return ""
}

func readNotebook(t *testing.T, path string) notebook {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb
}

// codeCells returns, per code cell, its stdout text and its HTML outputs.
func codeCells(t *testing.T, nb notebook) (stdout []string, htmls [][]string) {
	t.Helper()
	for _, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		var out strings.Builder
		var hs []string
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "stream":
				if o.Name == "stdout" {
					out.WriteString(joined(o.Text))
				}
			case "display_data", "execute_result":
				if h, ok := o.Data["text/html"]; ok {
					hs = append(hs, joined(h))
				}
			case "error":
				t.Errorf("cell error %s: %s", o.Ename, o.Evalue)
			}
		}
		stdout = append(stdout, out.String())
		htmls = append(htmls, hs)
	}
	return stdout, htmls
}

// TestKernelIntegration installs the kernel into a temporary Jupyter data folder, executes
// testdata/smoke.ipynb with runnb (widgets and gonbui display, a value saved in one cell and
// loaded by the next cell's new process), checks the exported HTML draws its loss chart in
// Chromium, measures trivial cells, and uninstalls.
func TestKernelIntegration(t *testing.T) {
	jupyter := requireJupyter(t)
	root := repoRoot(t)
	dataDir := t.TempDir()
	env := []string{"JUPYTER_DATA_DIR=" + dataDir, "MLXGO_STATE_DIR="}
	t.Setenv("JUPYTER_DATA_DIR", dataDir)

	start := time.Now()
	out, err := goRun(t, root, env, "./kernel/cmd/install")
	t.Logf("install (%.1fs):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	var spec setup.KernelSpec
	data, err := os.ReadFile(filepath.Join(dataDir, "kernels", "mlxgo", "kernel.json"))
	if err != nil {
		t.Fatalf("kernelspec not written: %v", err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	wantArgv := []string{filepath.Join(root, ".cache", "bin", "gonb"), "--kernel", "{connection_file}",
		"-logtostderr=true", "-raw_error=true", "-go_work=" + root}
	if !slices.Equal(spec.Argv, wantArgv) || spec.DisplayName != "Go (mlxgo)" {
		t.Errorf("kernelspec argv %q display %q; want %q, Go (mlxgo)", spec.Argv, spec.DisplayName, wantArgv)
	}
	if spec.Env["GOPROXY"] != "off" || spec.Env["GOSUMDB"] != "off" || spec.Env["GOFLAGS"] != "" ||
		!strings.HasPrefix(spec.Env["PATH"], filepath.Join(root, ".cache", "bin")+":") {
		t.Errorf("kernelspec env %v", spec.Env)
	}
	if ok, err := setup.KernelInstalled(jupyter, "mlxgo"); err != nil || !ok {
		t.Fatalf("jupyter kernelspec list does not show mlxgo: %v", err)
	}

	t.Run("smoke", func(t *testing.T) { smoke(t, root, env) })
	t.Run("preload", func(t *testing.T) { preload(t, root, env) })
	t.Run("trivial-cells", func(t *testing.T) { trivialCells(t, jupyter, root) })
	t.Run("classic-notebook-live", func(t *testing.T) { classicLive(t, jupyter, root, dataDir) })

	// Installing again changes nothing and rebuilds nothing.
	out, err = goRun(t, root, env, "./kernel/cmd/install", "-no-prewarm")
	if err != nil || !strings.Contains(out, "gonb: up to date") || !strings.Contains(out, "up to date in") {
		t.Errorf("second install: %v\n%s", err, out)
	}
	out, err = goRun(t, root, env, "./kernel/cmd/install", "-uninstall")
	if err != nil || !strings.Contains(out, "removed kernelspec") {
		t.Errorf("uninstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "kernels", "mlxgo")); !os.IsNotExist(err) {
		t.Errorf("kernelspec still there after -uninstall: %v", err)
	}
}

func smoke(t *testing.T, root string, env []string) {
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "kernel", "testdata", "smoke.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	nbPath := filepath.Join(work, "smoke.ipynb")
	if err := os.WriteFile(nbPath, src, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(work, "out")
	start := time.Now()
	// -keep-state: cells use the default state folder, .mlxgo_state next to the notebook.
	out, err := goRun(t, root, env, "./kernel/cmd/runnb", "-keep-state", "-out", outDir, nbPath)
	t.Logf("runnb (%.1fs):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		if log, rerr := os.ReadFile(filepath.Join(outDir, "smoke.log")); rerr == nil {
			t.Logf("kernel log:\n%s", log)
		}
		t.Fatalf("runnb: %v", err)
	}
	nb := readNotebook(t, filepath.Join(outDir, "smoke.ipynb"))
	stdout, htmls := codeCells(t, nb)
	if len(stdout) != 3 {
		t.Fatalf("%d code cells, want 3", len(stdout))
	}

	// Cell 1: gonbui and widgets display in the notebook.
	if !strings.Contains(stdout[0], "in notebook: true") {
		t.Errorf("cell 1 stdout %q", stdout[0])
	}
	all := strings.Join(htmls[0], "\n")
	for _, want := range []string{`<p class="mlxgo-smoke">smoke: gonbui display</p>`, `mlxgo-loss-chart`,
		`smoke-table-row`, `[[1,2.5],[2,1.5],`} {
		if !strings.Contains(all, want) {
			t.Errorf("cell 1 HTML outputs lack %s", want)
		}
	}
	charts := 0
	for _, h := range htmls[0] {
		if strings.Contains(h, "mlxgo-loss-chart") {
			charts++
			if n := strings.Count(h, `t.version="5.6.0"`); n != 1 {
				t.Errorf("final chart output inlines ECharts %d times, want 1", n)
			}
		}
	}
	if charts != 1 {
		t.Errorf("%d loss-chart outputs kept in the notebook, want 1 (the live one is cleared)", charts)
	}

	// Cells 2 and 3: a value saved by one process and loaded by another.
	saved := regexp.MustCompile(`saved by pid (\d+) in (.*)\n`).FindStringSubmatch(stdout[1])
	loaded := regexp.MustCompile(`loaded true: answer 42, saved by pid (\d+), loaded by pid (\d+)`).FindStringSubmatch(stdout[2])
	if saved == nil || loaded == nil {
		t.Fatalf("cell 2 %q, cell 3 %q", stdout[1], stdout[2])
	}
	if loaded[1] != saved[1] || loaded[2] == saved[1] {
		t.Errorf("saved by pid %s, loaded %s from pid %s: want another process", saved[1], loaded[2], loaded[1])
	}
	wantDir := filepath.Join(work, ".mlxgo_state")
	if saved[2] != wantDir {
		t.Errorf("state folder %q, want %q (next to the notebook)", saved[2], wantDir)
	}
	if _, err := os.Stat(filepath.Join(wantDir, "smoke.json")); err != nil {
		t.Error(err)
	}

	// The exported HTML draws the chart offline.
	rep, err := browsercheck.Check(filepath.Join(outDir, "smoke.html"))
	if err != nil {
		t.Errorf("exported HTML: %v", err)
	}
	if lc := rep.LossCharts(); len(lc) != 1 || lc[0].Points != 20+4+20 {
		t.Errorf("exported HTML loss charts %+v", lc)
	}
	if !strings.Contains(rep.Text, "smoke: gonbui display") || !strings.Contains(rep.Text, "loaded true: answer 42") {
		t.Errorf("exported HTML text lacks the outputs:\n%s", rep.Text)
	}
}

// preload executes testdata/preload.ipynb, a fresh notebook whose cells import nothing and use
// every package of setup.Preloaded by its name alone.
func preload(t *testing.T, root string, env []string) {
	outDir := t.TempDir()
	start := time.Now()
	out, err := goRun(t, root, env, "./kernel/cmd/runnb", "-no-html", "-out", outDir,
		filepath.Join(root, "kernel", "testdata", "preload.ipynb"))
	t.Logf("runnb (%.1fs):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("runnb: %v", err)
	}
	stdout, htmls := codeCells(t, readNotebook(t, filepath.Join(outDir, "preload.ipynb")))
	if len(stdout) != 4 {
		t.Fatalf("%d code cells, want 4", len(stdout))
	}
	if stdout[0] != "14\n" {
		t.Errorf("mx cell printed %q, want 14", stdout[0])
	}
	for i, want := range [][]string{nil,
		{"tree: bias [2]", "tree: weight [2 3]", "nn: 8 parameters; optim: learning rate 0.001"},
		{"lm: llama", "tokenizer: vocabulary", " adapted layers", "trainer: validation loss", "generate: "},
		{"kernel: true 7 <nil>"}} {
		for _, w := range want {
			if !strings.Contains(stdout[i], w) {
				t.Errorf("cell %d printed %q, want %q in it", i+1, stdout[i], w)
			}
		}
	}
	if !strings.Contains(strings.Join(htmls[3], ""), "preload-widgets-row") {
		t.Errorf("widgets.Table output missing: %q", htmls[3])
	}
}

// trivialCells executes testdata/trivial.ipynb (7 cells that import widgets and print the
// time their program started) and logs the median time from one cell's start to the next:
// parse, goimports, go build, run and the round trip through Jupyter.
func trivialCells(t *testing.T, jupyter, root string) {
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "kernel", "testdata", "trivial.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(work, "trivial.ipynb")
	if err := os.WriteFile(in, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.kernel_name=mlxgo", "--ExecutePreprocessor.timeout=300",
		"--output", "trivial.out.ipynb", in)
	cmd.Dir = work
	start := time.Now()
	out, err := cmd.CombinedOutput()
	total := time.Since(start)
	if err != nil {
		t.Fatalf("nbconvert: %v\n%s", err, out)
	}
	stdout, _ := codeCells(t, readNotebook(t, filepath.Join(work, "trivial.out.ipynb")))
	re := regexp.MustCompile(`cell (\d) start (\d+) in notebook true`)
	var starts []int64
	for i, s := range stdout {
		m := re.FindStringSubmatch(s)
		if m == nil || m[1] != strconv.Itoa(i+1) {
			t.Fatalf("cell %d printed %q", i+1, s)
		}
		ns, _ := strconv.ParseInt(m[2], 10, 64)
		starts = append(starts, ns)
	}
	var gaps []float64
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, float64(starts[i]-starts[i-1])/1e9)
	}
	slices.Sort(gaps)
	median := (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
	t.Logf("median trivial cell: %.3f s (cell-to-cell times %.3f s; whole notebook with kernel start %.1f s)",
		median, gaps, total.Seconds())
}

// TestInstallWithoutJupyter checks the installer's message when Jupyter is missing.
func TestInstallWithoutJupyter(t *testing.T) {
	root := repoRoot(t)
	out, err := goRun(t, root, []string{"MLXGO_JUPYTER=/nonexistent/jupyter", "JUPYTER_DATA_DIR=" + t.TempDir()},
		"./kernel/cmd/install", "-no-prewarm")
	if err == nil || !strings.Contains(out, "make setup") || !strings.Contains(out, "jupyter-notebook") {
		t.Errorf("install without Jupyter: err %v, output:\n%s", err, out)
	}
}

// classicLive opens testdata/live.ipynb in a classic Notebook server driven by headless
// Chromium: testdata/live_config/custom/custom.js runs the cells and reports what the charts
// drew, while a chart updates live inside its running cell and after all cells finished.
func classicLive(t *testing.T, jupyter, root, dataDir string) {
	chromium, err := browsercheck.Chromium()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "kernel", "testdata", "live.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "live.ipynb"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	// A copy of the config folder: Jupyter writes into it.
	config := filepath.Join(t.TempDir(), "config")
	customJS, err := os.ReadFile(filepath.Join(root, "kernel", "testdata", "live_config", "custom", "custom.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(config, "custom"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "custom", "custom.js"), customJS, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	server := exec.Command(jupyter, "notebook", "--no-browser", "--ip=127.0.0.1", "--port="+port,
		"--port-retries=0", "--NotebookApp.token=", "--NotebookApp.password=", "--allow-root",
		"--notebook-dir="+work)
	server.Env = append(os.Environ(), "JUPYTER_DATA_DIR="+dataDir,
		"JUPYTER_CONFIG_DIR="+config,
		"JUPYTER_RUNTIME_DIR="+t.TempDir(), "MLXGO_STATE_DIR="+t.TempDir())
	var serverLog strings.Builder
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// SIGTERM lets the server shut its kernels down.
		_ = server.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- server.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = server.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("notebook server log:\n%s", serverLog.String())
		}
	}()
	base := "http://127.0.0.1:" + port
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(base + "/api"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("notebook server did not start:\n%s", serverLog.String())
		}
	}

	profile := t.TempDir()
	browser := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+profile, "--window-size=1200,2000", "--remote-debugging-port=0",
		base+"/notebooks/live.ipynb")
	browser.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers end with it
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-browser.Process.Pid, syscall.SIGKILL)
		_ = browser.Wait()
	}()

	type result struct {
		Charts []struct {
			Class    string `json:"class"`
			Canvases int    `json:"canvases"`
			Ink      int    `json:"ink"`
			Width    int    `json:"width"`
		} `json:"charts"`
		ECharts  string   `json:"echarts"`
		Progress []string `json:"progress"`
		Require  string   `json:"require"`
	}
	read := func(name string) (result, bool) {
		var r result
		data, err := os.ReadFile(filepath.Join(work, name))
		return r, err == nil && json.Unmarshal(data, &r) == nil
	}
	start := time.Now()
	var end result
	for {
		var ok bool
		if end, ok = read("result_end.json"); ok {
			break
		}
		if time.Since(start) > 4*time.Minute {
			t.Fatal("the page reported nothing within 4 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("classic Notebook: cells ran and were measured in %.1fs: %+v", time.Since(start).Seconds(), end)
	if end.Require != "function" {
		t.Errorf("the page has no RequireJS (require is %s): not the classic Notebook", end.Require)
	}
	if end.ECharts != "5.6.0" {
		t.Errorf("window.echarts.version = %q", end.ECharts)
	}
	if len(end.Charts) != 3 {
		t.Fatalf("%d charts on the page, want 3 (final, live-only, histogram)", len(end.Charts))
	}
	for _, c := range end.Charts {
		if c.Canvases == 0 || c.Ink == 0 || c.Width == 0 {
			t.Errorf("chart not drawn: %+v", c)
		}
	}
	if len(end.Progress) != 1 || !strings.Contains(end.Progress[0], "it/s") {
		t.Errorf("progress outputs %q", end.Progress)
	}
	mid, ok := read("result_mid.json")
	if !ok {
		t.Fatal("no chart was seen drawn inside a running cell (result_mid.json missing)")
	}
	if len(mid.Charts) == 0 || mid.Charts[0].Ink == 0 {
		t.Errorf("live chart not drawn: %+v", mid)
	}
}
