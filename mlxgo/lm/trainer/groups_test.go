package trainer_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
)

// TestGroupsTrain: training with the batch cut into 2 groups (on 2 streams) follows the
// loss curve of training without groups to float32 rounding, gives the same losses on a
// second run, and compiled and uncompiled steps agree bit for bit.
func TestGroupsTrain(t *testing.T) {
	run := func(groups int, compile bool) []float64 {
		m, tr, _, ac := setupLoRA(t, lora.Config{NumLayers: 2, Rank: 4, Scale: 10})
		o := baseOptions(t.TempDir(), 5)
		o.SaveEvery, o.StepsPerEval, o.Compile, o.Groups = 0, 0, compile, groups
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
	if len(plain) != 5 || len(grouped) != 5 {
		t.Fatalf("losses %v and %v, want 5 each", plain, grouped)
	}
	for i := range plain {
		if d := math.Abs(plain[i] - grouped[i]); d > 1e-4*math.Abs(plain[i]) {
			t.Errorf("step %d: loss %v with 2 groups, %v without", i+1, grouped[i], plain[i])
		}
	}
	if !slices.Equal(grouped, again) {
		t.Errorf("two runs with groups: %v and %v", grouped, again)
	}
	if !slices.Equal(grouped, uncompiled) {
		t.Errorf("groups, compiled %v, uncompiled %v", grouped, uncompiled)
	}
}

// TestStepGroups: a count above the batch's rows is cut to the rows; 0 and 1 are off.
func TestStepGroups(t *testing.T) {
	for _, c := range [][3]int{{0, 4, 1}, {1, 4, 1}, {2, 4, 2}, {8, 3, 3}, {2, 1, 1}} {
		if got := trainer.StepGroups(c[0], c[1]); got != c[2] {
			t.Errorf("StepGroups(%d, %d rows) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}
