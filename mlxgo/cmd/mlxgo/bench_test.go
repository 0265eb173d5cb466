package main_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	for _, k := range []string{"tokens_per_s", "peak_rss_mib", "mfu", "machine_gflops", "threads", "step_gflop", "peak_active_mib"} {
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
	// The products keep at least one core busy and no more than the threads
	// (the process's CPU time over their time; GC may add a little).
	for _, line := range strings.Split(p, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "Matmul" {
			continue
		}
		cores, err := strconv.ParseFloat(f[4], 64)
		threads, _ := r["threads"].(float64)
		if err != nil || cores < 0.5 || cores > threads+0.5 {
			t.Errorf("Matmul keeps %q cores busy with %v threads: %s", f[4], threads, line)
		}
	}
	if _, ok := r["pool_misses_per_step"].(float64); !ok {
		t.Errorf("pool_misses_per_step = %v, want a number", r["pool_misses_per_step"])
	}
	if _, err := exec.Command(bin, "bench", "--steps", "0").CombinedOutput(); err == nil {
		t.Error("--steps 0 accepted")
	}
	// Groups are chosen by the cores by default: two rows give at most 2, and 2 whenever
	// there are two cores or more.
	if g, _ := r["groups"].(float64); g < 1 || g > 2 || (runtime.NumCPU() >= 2 && g != 2) {
		t.Errorf("groups = %v at batch 2 on %d CPUs, want 2 (1 on one CPU)", r["groups"], runtime.NumCPU())
	}
	if out, err := exec.Command(bin, "bench", "--groups", "-1").CombinedOutput(); err == nil || !strings.Contains(string(out), "--groups -1") {
		t.Errorf("--groups -1: %v, %s; want an error naming it", err, out)
	}
}

// TestBenchStoredDtype: weights stored in bfloat16, as a checkpoint's, compute in
// float32 on the CPU by default (as lora does) and in bfloat16 when asked.
func TestBenchStoredDtype(t *testing.T) {
	bin := buildCLI(t)
	for _, c := range []struct {
		args  []string
		dtype string
	}{
		{[]string{"--stored", "bfloat16"}, "float32"},
		{[]string{"--stored", "bfloat16", "--dtype", "bfloat16"}, "bfloat16"},
		{nil, "float32"},
	} {
		args := append([]string{"bench", "--preset", "tiny", "--batch", "1", "--seq", "16", "--warmup", "0", "--steps", "1"}, c.args...)
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var r map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if r["dtype"] != c.dtype {
			t.Errorf("%v: computes in %v, want %s", c.args, r["dtype"], c.dtype)
		}
	}
	if out, err := exec.Command(bin, "bench", "--stored", "float8").CombinedOutput(); err == nil || !strings.Contains(string(out), "--stored") {
		t.Errorf("--stored float8: err %v, output %s; want an error naming --stored", err, out)
	}
}

// TestBenchModel: --model trains a checkpoint folder (the walkthrough's model) with its
// own config and dtypes, names it in the report, and refuses --preset or --stored beside
// it; a missing folder is an error naming --model.
func TestBenchModel(t *testing.T) {
	bin := buildCLI(t)
	dir, err := filepath.Abs("../../../notebooks/models/tiny-story")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "bench", "--model", dir, "--batch", "1", "--seq", "16", "--warmup", "0", "--steps", "1").Output()
	if err != nil {
		t.Fatalf("bench --model: %v", err)
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r["model"] != dir || r["dtype"] != "float32" {
		t.Errorf("model %v, dtype %v; want %s, float32", r["model"], r["dtype"], dir)
	}
	if tps, _ := r["tokens_per_s"].(float64); tps <= 0 {
		t.Errorf("tokens_per_s = %v", r["tokens_per_s"])
	}
	for _, extra := range [][]string{{"--preset", "tiny"}, {"--stored", "bfloat16"}} {
		args := append([]string{"bench", "--model", dir, "--steps", "1"}, extra...)
		if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil || !strings.Contains(string(out), extra[0]) {
			t.Errorf("%v: err %v, output %s; want an error naming %s", extra, err, out, extra[0])
		}
	}
	missing := filepath.Join(t.TempDir(), "none")
	if out, err := exec.Command(bin, "bench", "--model", missing, "--steps", "1").CombinedOutput(); err == nil || !strings.Contains(string(out), "--model") {
		t.Errorf("missing model: err %v, output %s; want an error naming --model", err, out)
	}
}
