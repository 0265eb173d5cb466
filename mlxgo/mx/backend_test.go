package mx_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/mx/mxtest"
)

// TestBackendHelper is run by TestBackendChoice in a child process with MLXGO_BACKEND set:
// it prints the backend chosen at first use.
func TestBackendHelper(t *testing.T) {
	if os.Getenv("MX_BACKEND_HELPER") != "1" {
		t.Skip("helper for TestBackendChoice")
	}
	fmt.Println("BACKEND:", mx.CurrentBackend())
	fmt.Println("VALUE:", mx.FromSlice([]float32{1, 2}).Sum().Item())
}

// TestBackendChoice checks that MLXGO_BACKEND picks the backend at first use, that the
// default is the CPU backend with no import beyond mx, and that an unknown name stops the
// program with a message naming it and the backends linked in.
func TestBackendChoice(t *testing.T) {
	if os.Getenv("MLXGO_BACKEND") == "" && !strings.HasPrefix(mx.CurrentBackend().String(), "cpu (default") {
		t.Fatalf("default backend %v", mx.CurrentBackend())
	}
	run := func(env string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBackendHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "MX_BACKEND_HELPER=1", "MLXGO_BACKEND="+env)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := run("devicesim"); !strings.Contains(out, "BACKEND: devicesim (MLXGO_BACKEND=devicesim)") || !strings.Contains(out, "VALUE: 3") {
		t.Fatalf("MLXGO_BACKEND=devicesim:\n%s", out)
	}
	if out := run("nosuch"); !strings.Contains(out, `MLXGO_BACKEND=nosuch: backend "nosuch" is not linked`) {
		t.Fatalf("MLXGO_BACKEND=nosuch:\n%s", out)
	}
}

// TestStorageBelongsToItsBackend checks that evaluated arrays hold storage of the backend
// that computed them, and that host access maps host memory but copies device memory.
func TestStorageBelongsToItsBackend(t *testing.T) {
	mxtest.ForEachBackend(t, func(t *testing.T) {
		x := mx.Add(mx.FromSlice([]float32{1, 2, 3}), 1.0)
		b, mapped := x.HostBytes()
		if want := mx.CurrentBackend().Name() == "cpu"; mapped != want {
			t.Fatalf("HostBytes mapped = %v on %s", mapped, mx.CurrentBackend().Name())
		}
		if len(b) != 12 || fmt.Sprint(x.Float32s()) != "[2 3 4]" {
			t.Fatalf("host bytes %d, values %v", len(b), x.Float32s())
		}
	})
}

// recorder is an executor defined outside mx: it counts the steps it is given and runs
// them with another executor.
type recorder struct {
	inner backend.Executor
	ops   []string
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Run(tape []backend.Step, done func(int)) {
	for _, s := range tape {
		r.ops = append(r.ops, fmt.Sprintf("%s:%v", s.Op.Name(), s.Keep))
	}
	r.inner.Run(tape, done)
}

func TestSetBackendFromOutside(t *testing.T) {
	cpu, _ := backend.Open("cpu")
	r := &recorder{inner: cpu}
	old := mx.SetBackend(r)
	defer mx.SetBackend(old)
	if got := mx.CurrentBackend().String(); got != "recorder (SetBackend)" {
		t.Fatalf("CurrentBackend = %q", got)
	}
	k := mx.KernelCount()
	y := mx.Exp(mx.Reshape(mx.FromSlice([]float32{0, 0}), 2, 1))
	if y.Float32s()[1] != 1 {
		t.Fatalf("exp(0) = %v", y.Float32s())
	}
	// Only the output asked for is marked Keep; the reshape is an intermediate.
	if got := strings.Join(r.ops, ","); got != "Reshape:false,Exp:true" || mx.KernelCount()-k != 2 {
		t.Fatalf("tape %s, kernel count +%d", got, mx.KernelCount()-k)
	}
}
