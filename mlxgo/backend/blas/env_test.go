package blas

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperBackend prints Backend() when run as a child of TestEnv.
func TestHelperBackend(t *testing.T) {
	if os.Getenv("MLXGO_BLAS_TEST_CHILD") != "1" {
		t.Skip("helper for TestEnv")
	}
	os.Stdout.WriteString("BACKEND=" + Backend() + "\n")
}

// TestEnv runs this test binary again with MLXGO_BLAS set, since the
// variable is read once per process.
func TestEnv(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	run := func(env, tests string, more ...string) (string, error) {
		cmd := exec.Command(exe, "-test.run=^("+tests+")$", "-test.count=1", "-test.v")
		cmd.Env = append(append(os.Environ(), "MLXGO_BLAS="+env, "MLXGO_BLAS_TEST_CHILD=1"), more...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	cases := []struct{ env, want string }{
		{"off", "BACKEND=go (fallback: MLXGO_BLAS=off)"},
		{"go", "BACKEND=go (fallback: MLXGO_BLAS=go)"},
		{"/nonexistent/libfoo.so", "BACKEND=go (fallback: no usable BLAS: /nonexistent/libfoo.so"},
	}
	if l := load(); l != nil {
		cases = append(cases, struct{ env, want string }{l.path, "BACKEND=" + l.kind + " (" + l.path})
		cases = append(cases, struct{ env, want string }{l.kind, "BACKEND=" + l.kind + " (" + l.path})
	}
	for _, c := range cases {
		out, err := run(c.env, "TestHelperBackend")
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("MLXGO_BLAS=%s: %v\n%s\nwant %q", c.env, err, out, c.want)
		}
	}
	// MLXGO_GEMM_PANELS=all: linear layers' products on the kernels, untimed.
	if l := load(); l != nil && havePanel {
		want := "and linear layers' (MLXGO_GEMM_PANELS=all)"
		if out, err := run(l.kind, "TestHelperBackend", "MLXGO_GEMM_PANELS=all"); err != nil || !strings.Contains(out, want) {
			t.Errorf("MLXGO_GEMM_PANELS=all: %v\n%s\nwant %q", err, out, want)
		}
	}
	// The public entry point with the library switched off.
	if out, err := run("off", "TestSgemm|TestPanics"); err != nil || !strings.Contains(out, "no BLAS library") {
		t.Errorf("MLXGO_BLAS=off TestSgemm: %v\n%s", err, out)
	}
}
