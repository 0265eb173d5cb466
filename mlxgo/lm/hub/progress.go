package hub

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// StderrProgress returns an OnProgress function that draws one bar per file on stderr,
// redrawn at most ten times a second.
func StderrProgress() func(Progress) { return ProgressBar(os.Stderr) }

// ProgressBar returns an OnProgress function that draws one bar per file on w:
//
//	[2/5] model.safetensors  [#########           ]  45%  120.0/266.0 MB  31.2 MB/s
func ProgressBar(w io.Writer) func(Progress) {
	var mu sync.Mutex
	var last time.Time
	var file string
	var start time.Time
	var startDone int64
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if p.File != file {
			file, start, startDone = p.File, now, p.Done
		}
		if !p.Finished && now.Sub(last) < 100*time.Millisecond {
			return
		}
		last = now
		const width = 20
		frac := 0.0
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		n := int(frac * width)
		rate := ""
		if dt := now.Sub(start).Seconds(); dt > 0 && p.Done > startDone {
			rate = fmt.Sprintf("  %.1f MB/s", float64(p.Done-startDone)/1e6/dt)
		}
		line := fmt.Sprintf("\r[%d/%d] %s  [%s%s] %3.0f%%  %.1f/%.1f MB%s", p.Index, p.Of, p.File,
			strings.Repeat("#", n), strings.Repeat(" ", width-n), 100*frac, float64(p.Done)/1e6, float64(p.Total)/1e6, rate)
		if p.Finished {
			line += "\n"
		}
		fmt.Fprint(w, line)
	}
}
