package widgets

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// EChartsVersion is the version of the ECharts library the widgets inline. It is pinned in
// widgets/node/package.json and installed by `make setup` (npm ci in widgets/node).
const EChartsVersion = "5.6.0"

// EChartsEnv names the environment variable that, when set, gives the path of
// echarts.min.js to inline instead of the copy under widgets/node/node_modules.
const EChartsEnv = "MLXGO_ECHARTS_JS"

// echartsRel is where npm puts the minified library, relative to the widgets source folder.
var echartsRel = filepath.Join("node", "node_modules", "echarts", "dist", "echarts.min.js")

var (
	libOnce sync.Once
	libJS   string
	libErr  error
)

// EChartsPath returns the path of the echarts.min.js file the widgets inline: $MLXGO_ECHARTS_JS
// when set, else widgets/node/node_modules/echarts/dist/echarts.min.js found next to this
// package's source (or under the mlxgo module found by walking up from the working
// directory, for binaries built with -trimpath). The error says how to install it.
func EChartsPath() (string, error) {
	if p := os.Getenv(EChartsEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("widgets: $%s=%q: %w", EChartsEnv, p, err)
		}
		return p, nil
	}
	var tried []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), echartsRel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, "widgets", echartsRel)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				tried = append(tried, p)
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("widgets: echarts.min.js %s not found (looked at %s): run make setup "+
		"(npm ci in widgets/node) or set $%s", EChartsVersion, strings.Join(tried, ", "), EChartsEnv)
}

// EChartsJS returns the text of the ECharts library the widgets inline, read once per
// process from EChartsPath.
func EChartsJS() (string, error) {
	libOnce.Do(func() {
		p, err := EChartsPath()
		if err != nil {
			libErr = err
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			libErr = fmt.Errorf("widgets: reading ECharts: %w", err)
			return
		}
		libJS = string(b)
	})
	return libJS, libErr
}

// scriptSafe makes JavaScript source safe to place between <script> and </script>: the only
// sequences the HTML parser treats specially there are "</script" and "<!--", and both can only
// occur inside string, regular-expression or comment text, where the escaped forms mean the same.
func scriptSafe(js string) string {
	js = closeScript.ReplaceAllStringFunc(js, func(m string) string { return `<\/` + m[2:] })
	return strings.ReplaceAll(js, "<!--", `<\!--`)
}

var closeScript = regexp.MustCompile(`(?i)</script`)

// libraryTag is the marker comment that opens the inlined library; tests count it.
const libraryTag = "/* mlxgo: inlined ECharts "

// libraryScript returns the <script> element that defines window.echarts: the library runs
// inside a function whose parameters shadow define, module, exports and require, so on pages
// with RequireJS (classic Notebook, nbconvert HTML) it does not register itself as an anonymous
// AMD module but assigns window.echarts. When an earlier output of the page already loaded the
// same version it is not run again.
func libraryScript() (string, error) {
	js, err := EChartsJS()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(js) + 512)
	b.WriteString("<script>")
	b.WriteString(libraryTag + EChartsVersion + ", Apache-2.0, run so that RequireJS does not capture it */\n")
	b.WriteString("(function () {\n")
	b.WriteString("if (window.echarts && window.echarts.version === " + strconv.Quote(EChartsVersion) + ") { return; }\n")
	b.WriteString("(function (define, module, exports, require) {\n")
	b.WriteString(scriptSafe(js))
	b.WriteString("\n}).call(window, undefined, undefined, undefined, undefined);\n")
	b.WriteString("})();\n</script>")
	return b.String(), nil
}

// newID returns a fresh DOM id with the given prefix.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// chartSpec describes one chart output.
type chartSpec struct {
	classes string // extra CSS classes besides mlxgo-chart
	key     string // stable key of a live chart: its previous instance is disposed on redraw
	width   string // CSS width, default 100%
	height  string // CSS height, default 380px
	option  string // JavaScript expression for the ECharts option (usually JSON)
}

// chartHTML renders a chart as one self-contained HTML fragment: the container div, the
// inlined library and a script that initialises the chart once the container is in the
// document. The deferral matters: classic Notebook and JupyterLab run output scripts before
// the output is attached, when getElementById still returns null.
func chartHTML(spec chartSpec) string {
	lib, err := libraryScript()
	if err != nil {
		return errorHTML(err)
	}
	id := newID("mlxgo-chart-")
	width, height := spec.width, spec.height
	if width == "" {
		width = "100%"
	}
	if height == "" {
		height = "380px"
	}
	var b strings.Builder
	b.Grow(len(lib) + len(spec.option) + 2048)
	fmt.Fprintf(&b, `<div class="mlxgo-chart %s" id="%s" style="width:%s;max-width:1000px;height:%s;"></div>`,
		html.EscapeString(spec.classes), id, html.EscapeString(width), html.EscapeString(height))
	b.WriteString("\n")
	b.WriteString(lib)
	b.WriteString("\n<script>\n(function () {\n")
	fmt.Fprintf(&b, "var id = %s, key = %s, tries = 0;\n", strconv.Quote(id), strconv.Quote(spec.key))
	b.WriteString("var option = ")
	b.WriteString(scriptSafe(spec.option))
	b.WriteString(";\n")
	b.WriteString(chartInitJS)
	b.WriteString("})();\n</script>\n")
	return b.String()
}

// chartInitJS waits (up to 30 s) for the container to be attached, then draws the chart.
const chartInitJS = `function draw() {
  var el = document.getElementById(id);
  if (!el || !el.isConnected) { if (++tries < 600) { setTimeout(draw, 50); } return; }
  var ec = window.echarts;
  if (!ec) { el.textContent = "mlxgo: the ECharts library did not load, so this chart cannot be drawn."; return; }
  var live = window.__mlxgoCharts = window.__mlxgoCharts || {};
  if (key && live[key] && !live[key].isDisposed()) { live[key].dispose(); }
  var opts = { renderer: "canvas" };
  if (!el.clientWidth) { opts.width = 900; }
  if (!el.clientHeight) { opts.height = 380; }
  var chart = ec.init(el, null, opts);
  chart.setOption(option);
  if (key) { live[key] = chart; }
  if (window.ResizeObserver) {
    new ResizeObserver(function () { if (!chart.isDisposed()) { chart.resize(); } }).observe(el);
  }
}
draw();
`

// errorHTML renders an error as a visible box in place of a widget.
func errorHTML(err error) string {
	return `<div class="mlxgo-error" style="color:#b00020;font-family:monospace;white-space:pre-wrap;">` +
		html.EscapeString(err.Error()) + `</div>`
}

// jsonString marshals v for use inside a <script>: encoding/json escapes <, > and &.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable with values our own code never builds (channels, funcs).
		panic(fmt.Sprintf("widgets: marshal chart option: %v", err))
	}
	return string(b)
}
