package distributed_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// runRanks runs this test binary's TestRankHelper on n ranks under mpirun with the given
// helper case, and returns the combined output, the exit error and the wall time.
func runRanks(t *testing.T, n int, helper string, env ...string) (string, error, time.Duration) {
	t.Helper()
	cmd, err := distributed.Command(distributed.LaunchOptions{N: n, Env: append(env, "MLXGO_DIST_HELPER="+helper)},
		os.Args[0], "-test.run", "^TestRankHelper$", "-test.v")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return string(out), err, time.Since(start)
}

// TestRankHelper is the program each rank runs; it does nothing in a plain `go test`.
func TestRankHelper(t *testing.T) {
	helper := os.Getenv("MLXGO_DIST_HELPER")
	if helper == "" {
		return
	}
	g, err := distributed.Init()
	if err != nil {
		t.Fatal(err)
	}
	r := g.Rank()
	switch helper {
	case "collectives":
		if g.Size() != 2 || distributed.LaunchedRank() != r || !strings.HasPrefix(g.Backend(), "mpi") {
			t.Fatalf("rank %d: size %d, launched rank %d, backend %s", r, g.Size(), distributed.LaunchedRank(), g.Backend())
		}
		x := mx.FromSlice([]float32{float32(r + 1), 10 * float32(r+1)})
		report := func(name string, a *mx.Array) { fmt.Printf("rank %d %s %v %v\n", r, name, a.Shape(), a.Float64s()) }
		report("sum", distributed.AllSum(x))
		report("sumint", distributed.AllSum(mx.FromSlice([]int32{int32(r), 5})))
		report("sumbf16", distributed.AllSum(mx.AsType(x, mx.Bfloat16)))
		report("gather", distributed.AllGather(mx.Reshape(x, 1, 2)))
		report("gatherscalar", distributed.AllGather(mx.Scalar(float64(r))))
		// Lazy: building the op runs no kernel and no MPI call; Eval does.
		kernels := mx.KernelCount()
		lazy := distributed.AllSum(mx.Multiply(x, 2))
		if mx.KernelCount() != kernels || lazy.Evaluated() {
			t.Fatalf("rank %d: AllSum ran when it was built", r)
		}
		report("lazy", lazy)
		// AllSum inside a differentiated function: f(w) = sum(AllSum(w·x_rank)²).
		// With s = Σ_r w·x_r, df/dw on this rank = 2·s·x_rank (the cotangent passes
		// through AllSum unchanged, as in MLX).
		w := mx.FromSlice([]float32{1, 2})
		f := func(w *mx.Array) *mx.Array {
			return mx.Sum(mx.Square(distributed.AllSum(mx.Multiply(w, x))), nil, false)
		}
		val, grad := mx.ValueAndGradOf(f)(w)
		report("value", val)
		report("grad", grad)
		gathered := func(w *mx.Array) *mx.Array {
			return mx.Sum(mx.Multiply(distributed.AllGather(w), mx.FromSlice([]float32{1, 2, 3, 4})), nil, false)
		}
		report("gathergrad", mx.GradOf(gathered)(w))
		distributed.Barrier()
	case "die":
		// Rank 1 dies while rank 0 waits in a collective.
		if r == 1 {
			time.Sleep(500 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		distributed.AllSum(mx.Ones([]int{4}, mx.Float32)).Float32s()
		t.Fatal("AllSum returned with a dead rank")
	case "late":
		// Rank 1 is stuck (not dead) longer than rank 0's collective timeout.
		if r == 1 {
			time.Sleep(time.Minute)
		}
		distributed.AllSum(mx.Ones([]int{4}, mx.Float32)).Float32s()
	}
	if err := distributed.Finalize(); err != nil {
		t.Fatal(err)
	}
}

// TestGroupOfOne: without a launcher, nothing is loaded and the collectives are identities.
func TestGroupOfOne(t *testing.T) {
	if os.Getenv("OMPI_COMM_WORLD_SIZE") != "" {
		t.Skip("runs outside mpirun only")
	}
	g, err := distributed.Init()
	if err != nil {
		t.Fatal(err)
	}
	if g.Rank() != 0 || g.Size() != 1 || g.Backend() != "none" || distributed.Rank() != 0 || distributed.Size() != 1 {
		t.Fatalf("rank %d size %d backend %s", g.Rank(), g.Size(), g.Backend())
	}
	x := mx.FromSlice([]float32{1, 2, 3})
	if got := distributed.AllSum(x).Float32s(); !slices.Equal(got, []float32{1, 2, 3}) {
		t.Fatalf("AllSum %v", got)
	}
	if got := distributed.AllGather(mx.Scalar(4)); !slices.Equal(got.Shape(), []int{1}) || got.Item() != 4 {
		t.Fatalf("AllGather of a scalar: %v", got)
	}
	distributed.Barrier()
	if err := distributed.Finalize(); err != nil {
		t.Fatal(err)
	}
}

func needMpirun(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Fatal("mpirun not found: install Debian's openmpi-bin (make setup does)")
	}
}

// TestTwoRanks: sums, gathers and their gradients across two processes under mpirun.
func TestTwoRanks(t *testing.T) {
	needMpirun(t)
	out, err, _ := runRanks(t, 2, "collectives")
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	// s = w·x_0 + w·x_1 = [1·1 + 1·2, 2·10 + 2·20] = [3, 60]; f = 9 + 3600.
	want := []string{
		"sum [2] [3 30]", "sumint [2] [1 10]", "sumbf16 [2] [3 30]", "gather [2 2] [1 10 2 20]", "gatherscalar [2] [0 1]",
		"value [] [3609]", "lazy [2] [6 60]",
	}
	for r := 0; r < 2; r++ {
		for _, w := range want {
			if !strings.Contains(out, fmt.Sprintf("rank %d %s\n", r, w)) {
				t.Errorf("rank %d: missing %q", r, w)
			}
		}
	}
	// df/dw = 2·s·x_rank: rank 0 [2·3·1, 2·60·10], rank 1 [2·3·2, 2·60·20].
	// AllGather's gradient is this rank's slice of [1 2 3 4] seen as (2, 2).
	for _, w := range []string{"rank 0 grad [2] [6 1200]", "rank 1 grad [2] [12 2400]", "rank 0 gathergrad [2] [1 2]", "rank 1 gathergrad [2] [3 4]"} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("missing %q", w)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// TestRankDeathEndsJob: when a rank is SIGKILLed while another waits in AllSum, mpirun ends
// the job with a non-zero status, well within 30 s, and says which rank died.
func TestRankDeathEndsJob(t *testing.T) {
	needMpirun(t)
	out, err, took := runRanks(t, 2, "die")
	if err == nil {
		t.Fatalf("mpirun succeeded with a dead rank:\n%s", out)
	}
	if took > 30*time.Second {
		t.Fatalf("mpirun took %v to end the job", took)
	}
	if !strings.Contains(out, "rank 1") || !strings.Contains(out, "signal 9") {
		t.Fatalf("mpirun's message does not name the dead rank:\n%s", out)
	}
	t.Logf("ended in %v: %v", took.Round(time.Millisecond), err)
}

// TestCollectiveTimeout: a rank that waits longer than MLXGO_DIST_TIMEOUT in a collective
// stops with a message, and mpirun ends the rest of the job.
func TestCollectiveTimeout(t *testing.T) {
	needMpirun(t)
	out, err, took := runRanks(t, 2, "late", "MLXGO_DIST_TIMEOUT=2s")
	if err == nil {
		t.Fatalf("mpirun succeeded:\n%s", out)
	}
	if took > 30*time.Second {
		t.Fatalf("took %v", took)
	}
	if !strings.Contains(out, "rank 0: AllSum waited 2s for the other ranks") {
		t.Fatalf("no timeout message:\n%s", out)
	}
}

// TestCommandLine: the mpirun line of `mlxgo launch -n 4 --hosts a,b:2`.
func TestCommandLine(t *testing.T) {
	cmd, err := distributed.Command(distributed.LaunchOptions{N: 4, Hosts: []string{"a", "b:2"}, Mpirun: "/opt/mpirun", Env: []string{"X=1"}}, "/bin/mlxgo", "lora", "--train")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(cmd.Args, " ")
	want := "/opt/mpirun -np 4 --oversubscribe --bind-to none --host a:4,b:2 "
	if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, " -x X /bin/mlxgo lora --train") {
		t.Fatalf("%s\nwant %s... -x X /bin/mlxgo lora --train", line, want)
	}
	if (os.Geteuid() == 0) != strings.Contains(line, "--allow-run-as-root") || !slices.Contains(cmd.Env, "X=1") {
		t.Fatalf("root flag or environment wrong: %s %v", line, cmd.Env[len(cmd.Env)-1])
	}
	if _, err := distributed.Command(distributed.LaunchOptions{N: 0}, "x"); err == nil {
		t.Fatal("0 ranks accepted")
	}
	if _, err := distributed.Command(distributed.LaunchOptions{N: 2, Env: []string{"novalue"}}, "x"); err == nil || !strings.Contains(err.Error(), `"novalue"`) {
		t.Fatalf("bad environment entry: %v", err)
	}
}
