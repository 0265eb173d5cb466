package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBenchBundle builds the bench bundle (.ci/bench-bundle.sh), unpacks it
// and runs its run.sh as on another machine: two alternating rounds of the
// tiny preset without the peer, whose table shows the median of the two runs;
// a malformed shape is refused with a message naming it.
func TestBenchBundle(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the bundle is for x86-64 Linux")
	}
	if testing.Short() {
		t.Skip("builds two static binaries")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tarball := filepath.Join(dir, "bench-bundle.tar.gz")
	build := exec.Command("bash", filepath.Join(root, ".ci/bench-bundle.sh"), tarball)
	build.Env = append(os.Environ(), "GO="+filepath.Join(runtime.GOROOT(), "bin", "go"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("bench-bundle.sh: %v\n%s", err, out)
	}
	if out, err := exec.Command("tar", "-C", dir, "-xzf", tarball).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	for _, f := range []string{"mlxgo", "benchtable", "run.sh", "torch_lora_bench.py", "lib/libopenblas.so.0"} {
		if _, err := os.Stat(filepath.Join(dir, "bench-bundle", f)); err != nil {
			t.Fatalf("the bundle lacks %s: %v", f, err)
		}
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(dir, "bench-bundle", "run.sh"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PRESET=tiny", "PYTHON=none", "ROUNDS=2", "STEPS=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("1x16:1")
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	if !strings.Contains(out, "| tiny | 1 × 16 | 1 | ") || !strings.Contains(out, "(2 runs, ") {
		t.Errorf("run.sh's table lacks the two runs of tiny 1 × 16:\n%s", out)
	}
	if !strings.Contains(out, `"blas":"openblas`) {
		t.Errorf("mlxgo in the bundle did not load OpenBLAS:\n%s", out)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "bench-results.jsonl")); err != nil || strings.Count(string(data), `"impl":"mlxgo"`) != 2 {
		t.Errorf("bench-results.jsonl: %v, want two mlxgo lines:\n%s", err, data)
	}
	if out, err := run("4x128"); err == nil || !strings.Contains(out, "4x128: want BATCHxSEQ:THREADS") {
		t.Errorf("run.sh 4x128: err %v, output %q; want a refusal naming the shape", err, out)
	}
}
