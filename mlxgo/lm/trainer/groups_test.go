package trainer_test

import (
	"context"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestGroupsTrain: training with the batch cut into 2 groups (on 2 streams) follows the
// loss curve of training without groups to float32 rounding, gives the same losses on a
// second run, compiled and uncompiled steps agree bit for bit, and gradient
// checkpointing with groups follows the same curve.
func TestGroupsTrain(t *testing.T) {
	run := func(groups int, compile bool, ckpt ...bool) []float64 {
		m, tr, _, ac := setupLoRA(t, lora.Config{NumLayers: 2, Rank: 4, Scale: 10})
		o := baseOptions(t.TempDir(), 5)
		o.SaveEvery, o.StepsPerEval, o.Compile, o.Groups = 0, 0, compile, groups
		o.GradCheckpoint = len(ckpt) > 0 && ckpt[0]
		var losses []float64
		if err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, nil, func(e trainer.Event) {
			if e.Kind == "train" {
				losses = append(losses, e.Loss)
			}
		}); err != nil {
			t.Fatal(err)
		}
		return losses
	}
	plain, grouped, again, uncompiled := run(1, true), run(2, true), run(2, true), run(2, false)
	checkpointed := run(2, true, true)
	if len(plain) != 5 || len(grouped) != 5 || len(checkpointed) != 5 {
		t.Fatalf("losses %v, %v and %v, want 5 each", plain, grouped, checkpointed)
	}
	for i := range plain {
		if d := math.Abs(plain[i] - grouped[i]); d > 1e-4*math.Abs(plain[i]) {
			t.Errorf("step %d: loss %v with 2 groups, %v without", i+1, grouped[i], plain[i])
		}
		if d := math.Abs(plain[i] - checkpointed[i]); d > 1e-4*math.Abs(plain[i]) {
			t.Errorf("step %d: loss %v with 2 groups and gradient checkpointing, %v without either", i+1, checkpointed[i], plain[i])
		}
	}
	if !slices.Equal(grouped, again) {
		t.Errorf("two runs with groups: %v and %v", grouped, again)
	}
	if !slices.Equal(grouped, uncompiled) {
		t.Errorf("groups, compiled %v, uncompiled %v", grouped, uncompiled)
	}
}

// TestStepGroups: 0 chooses by the cores (a quarter of GOMAXPROCS, at least 2, at most
// the rows; 1 on one core), 1 is off, and a count above the batch's rows is cut to the
// rows.
func TestStepGroups(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range [][4]int{ // GOMAXPROCS, groups, rows, want
		{2, 1, 4, 1}, {2, 2, 4, 2}, {2, 8, 3, 3}, {2, 2, 1, 1},
		{2, 0, 4, 2}, {2, 0, 1, 1}, {1, 0, 4, 1}, {4, 0, 4, 2}, {16, 0, 16, 4}, {16, 0, 3, 3}, {32, 0, 16, 8},
	} {
		runtime.GOMAXPROCS(c[0])
		if got := trainer.StepGroups(c[1], c[2]); got != c[3] {
			t.Errorf("GOMAXPROCS %d: StepGroups(%d, %d rows) = %d, want %d", c[0], c[1], c[2], got, c[3])
		}
	}
}

// TestGroupsNegative: a negative count is refused with a message naming it.
func TestGroupsNegative(t *testing.T) {
	m, tr, _, ac := setupLoRA(t, lora.Config{NumLayers: 2, Rank: 4, Scale: 10})
	o := baseOptions(t.TempDir(), 1)
	o.Groups = -2
	err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, nil, func(trainer.Event) {})
	if err == nil || !strings.Contains(err.Error(), "groups -2") {
		t.Fatalf("Train with Groups -2: %v, want an error naming groups -2", err)
	}
}

// noStreams is a backend without SetStreams (as MLX's): embedding the interface hides
// the CPU executor's other methods.
type noStreams struct{ mx.Backend }

// TestAutoGroupsWithoutStreams: on a backend that cannot run kernels side by side the
// automatic choice is no groups, whatever the cores.
func TestAutoGroupsWithoutStreams(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	if !mx.HasStreams() || trainer.AutoGroups(16) != 4 {
		t.Fatalf("CPU backend at 16 cores: HasStreams %v, AutoGroups(16) %d; want true, 4", mx.HasStreams(), trainer.AutoGroups(16))
	}
	defer mx.SetBackend(mx.SetBackend(noStreams{mx.CurrentBackend().Backend}))
	if mx.HasStreams() {
		t.Error("HasStreams on a backend without SetStreams")
	}
	if g := trainer.StepGroups(0, 16); g != 1 {
		t.Errorf("StepGroups(0, 16 rows) without streams = %d, want 1", g)
	}
}
