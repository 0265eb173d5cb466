// Package browsercheck opens HTML pages (an exported notebook, a page of widgets) in headless
// Chromium, offline, and reports whether the mlxgo charts in them were drawn.
//
// Check injects two small scripts into a copy of the page: one at the top that records
// uncaught script errors and resources that failed to load, and one at the end that, once the
// page has loaded and the charts had time to draw, counts for every element of class
// "mlxgo-chart" the non-transparent pixels of its canvases and the data points ECharts holds
// for it. Chromium runs with --dump-dom, and the figures are read back from the dumped DOM.
// Host names resolve to nothing, so a page that needs the network fails the check.
//
// Chromium comes from Debian's chromium package (make setup); $MLXGO_CHROMIUM overrides it.
package browsercheck

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChromiumEnv names the environment variable that, when set, is the Chromium binary to use.
const ChromiumEnv = "MLXGO_CHROMIUM"

// Chart is what the browser saw of one element of class "mlxgo-chart".
type Chart struct {
	// Index is the chart's position among the page's mlxgo charts, from 0.
	Index int `json:"index"`
	// ID is the element's id attribute.
	ID string `json:"id"`
	// Class is the element's class attribute.
	Class string `json:"class"`
	// Loss reports whether the element has class "mlxgo-loss-chart".
	Loss bool `json:"loss"`
	// Canvases is the number of canvas elements inside the chart.
	Canvases int `json:"canvases"`
	// Width is the width in CSS pixels of the chart's element.
	Width int `json:"width"`
	// Height is the height in CSS pixels of the chart's element.
	Height int `json:"height"`
	// Ink is the number of non-transparent canvas pixels.
	Ink int `json:"ink"`
	// Points is the number of non-empty data values over the chart's series as ECharts holds
	// them, or -1 when the page has no ECharts instance for the element.
	Points int `json:"points"`
}

// Report is what Check found in a page.
type Report struct {
	// Charts lists the page's mlxgo charts in document order.
	Charts []Chart `json:"charts"`
	// Text is the page's visible text (document.body.innerText).
	Text string `json:"text"`
	// ECharts is the version of window.echarts, or "" when the library did not load.
	ECharts string `json:"echarts"`
	// Errors are the uncaught script errors, in order.
	Errors []string `json:"errors"`
	// FailedResources are the URLs of scripts, styles and images that failed to load (a page
	// exported by nbconvert refers to CDN copies of RequireJS and MathJax, which fail offline).
	FailedResources []string `json:"failedResources"`
}

// LossCharts returns the charts of class "mlxgo-loss-chart".
func (r Report) LossCharts() []Chart {
	var cs []Chart
	for _, c := range r.Charts {
		if c.Loss {
			cs = append(cs, c)
		}
	}
	return cs
}

// Chromium returns the path of the Chromium binary: $MLXGO_CHROMIUM, or the first of chromium,
// chromium-browser, chromium-headless-shell and google-chrome found on PATH.
func Chromium() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "chromium-headless-shell", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsercheck: chromium not found on PATH: run make setup (apt-get install chromium)")
}

// Options tune a browser run. The zero value means a 1000×800 window, a 5 s virtual-time
// budget, a 2 minute limit and a page that must hold a loss chart.
type Options struct {
	// Require lists chart classes (such as "mlxgo-heatmap") of which the page must hold at
	// least one, each drawn and holding data points; nil means {"mlxgo-loss-chart"}.
	Require []string
	// Width and Height are the window size in pixels.
	Width, Height int
	// VirtualTime is the virtual-time budget given to the page (--virtual-time-budget).
	VirtualTime time.Duration
	// Timeout bounds the wall time of the browser process.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Width <= 0 {
		o.Width = 1000
	}
	if o.Height <= 0 {
		o.Height = 800
	}
	if o.VirtualTime <= 0 {
		o.VirtualTime = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	return o
}

