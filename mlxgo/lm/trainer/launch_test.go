package trainer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	"github.com/mlxgo/mlxgo/widgets"
)

// TestLaunchStreamsEventsToTheChart: a notebook cell's way to train on two processes. The
// events of rank 0 reach the callback while the job runs and feed the live loss chart as
// in the walkthrough; cancelling the context at step 3 stops both ranks after a checkpoint
// that loads.
func TestLaunchStreamsEventsToTheChart(t *testing.T) {
	needMpirun(t)
	adapters := filepath.Join(t.TempDir(), "adapters")
	args := []string{"--model", modelDir, "--train", "--data", writeData(t), "--iters", "500", "--batch-size", "4",
		"--num-layers", "2", "--rank", "4", "--scale", "10", "--learning-rate", "1e-3", "--steps-per-report", "1",
		"--steps-per-eval", "2", "--val-batches", "-1", "--save-every", "100", "--mask-prompt", "--adapter-path", adapters}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chart := widgets.NewLossChart("2 ranks")
	var kinds []string
	var logs strings.Builder
	// bin "": Launch builds mlxgo with the go command, as a notebook cell would.
	err := trainer.Launch(ctx, distributed.LaunchOptions{N: 2}, "", args, func(e trainer.Event) {
		kinds = append(kinds, e.Kind)
		switch e.Kind {
		case "train":
			chart.AddTrain(e.Step, e.Loss)
			if e.Step == 3 {
				cancel() // the job is still running: events are streamed
			}
		case "val":
			chart.AddVal(e.Step, e.Loss)
		case "log", "stop":
			fmt.Fprintln(&logs, e.Message)
		}
		chart.Update()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Launch returned %v; want context.Canceled\n%s", err, logs.String())
	}
	train := chart.Train()
	if len(train) < 3 || len(chart.Val()) < 2 {
		t.Fatalf("chart has %d train and %d validation points", len(train), len(chart.Val()))
	}
	for i, p := range train {
		if p.Step != i+1 {
			t.Fatalf("train points %v are not steps 1, 2, 3... each once", train)
		}
	}
	for _, want := range []string{"Training on 2 ranks", "Interrupted at iteration"} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("no %q among the output lines:\n%s", want, logs.String())
		}
	}
	last := trainer.LatestCheckpoint(adapters)
	if last < 3 {
		t.Fatalf("newest checkpoint at step %d", last)
	}
	// The checkpoint's data cursor is right after the last applied step's batch (6 batches
	// of 4 per epoch), so that a resumed run continues the same curve.
	var st struct{ Step, Epoch, Cursor int }
	raw, err := os.ReadFile(filepath.Join(adapters, fmt.Sprintf("%07d_state.json", last)))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Step != last || st.Epoch*6+st.Cursor != last {
		t.Fatalf("checkpoint %d: %+v (%v)", last, st, err)
	}
	m := lm.MustLoad(modelDir)
	m.Freeze()
	if err := lora.LoadAdapterFile(m, adapters, filepath.Join(adapters, fmt.Sprintf("%07d_adapters.safetensors", last))); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, interrupted after step %d; checkpoint %d loads", len(kinds), len(train), last)
}

// A notebook cell that fine-tunes on 4 local processes and draws the live loss chart.
func ExampleLaunch() {
	chart := widgets.NewLossChart("LoRA on 4 ranks")
	args := []string{"--model", "models/tiny-story", "--train", "--data", "data", "--iters", "200", "--batch-size", "8"}
	err := trainer.Launch(context.Background(), distributed.LaunchOptions{N: 4}, "", args, func(e trainer.Event) {
		switch e.Kind {
		case "train":
			chart.AddTrain(e.Step, e.Loss)
		case "val":
			chart.AddVal(e.Step, e.Loss)
		}
		chart.Update()
	})
	chart.Done()
	if err != nil {
		panic(err)
	}
}
