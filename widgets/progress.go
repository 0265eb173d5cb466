package widgets

import (
	"fmt"
	"html"
	"math"
	"strings"
	"sync"
	"time"
)

// Progress is a progress bar updated in place: steps done out of a total, steps per second,
// tokens per second, elapsed time and the estimated time left. Rates are measured from the
// creation of the bar (or the last Set), so a resumed run reports its own speed.
//
//	bar := widgets.NewProgress("training", steps)
//	for step := 1; step <= steps; step++ {
//		... // one step over `tokens` tokens
//		bar.Add(1, tokens)
//	}
//	bar.Done()
//
// Its methods are safe for concurrent use.
type Progress struct {
	// Title is shown before the bar.
	Title string
	// Total is the number of steps of the whole run; 0 when unknown (no bar, no ETA).
	Total int
	// Interval is the least time between two renders by Add: 250 ms in a notebook and 1 s
	// for the text form, set by NewProgress.
	Interval time.Duration

	mu        sync.Mutex
	step      int
	tokens    int64
	baseStep  int // step and tokens when the rate clock started
	baseTok   int64
	start     time.Time
	status    string
	displayID string
	last      time.Time
	now       func() time.Time
}

// NewProgress returns a progress bar at step 0 of total. Nothing is displayed until the first
// Add (or Done).
func NewProgress(title string, total int) *Progress {
	p := &Progress{Title: title, Total: total, Interval: defaultInterval()}
	p.start = p.clock()
	return p
}

// Add advances the bar by steps and counts tokens more tokens processed, then re-renders it
// in place unless the previous render was less than Interval ago.
func (p *Progress) Add(steps, tokens int) {
	p.mu.Lock()
	p.step += steps
	p.tokens += int64(tokens)
	p.mu.Unlock()
	p.render(false)
}

// Set moves the bar to step (for example when a run resumes from a checkpoint) and restarts
// the rate measurement there. It does not render.
func (p *Progress) Set(step int) {
	p.mu.Lock()
	p.step, p.baseStep, p.baseTok = step, step, p.tokens
	p.start = p.clock()
	p.mu.Unlock()
}

// SetStatus sets a short text shown after the figures, such as "loss 2.31". It is displayed
// by the next render.
func (p *Progress) SetStatus(s string) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

// Step returns the current step.
func (p *Progress) Step() int { p.mu.Lock(); defer p.mu.Unlock(); return p.step }

// Done renders the final state as an ordinary output (clearing the in-place one), which the
// saved notebook keeps. Outside a notebook it prints the final line.
func (p *Progress) Done() { p.render(true) }

// String returns the text form of the bar.
func (p *Progress) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.textLocked(p.statsLocked())
}

// HTML returns the bar as an HTML fragment.
func (p *Progress) HTML() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.htmlLocked(p.statsLocked())
}

func (p *Progress) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

func (p *Progress) render(final bool) {
	p.mu.Lock()
	now := p.clock()
	if !final && !p.last.IsZero() && now.Sub(p.last) < p.Interval {
		p.mu.Unlock()
		return
	}
	p.last = now
	st := p.statsLocked()
	if !out.notebook() {
		line := p.textLocked(st)
		p.mu.Unlock()
		fmt.Fprintln(stdout, line)
		return
	}
	h := p.htmlLocked(st)
	id := p.displayID
	if final {
		p.displayID, p.last = "", time.Time{}
	} else if id == "" {
		id = newID("mlxgo-progress-live-")
		p.displayID = id
	}
	p.mu.Unlock()
	if final {
		if id != "" {
			out.update(id, "")
		}
		out.display(h)
	} else {
		out.update(id, h)
	}
	out.sync()
}

// progressStats are the figures shown by a render.
type progressStats struct {
	step, total  int
	tokens       int64
	elapsed      time.Duration
	stepsPerSec  float64
	tokensPerSec float64
	eta          time.Duration // -1 when unknown
}

func (p *Progress) statsLocked() progressStats {
	st := progressStats{step: p.step, total: p.Total, tokens: p.tokens, eta: -1}
	st.elapsed = p.clock().Sub(p.start)
	if secs := st.elapsed.Seconds(); secs > 0 {
		st.stepsPerSec = float64(p.step-p.baseStep) / secs
		st.tokensPerSec = float64(p.tokens-p.baseTok) / secs
	}
	if p.Total > 0 && st.stepsPerSec > 0 {
		left := float64(max(p.Total-p.step, 0)) / st.stepsPerSec
		st.eta = time.Duration(left * float64(time.Second))
	}
	return st
}

// fraction is the part of the total done, in [0, 1], or -1 with no total.
func (st progressStats) fraction() float64 {
	if st.total <= 0 {
		return -1
	}
	return math.Min(1, math.Max(0, float64(st.step)/float64(st.total)))
}

// figures is the line of numbers shared by the text and HTML forms.
func (st progressStats) figures(status string) string {
	var parts []string
	if f := st.fraction(); f >= 0 {
		parts = append(parts, fmt.Sprintf("%d/%d (%.0f%%)", st.step, st.total, 100*f))
	} else {
		parts = append(parts, fmt.Sprintf("%d steps", st.step))
	}
	parts = append(parts, fmt.Sprintf("%.2f it/s", st.stepsPerSec))
	if st.tokens > 0 {
		parts = append(parts, fmt.Sprintf("%.0f tok/s", st.tokensPerSec))
	}
	parts = append(parts, "elapsed "+clockString(st.elapsed))
	if st.eta >= 0 {
		parts = append(parts, "ETA "+clockString(st.eta))
	}
	if status != "" {
		parts = append(parts, status)
	}
	return strings.Join(parts, " · ")
}

// clockString formats d as m:ss or h:mm:ss.
func clockString(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 3600 {
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("%d:%02d:%02d", s/3600, (s/60)%60, s%60)
}

func (p *Progress) textLocked(st progressStats) string {
	var b strings.Builder
	if p.Title != "" {
		b.WriteString(p.Title + " ")
	}
	if f := st.fraction(); f >= 0 {
		const width = 20
		n := int(math.Round(f * width))
		b.WriteString("[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] ")
	}
	b.WriteString(st.figures(p.status))
	return b.String()
}

func (p *Progress) htmlLocked(st progressStats) string {
	var b strings.Builder
	b.WriteString(`<div class="mlxgo-progress" style="font-family:monospace;font-size:13px;margin:4px 0;">`)
	if p.Title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold;">%s</div>`, html.EscapeString(p.Title))
	}
	if f := st.fraction(); f >= 0 {
		fmt.Fprintf(&b, `<div style="width:100%%;max-width:600px;height:14px;background:#e6e6e6;border-radius:3px;overflow:hidden;">`+
			`<div class="mlxgo-progress-bar" style="width:%.1f%%;height:100%%;background:#1f77b4;"></div></div>`, 100*f)
	}
	fmt.Fprintf(&b, `<div>%s</div></div>`, html.EscapeString(st.figures(p.status)))
	return b.String()
}