// run runs headless Chromium on the file with the extra arguments and returns its stdout.
func run(path string, o Options, extra ...string) ([]byte, error) {
	bin, err := Chromium()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "mlxgo-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
		"--hide-scrollbars", "--mute-audio", "--user-data-dir=" + profile,
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--window-size=" + strconv.Itoa(o.Width) + "," + strconv.Itoa(o.Height),
		"--virtual-time-budget=" + strconv.FormatInt(o.VirtualTime.Milliseconds(), 10),
	}
	args = append(args, extra...)
	args = append(args, "file://"+filepath.ToSlash(abs))
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("browsercheck: %s on %s: %w\n%s", filepath.Base(bin), path, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Screenshot renders the HTML file in headless Chromium and writes a PNG of the window to png.
func Screenshot(path, png string, o Options) error {
	o = o.withDefaults()
	abs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	if _, err := run(path, o, "--screenshot="+abs); err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
		return fmt.Errorf("browsercheck: chromium wrote no screenshot %s", abs)
	}
	return nil
}

// Check opens the HTML file in headless Chromium with default Options and reports on its
// mlxgo charts and text. The error is non-nil when the browser could not run, when the page
// has no element of a required class (by default "mlxgo-loss-chart"), or when any mlxgo chart
// drew no pixels or any chart of a required class holds no data point; the report is filled in
// whenever the page was measured.
func Check(path string) (Report, error) {
	return CheckWith(path, Options{})
}

// CheckWith is Check with explicit Options.
func CheckWith(path string, o Options) (Report, error) {
	o = o.withDefaults()
	page, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("browsercheck: %w", err)
	}
	dir, err := os.MkdirTemp("", "mlxgo-browsercheck-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	probe := filepath.Join(dir, filepath.Base(path))
	if !strings.HasSuffix(probe, ".html") && !strings.HasSuffix(probe, ".htm") {
		probe += ".html"
	}
	if err := os.WriteFile(probe, instrument(page, o.VirtualTime), 0o644); err != nil {
		return Report{}, err
	}
	dom, err := run(probe, o, "--dump-dom")
	if err != nil {
		return Report{}, err
	}
	m := resultAttr.FindSubmatch(dom)
	if m == nil {
		return Report{}, fmt.Errorf("browsercheck: %s: the measuring script left no result in the DOM "+
			"(page did not finish loading within %v of virtual time?)", path, o.VirtualTime)
	}
	raw, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		return Report{}, fmt.Errorf("browsercheck: decoding result: %w", err)
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return Report{}, fmt.Errorf("browsercheck: decoding result: %w", err)
	}
	return r, r.verify(path, o.Require)
}

// Of returns the charts whose class list holds class.
func (r Report) Of(class string) []Chart {
	var cs []Chart
	for _, c := range r.Charts {
		if slices.Contains(strings.Fields(c.Class), class) {
			cs = append(cs, c)
		}
	}
	return cs
}

