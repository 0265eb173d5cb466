package trainer_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

const modelDir = "../testdata/hf-tiny-llama/model"

// writeData writes the counting dataset (train.jsonl, valid.jsonl) into a new folder.
func writeData(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	var train, valid strings.Builder
	for i := 0; i < 24; i++ {
		fmt.Fprintf(&train, `{"prompt": "count %d:", "completion": " %d %d %d"}`+"\n", i, i+1, i+2, i+3)
	}
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&valid, `{"prompt": "count %d:", "completion": " %d %d %d"}`+"\n", i+30, i+31, i+32, i+33)
	}
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(train.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "valid.jsonl"), []byte(valid.String()), 0o644)
	return dir
}

func setup(t testing.TB) (*lm.Model, *data.Dataset, *data.Dataset, lora.AdapterConfig) {
	return setupLoRA(t, lora.Config{NumLayers: 2, Rank: 4, Scale: 10})
}

// setupLoRA is setup with the given LoRA configuration.
func setupLoRA(t testing.TB, cfg lora.Config) (*lm.Model, *data.Dataset, *data.Dataset, lora.AdapterConfig) {
	t.Helper()
	dir := writeData(t)
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := data.LoadSplit(dir, "train", tok, data.Options{MaskPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	va, err := data.LoadSplit(dir, "valid", tok, data.Options{MaskPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	m := lm.MustLoad(modelDir)
	m.Freeze()
	mx.Seed(11)
	if _, err := lora.Apply(m, cfg); err != nil {
		t.Fatal(err)
	}
	return m, tr, va, lora.FromConfig(cfg)
}

func run(t *testing.T, opts trainer.Options, resume bool) (map[int]float64, []trainer.Event) {
	m, tr, va, ac := setup(t)
	opts.Resume = resume
	losses := map[int]float64{}
	var events []trainer.Event
	err := trainer.New(m, opts, ac, 0).Train(context.Background(), tr, va, func(e trainer.Event) {
		events = append(events, e)
		if e.Kind == "train" {
			losses[e.Step] = e.Loss
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return losses, events
}

func baseOptions(dir string, iters int) trainer.Options {
	o := trainer.Defaults()
	o.Iters, o.BatchSize, o.LearningRate = iters, 4, 1e-2
	o.StepsPerReport, o.StepsPerEval, o.SaveEvery = 1, 4, 4
	o.AdapterPath, o.Seed = dir, 3
	return o
}

// TestResumeContinuesTheSameCurve: 12 uninterrupted steps versus 8 steps, then a resumed
// run to 12 from the step-8 checkpoint: identical losses at steps 9-12.
func TestResumeContinuesTheSameCurve(t *testing.T) {
	full, events := run(t, baseOptions(t.TempDir(), 12), false)
	if !(full[12] < full[1]) {
		t.Fatalf("training did not lower the loss: step 1 %v, step 12 %v", full[1], full[12])
	}
	var sawVal, sawSave bool
	for _, e := range events {
		sawVal = sawVal || (e.Kind == "val" && strings.HasPrefix(e.Message, "Iter 4: Val loss "))
		sawSave = sawSave || (e.Kind == "save" && strings.Contains(e.Message, "0000004_adapters.safetensors"))
	}
	if !sawVal || !sawSave {
		t.Fatalf("missing mlx-lm style validation or save lines in %v", events)
	}
	dir := t.TempDir()
	run(t, baseOptions(dir, 8), false)
	resumed, _ := run(t, baseOptions(dir, 12), true)
	for s := 9; s <= 12; s++ {
		if math.Abs(resumed[s]-full[s]) > 1e-6 {
			t.Fatalf("step %d: resumed loss %v, uninterrupted %v", s, resumed[s], full[s])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "best_adapters.safetensors")); err != nil {
		t.Fatal("no best-validation adapter written")
	}
}

func TestNaNGuardKeepsLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	o := baseOptions(dir, 8)
	o.LearningRate = 1e30 // diverges
	m, tr, va, ac := setup(t)
	err := trainer.New(m, o, ac, 0).Train(context.Background(), tr, va, nil)
	if err == nil || !strings.Contains(err.Error(), "stopping before the update") {
		t.Fatalf("diverging run returned %v", err)
	}
	// Every checkpoint on disk must load.
	files, _ := filepath.Glob(filepath.Join(dir, "*adapters.safetensors"))
	for _, f := range files {
		m2 := lm.MustLoad(modelDir)
		m2.Freeze()
		if err := lora.LoadAdapterFile(m2, dir, f); err != nil {
			t.Fatalf("checkpoint %s unreadable: %v", f, err)
		}
	}
}

// TestGradientAccumulation: each optimizer step consumes GradAccum batches.
func TestGradientAccumulation(t *testing.T) {
	o := baseOptions(t.TempDir(), 4)
	o.SaveEvery, o.StepsPerEval = 0, 0
	_, one := run(t, o, false)
	o.GradAccum = 2
	o.AdapterPath = t.TempDir()
	losses, two := run(t, o, false)
	tokens := func(ev []trainer.Event) int {
		n := 0
		for _, e := range ev {
			if e.Kind == "train" {
				n = e.Tokens
			}
		}
		return n
	}
	if tokens(two) < 2*tokens(one)*9/10 || len(losses) != 4 {
		t.Fatalf("4 steps of 2 accumulated batches trained %d tokens; 4 single-batch steps %d", tokens(two), tokens(one))
	}
}
