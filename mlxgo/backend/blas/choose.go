package blas

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
)

// shape is one product of the calibration: op(A) m×k times op(B) k×n.
type shape struct {
	transA, transB bool
	m, n, k        int
}

// calibrationShapes are products a LoRA training step of a small Llama
// (hidden 576, MLP 1536, head dim 64, rank 8) makes on 256 tokens: frozen
// projections forward (x·Wᵀ) and their input gradients (g·W), the LoRA
// factors forward and their gradients, and one attention head's scores and
// weighted values. A square product alone does not tell libraries apart:
// their slow paths are the skinny and transposed ones.
var calibrationShapes = []shape{
	{false, true, 256, 576, 576},
	{false, true, 256, 1536, 576},
	{false, false, 256, 576, 1536},
	{false, false, 256, 8, 576},
	{false, false, 256, 576, 8},
	{true, false, 576, 8, 256},
	{false, true, 256, 8, 576},
	{false, true, 256, 256, 64},
	{false, false, 256, 64, 256},
}

// calibrate returns the best of three timings of the calibration products
// through l, or the first timing alone when that is over limit (a library
// that slow is out of the running and need not cost more time).
func calibrate(l *library, limit time.Duration) time.Duration {
	best := time.Duration(1 << 62)
	bufs := make([][3][]float32, len(calibrationShapes))
	for i, s := range calibrationShapes {
		a := make([]float32, s.m*s.k)
		b := make([]float32, s.k*s.n)
		for j := range a {
			a[j] = float32(j%7) * 0.25
		}
		for j := range b {
			b[j] = float32(j%5) * 0.5
		}
		bufs[i] = [3][]float32{a, b, make([]float32, s.m*s.n)}
	}
	// run times the products once, giving up past limit.
	run := func(limit time.Duration) time.Duration {
		t0 := time.Now()
		for i, s := range calibrationShapes {
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			b := bufs[i]
			sgemmLib(l, s.transA, s.transB, s.m, s.n, s.k, 1, b[0], lda, b[1], ldb, 0, b[2], s.n)
			if d := time.Since(t0); d > limit {
				return d
			}
		}
		return time.Since(t0)
	}
	if d := run(limit); d > limit { // also warms up: threads, buffers
		return d
	}
	for r := 0; r < 3; r++ {
		best = min(best, run(limit))
	}
	return best
}

// choose returns the fastest of several loaded libraries on the
// calibration products, and why. A library must be 5% faster than the one
// listed before it to be chosen over it, so that noise does not flip the
// choice. The choice is cached per machine (CPU model, processors,
// libraries) in the user's cache folder, so that later processes load the
// same library without timing again: results do not change between runs.
func choose(libs []*library) (*library, string) {
	key := cacheKey(libs)
	if e, ok := readCache()[key]; ok {
		for _, l := range libs {
			if l.kind == e.Kind {
				return l, fmt.Sprintf("%s, measured %s (remembered in %s)", e.Why, e.When, cacheFile())
			}
		}
	}
	threads := int32(runtime.GOMAXPROCS(0))
	times := make([]time.Duration, len(libs))
	best := 0
	for i, l := range libs {
		if l.setThreads != nil {
			l.setThreads(threads)
		}
		limit := time.Duration(math.MaxInt64)
		if i > 0 {
			limit = 4 * times[best]
		}
		times[i] = calibrate(l, limit)
		if float64(times[i]) < 0.95*float64(times[best]) {
			best = i
		}
	}
	var parts []string
	for i, l := range libs {
		parts = append(parts, fmt.Sprintf("%s %.1f ms", l.kind, float64(times[i])/1e6))
	}
	why := fmt.Sprintf("fastest on LoRA-shaped products with %d threads (%s)", threads, strings.Join(parts, ", "))
	saveChoice(key, libs[best].kind, why)
	return libs[best], why
}

// cacheFile is where choices are remembered: $XDG_CACHE_HOME/mlxgo/blas.json
// or the platform's equivalent; "" when there is none.
func cacheFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "mlxgo", "blas.json")
}

// cacheEntry is one remembered choice.
type cacheEntry struct {
	Kind string `json:"kind"`
	When string `json:"when"`
	Why  string `json:"why"`
}

// cacheKey identifies the machine and the libraries: CPU model, the number
// of processors Go uses, and each library's name and core.
func cacheKey(libs []*library) string {
	parts := []string{cpuModel(), fmt.Sprint(runtime.GOMAXPROCS(0))}
	for _, l := range libs {
		parts = append(parts, l.kind+":"+l.path+":"+l.core)
	}
	return strings.Join(parts, "|")
}

// cpuModel returns the CPU's model name, or the architecture when it
// cannot be read.
func cpuModel() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
			}
		}
	}
	return runtime.GOARCH
}

// readCache returns the remembered choices; an unreadable file is empty.
func readCache() map[string]cacheEntry {
	m := map[string]cacheEntry{}
	if f := cacheFile(); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			json.Unmarshal(b, &m) // a damaged file is rewritten
		}
	}
	return m
}

// saveChoice remembers a choice; failures (read-only home) are ignored:
// the next process calibrates again.
func saveChoice(key, kind, why string) {
	f := cacheFile()
	if f == "" {
		return
	}
	m := readCache()
	m[key] = cacheEntry{Kind: kind, When: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Why: why}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil || os.MkdirAll(filepath.Dir(f), 0o755) != nil {
		return
	}
	atomicfile.Write(f, b)
}
