// Package widgets displays training feedback and experiment results inside GoNB notebooks: a
// live loss chart, a progress bar, line charts, histograms, tables and raw HTML; for ad hoc
// experiments, Heatmap (attention weights, per-token losses), Scatter (embeddings in 2-D), Bar
// (LoRA B norms), Compare (several runs' curves overlaid and their final metrics, from trainer
// events or saved adapter folders), Inspect (an array's statistics, histogram and heatmap) and
// Tokens (generated text shaded by probability).
//
// Charts are interactive: tooltips, zoom (wheel, box zoom, restore), legend entries that hide
// their series, and a toolbox button that saves the chart as a PNG. Input a widget cannot draw
// (no values, mismatched label counts, nothing finite) shows a message naming the widget, its
// title and the problem in place of the chart.
//
// Every helper renders HTML through gonbui (DisplayHTML for outputs that stay in the saved
// notebook, UpdateHTML with one display id for outputs that change in place) and ends with
// gonbui.Sync, so no output is lost when the cell's program exits. Nothing waits for a
// browser: a notebook executed headless by nbconvert runs exactly as an interactive one.
//
// Charts use ECharts (version EChartsVersion) inlined from the npm package installed by
// `make setup` into widgets/node; no page ever loads a script from the network, so charts
// draw offline, live in classic Notebook and JupyterLab, and in exported HTML. Each chart
// output carries the whole library once (about 1 MB), wrapped so that RequireJS pages do not
// capture it.
//
// Outside a notebook (gonbui.IsNotebook is false: tests, command-line tools) every widget
// prints a short plain-text form to standard output instead, throttled where it updates.
package widgets

import (
	"fmt"
	"html"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
)

// frontend is where widgets send their output; tests replace it.
type frontend interface {
	notebook() bool
	display(html string)
	update(id, html string)
	sync()
}

// gonbFrontend sends output to the GoNB kernel through gonbui.
type gonbFrontend struct{}

func (gonbFrontend) notebook() bool      { return gonbui.IsNotebook }
func (gonbFrontend) display(h string)    { gonbui.DisplayHTML(h) }
func (gonbFrontend) update(id, h string) { gonbui.UpdateHTML(id, h) }
func (gonbFrontend) sync()               { gonbui.Sync() }

var (
	// out receives HTML output; stdout receives the text forms.
	out    frontend  = gonbFrontend{}
	stdout io.Writer = os.Stdout
)

// InNotebook reports whether the program runs inside a GoNB cell, where widgets display HTML.
// Elsewhere they print text to standard output.
func InNotebook() bool { return out.notebook() }

// HTML displays raw HTML as the output of the current cell. Outside a notebook it prints the
// HTML's text content (tags, scripts and styles removed).
func HTML(s string) {
	if !out.notebook() {
		fmt.Fprintln(stdout, htmlToText(s))
		return
	}
	out.display(s)
	out.sync()
}

var (
	dropBlocks = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	blockTags  = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/h[1-6]|/li|/table)\b[^>]*>`)
	cellTags   = regexp.MustCompile(`(?i)</t[dh]\s*>`)
	anyTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	spaces     = regexp.MustCompile(`[ \t]+`)
	blankLines = regexp.MustCompile(`\n\s*\n+`)
)

// htmlToText is a rough text rendering of an HTML fragment for terminals.
func htmlToText(s string) string {
	s = dropBlocks.ReplaceAllString(s, "")
	s = blockTags.ReplaceAllString(s, "\n")
	s = cellTags.ReplaceAllString(s, "\t")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = spaces.ReplaceAllString(s, " ")
	s = blankLines.ReplaceAllString(s, "\n")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
