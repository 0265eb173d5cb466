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

// TestTableRounds summarises alternating rounds: each side's median tokens/s
// with its runs and range, the ratio of the medians, the highest RSS, and
// the peer's MFU from its median step time.
func TestTableRounds(t *testing.T) {
	in := `{"impl":"mlxgo","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":3000,"step_s_median":0.68,"peak_rss_mib":2048,"mfu":0.5,"step_gflop":1000,"machine_gflops":2000}
{"peer":"pytorch-2.11.0-cpu","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":2000,"step_s_median":1.0,"peak_rss_mib":6144}
{"impl":"mlxgo","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":3300,"step_s_median":0.62,"peak_rss_mib":2560,"mfu":0.7,"step_gflop":1000,"machine_gflops":1000}
{"peer":"pytorch-2.11.0-cpu","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":3000,"step_s_median":0.7,"peak_rss_mib":6000}
{"impl":"mlxgo","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":1000,"step_s_median":2.0,"peak_rss_mib":2048,"mfu":0.2,"step_gflop":1000,"machine_gflops":3000}
{"peer":"pytorch-2.11.0-cpu","preset":"smollm135","batch":16,"seq":128,"threads":16,"tokens_per_s":2500,"step_s_median":0.8,"peak_rss_mib":6144}
`
	rs, err := read(strings.NewReader(in))
	if err != nil || len(rs) != 6 {
		t.Fatalf("read: %d results, %v", len(rs), err)
	}
	// mlxgo: median 3000 of 1000–3300; peer: median 2500 of 2000–3000; ratio 1.20;
	// RSS 2.50 / 6.00 GiB; MFU median 50%; peer MFU 1000 / 0.8 / 2000 = 62%.
	want := "| smollm135 | 16 × 128 | 16 | 3000 (3 runs, 1000–3300) | 2500 (3 runs, 2000–3000) | 1.20× | 2.50 / 6.00 | 50% / 62% |"
	if got := table(rs); !strings.Contains(got, want) {
		t.Errorf("table lacks %q:\n%s", want, got)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 1–4 = %v, want 2.5", m)
	}
}