// verify returns an error describing every required class missing and every chart that did
// not draw.
func (r Report) verify(path string, require []string) error {
	if require == nil {
		require = []string{"mlxgo-loss-chart"}
	}
	var problems []string
	for _, class := range require {
		if len(r.Of(class)) == 0 {
			problems = append(problems, "no element of class "+class)
		}
	}
	if len(r.Charts) > 0 && r.ECharts == "" {
		problems = append(problems, "window.echarts is undefined (the inlined library did not load)")
	}
	for _, c := range r.Charts {
		switch {
		case c.Canvases == 0:
			problems = append(problems, fmt.Sprintf("chart %d (%s, id %s) has no canvas", c.Index, c.Class, c.ID))
		case c.Ink == 0:
			problems = append(problems, fmt.Sprintf("chart %d (%s, id %s) drew no pixels", c.Index, c.Class, c.ID))
		case c.Points <= 0 && slices.ContainsFunc(require, func(class string) bool { return slices.Contains(strings.Fields(c.Class), class) }):
			problems = append(problems, fmt.Sprintf("chart %d (%s, id %s) holds no data point", c.Index, c.Class, c.ID))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("browsercheck: %s: %s", path, strings.Join(problems, "; "))
	if len(r.Errors) > 0 {
		msg += "; script errors: " + strings.Join(r.Errors, " | ")
	}
	return errors.New(msg)
}

var resultAttr = regexp.MustCompile(`data-mlxgo-check="([A-Za-z0-9+/=]*)"`)

// headProbe records errors from the start of the page.
const headProbe = `<script>(function () {
  var errs = window.__mlxgoErrors = [], failed = window.__mlxgoFailed = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { failed.push(String(t.src || t.href)); return; }
    errs.push(String(e.message || "error") + (e.filename ? " (" + e.filename + ":" + e.lineno + ")" : ""));
  }, true);
})();</script>`

// tailProbe measures the charts after the page loaded and the charts' deferred drawing ran,
// and stores the result, base64-encoded JSON, in body's data-mlxgo-check attribute (and the
// total ink in data-canvas-ink).
const tailProbe = `<script>(function () {
  function measure() {
    var charts = [], total = 0, els = document.querySelectorAll(".mlxgo-chart");
    for (var i = 0; i < els.length; i++) {
      var el = els[i], ink = 0, canv = el.querySelectorAll("canvas"), points = -1;
      for (var j = 0; j < canv.length; j++) {
        var c = canv[j];
        if (!c.width || !c.height) { continue; }
        var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (var k = 3; k < d.length; k += 4) { if (d[k] !== 0) { ink++; } }
      }
      var inst = window.echarts && window.echarts.getInstanceByDom && window.echarts.getInstanceByDom(el);
      if (inst) {
        points = 0;
        var series = inst.getOption().series || [];
        for (var s = 0; s < series.length; s++) {
          var data = series[s].data || [];
          for (var q = 0; q < data.length; q++) {
            var v = data[q];
            if (v === null || v === undefined) { continue; }
            if (Array.isArray(v) && (v[v.length - 1] === null || v[v.length - 1] === undefined)) { continue; }
            points++;
          }
        }
      }
      total += ink;
      var r = el.getBoundingClientRect();
      charts.push({ index: i, id: el.id || "", class: el.className || "",
        loss: el.classList.contains("mlxgo-loss-chart"), canvases: canv.length,
        width: Math.round(r.width), height: Math.round(r.height), ink: ink, points: points });
    }
    var result = { charts: charts, text: document.body.innerText || "",
      echarts: (window.echarts && window.echarts.version) || "",
      errors: window.__mlxgoErrors || [], failedResources: window.__mlxgoFailed || [] };
    var json = JSON.stringify(result);
    document.body.dataset.canvasInk = String(total);
    document.body.dataset.mlxgoCheck = btoa(unescape(encodeURIComponent(json)));
  }
  function later() { setTimeout(measure, DELAY); }
  if (document.readyState === "complete") { later(); } else { window.addEventListener("load", later); }
})();</script>`

var (
	headOpen    = regexp.MustCompile(`(?i)<head\b[^>]*>`)
	bodyClose   = regexp.MustCompile(`(?i)</body\s*>`)
	scriptClose = regexp.MustCompile(`(?i)</script`)
)

// instrument returns the page with the probes inserted: the error recorder right after <head>
// (or first), the measuring script right before the last </body> (or last). The measurement
// runs half the virtual-time budget after the load event.
func instrument(page []byte, budget time.Duration) []byte {
	delay := strconv.FormatInt(budget.Milliseconds()/2, 10)
	tailJS := strings.Replace(tailProbe, "DELAY", delay, 1)
	var b bytes.Buffer
	b.Grow(len(page) + len(headProbe) + len(tailJS))
	if loc := headOpen.FindIndex(page); loc != nil {
		b.Write(page[:loc[1]])
		b.WriteString(headProbe)
		page = page[loc[1]:]
	} else {
		b.WriteString(headProbe)
	}
	// The last </body> counts only after the last </script: inlined libraries may hold the
	// text "</body>" in their strings.
	locs := bodyClose.FindAllIndex(page, -1)
	scripts := scriptClose.FindAllIndex(page, -1)
	if len(locs) > 0 && (len(scripts) == 0 || locs[len(locs)-1][0] > scripts[len(scripts)-1][0]) {
		last := locs[len(locs)-1]
		b.Write(page[:last[0]])
		b.WriteString(tailJS)
		b.Write(page[last[0]:])
	} else {
		b.Write(page)
		b.WriteString(tailJS)
	}
	return b.Bytes()
}
