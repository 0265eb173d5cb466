package trainer_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
)

// rssBytes is the resident set size of this process (Linux), or 0.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestSoak5000Steps trains the tiny model for 5,000 steps, checkpointing every 500:
// after a 1,000-step warm-up, the resident memory and the time of each 500 steps stay
// within 5% of their values at the end of the warm-up. It takes minutes, so it runs
// only with MLXGO_SOAK=1.
func TestSoak5000Steps(t *testing.T) {
	if os.Getenv("MLXGO_SOAK") != "1" {
		t.Skip("soak test: set MLXGO_SOAK=1 to run 5,000 trainer steps")
	}
	m, tr, va, ac := setup(t)
	o := baseOptions(t.TempDir(), 5000)
	o.StepsPerReport, o.StepsPerEval, o.SaveEvery, o.ValBatches = 500, 100000, 500, 1
	var stamps []time.Time
	var rss []int64
	start := time.Now()
	err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, va, func(e trainer.Event) {
		if e.Kind == "train" {
			runtime.GC()
			stamps = append(stamps, time.Now())
			rss = append(rss, rssBytes())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stamps) != 10 {
		t.Fatalf("%d reports, want 10", len(stamps))
	}
	windows := []float64{stamps[0].Sub(start).Seconds()}
	for i := 1; i < len(stamps); i++ {
		windows = append(windows, stamps[i].Sub(stamps[i-1]).Seconds())
	}
	t.Logf("seconds per 500 steps: %.2f", windows)
	t.Logf("RSS MiB at each report: %d", slices.Collect(func(yield func(int64) bool) {
		for _, r := range rss {
			if !yield(r >> 20) {
				return
			}
		}
	}))
	base, baseRSS := windows[2], rss[1] // after 1,000 steps
	for i := 2; i < len(windows); i++ {
		if w := windows[i]; w > base*1.05 || w < base*0.95 {
			t.Errorf("steps %d-%d took %.2fs, %.1f%% off the %.2fs after warm-up", i*500+1, (i+1)*500, w, 100*(w/base-1), base)
		}
		if rss[i] > baseRSS+baseRSS/20 {
			t.Errorf("RSS %d MiB after %d steps, more than 5%% above %d MiB after warm-up", rss[i]>>20, (i+1)*500, baseRSS>>20)
		}
	}
}
