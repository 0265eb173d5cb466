package main

import (
	"strings"
	"testing"
)

// TestTable pairs the two programs' lines by configuration, computes the
// ratio and the peer's MFU, skips noise and marks a missing side.
func TestTable(t *testing.T) {
	in := `go: downloading nothing
{"impl":"mlxgo","preset":"smollm135","batch":4,"seq":128,"threads":2,"tokens_per_s":300,"step_s_median":1.7,"peak_rss_mib":2048,"mfu":0.6,"step_gflop":300,"machine_gflops":250}
{"peer":"pytorch-2.11.0-cpu","preset":"smollm135","batch":4,"seq":128,"threads":2,"tokens_per_s":200,"step_s_median":2.4,"peak_rss_mib":4096}
{"impl":"mlxgo","preset":"smollm135","batch":1,"seq":512,"threads":2,"tokens_per_s":100,"step_s_median":5,"peak_rss_mib":1024,"mfu":0.5,"step_gflop":300,"machine_gflops":250}
not json {
`
	rs, err := read(strings.NewReader(in))
	if err != nil || len(rs) != 3 {
		t.Fatalf("read: %d results, %v", len(rs), err)
	}
	got := table(rs)
	for _, want := range []string{
		"| smollm135 | 4 × 128 | 2 | 300 | 200 | 1.50× | 2.00 / 4.00 | 60% / 50% |",
		"| smollm135 | 1 × 512 | 2 | 100 | — | — | 1.00 / — | 50% / — |",
		"pytorch-2.11.0-cpu tok/s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
