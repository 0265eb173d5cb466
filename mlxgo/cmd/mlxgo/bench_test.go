package main_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchReportsMFU runs the bench on the tiny shape with the profile and
// checks the JSON keys and the profile tables.
func TestBenchReportsMFU(t *testing.T) {
	bin := buildCLI(t)
	cmd := exec.Command(bin, "bench", "--preset", "tiny", "--batch", "2", "--seq", "32", "--warmup", "1", "--steps", "1", "--profile")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, out, stderr.String())
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"tokens_per_s", "peak_rss_mib", "mfu", "machine_gflops", "threads", "step_gflop"} {
		v, ok := r[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, r[k])
		}
	}
	if mfu, _ := r["mfu"].(float64); mfu >= 2 {
		t.Errorf("mfu %v: the step cannot beat the machine's matrix product rate twice over", mfu)
	}
	p := stderr.String()
	for _, want := range []string{"profile of one step", "Matmul", "ScaledDotProductAttentionGrad", "matrix products", "NT "} {
		if !strings.Contains(p, want) {
			t.Errorf("profile lacks %q:\n%s", want, p)
		}
	}
	if _, err := exec.Command(bin, "bench", "--steps", "0").CombinedOutput(); err == nil {
		t.Error("--steps 0 accepted")
	}
}
