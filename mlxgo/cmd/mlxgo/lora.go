package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

func runLora(args []string) error {
	fs := flag.NewFlagSet("lora", flag.ContinueOnError)
	o := trainer.Defaults()
	model := fs.String("model", "", "model folder (Hugging Face layout) or Hub id org/name[@revision]")
	train := fs.Bool("train", false, "train")
	dataDir := fs.String("data", "data", "folder with train.jsonl, valid.jsonl, test.jsonl")
	ftype := fs.String("fine-tune-type", "lora", "lora or dora")
	numLayers := fs.Int("num-layers", 16, "number of final blocks to adapt (-1: all)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "minibatch size")
	fs.IntVar(&o.Iters, "iters", o.Iters, "iterations to train")
	fs.IntVar(&o.ValBatches, "val-batches", o.ValBatches, "validation batches (-1: all)")
	fs.Float64Var(&o.LearningRate, "learning-rate", o.LearningRate, "Adam learning rate")
	fs.IntVar(&o.StepsPerReport, "steps-per-report", o.StepsPerReport, "steps between loss reports")
	fs.IntVar(&o.StepsPerEval, "steps-per-eval", o.StepsPerEval, "steps between validations")
	resumeFile := fs.String("resume-adapter-file", "", "start from these adapter weights")
	dtype := computeDtypeFlag(fs, "compute dtype of the base weights (adapters stay float32)")
	fs.StringVar(&o.AdapterPath, "adapter-path", o.AdapterPath, "where adapters and checkpoints go")
	fs.IntVar(&o.SaveEvery, "save-every", o.SaveEvery, "steps between checkpoints")
	test := fs.Bool("test", false, "evaluate on test.jsonl after training")
	testBatches := fs.Int("test-batches", 500, "test batches (-1: all)")
	maxSeq := fs.Int("max-seq-length", 2048, "truncate examples to this many tokens")
	fs.BoolVar(&o.GradCheckpoint, "grad-checkpoint", false, "recompute activations in the backward pass")
	maskPrompt := fs.Bool("mask-prompt", false, "loss on completions / assistant turns only")
	seed := fs.Uint64("seed", 0, "random seed")
	fs.IntVar(&o.GradAccum, "grad-accumulation-steps", 1, "batches per optimizer step")
	fs.IntVar(&o.Groups, "groups", o.Groups, "groups of a batch's rows computed side by side (mlxgo; 0: chosen by the cores, 1: off)")
	fs.Float64Var(&o.GradClip, "grad-clip", 0, "clip the global gradient norm (0: off)")
	fs.IntVar(&o.EarlyStopping, "early-stopping", 0, "stop after N validations without improvement (0: off)")
	fs.BoolVar(&o.Resume, "resume", false, "continue from the newest checkpoint in --adapter-path")
	rank := fs.Int("rank", 8, "LoRA rank")
	scale := fs.Float64("scale", 20, "LoRA scale")
	dropout := fs.Float64("dropout", 0, "LoRA dropout")
	chat := fs.Bool("chat-template", false, "render prompt/completion records through the chat template")
	cfgPath := fs.String("c", "", "YAML config (mlx_lm.lora keys); flags given explicitly win")
	jsonEvents := fs.Bool("json-events", false, "print training events as JSON lines (trainer.Event) instead of report lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Under mpirun (or mlxgo launch) every rank runs this command; only rank 0 speaks.
	g, err := distributed.Init()
	if err != nil {
		return err
	}
	stdout, stderr := io.Writer(os.Stdout), io.Writer(os.Stderr)
	if g.Rank() != 0 {
		stdout, stderr = io.Discard, io.Discard
	}
	if o.Resume {
		// --resume continues with the options of the run that wrote the checkpoints:
		// their command line is parsed first, then this one's flags override it.
		saved, err := savedArgs(o.AdapterPath)
		if err != nil {
			return err
		}
		if err := fs.Parse(saved); err != nil {
			return fmt.Errorf("%s: saved cli_args: %w", o.AdapterPath, err)
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
	}
	keys := []string(nil)
	warmup, cosine := 0, false
	if *cfgPath != "" {
		raw, err := os.ReadFile(*cfgPath)
		if err != nil {
			return err
		}
		var y map[string]any
		if err := yaml.Unmarshal(raw, &y); err != nil {
			return fmt.Errorf("%s: %w", *cfgPath, err)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := applyYAML(*cfgPath, y, fs, set, &keys, rank, scale, dropout, &warmup, &cosine); err != nil {
			return err
		}
	}
	o.Seed, o.WarmupSteps, o.CosineDecay = *seed, warmup, cosine
	if *model == "" {
		return fmt.Errorf("--model is required")
	}
	dir, err := hub.Resolve(*model)
	if err != nil {
		return err
	}
	m, err := lm.Load(dir)
	if err != nil {
		return err
	}
	if err := applyComputeDtype(m, *dtype); err != nil {
		return err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return err
	}
	mx.Seed(*seed)
	m.Freeze()
	cfg := lora.Config{FineTuneType: *ftype, NumLayers: *numLayers, Rank: *rank, Scale: *scale, Dropout: *dropout, Keys: keys}
	if _, err := lora.Apply(m, cfg); err != nil {
		return err
	}
	if *resumeFile != "" {
		w, _, err := mx.LoadSafetensors(*resumeFile)
		if err != nil {
			return err
		}
		if err := loadAdapterWeights(m, w, *resumeFile); err != nil {
			return err
		}
	}
	total := float64(countAll(m))
	trainable := float64(lora.TrainableCount(m))
	fmt.Fprintf(stdout, "Trainable parameters: %.3f%% (%.3fM/%.3fM)\n", 100*trainable/total, trainable/1e6, total/1e6)
	dopts := data.Options{MaxSeqLength: *maxSeq, MaskPrompt: *maskPrompt, UseChatTemplate: *chat}
	pad := 0
	if e := tok.EOSIDs(); len(e) > 0 {
		pad = e[0]
	}
	if *train {
		fmt.Fprintln(stdout, "Loading datasets")
		tr, err := data.LoadSplit(*dataDir, "train", tok, dopts)
		if err != nil {
			return err
		}
		va, err := data.LoadSplit(*dataDir, "valid", tok, dopts)
		if err != nil {
			return err
		}
		b, u := data.PaddingStats(tr, o.BatchSize, o.Seed)
		fmt.Fprintf(stderr, "Length bucketing: %d padded positions per epoch instead of %d unsorted.\n", b, u)
		if g.Size() > 1 {
			fmt.Fprintf(stdout, "Training on %d ranks (%s), %d examples of each global batch of %d per rank\n", g.Size(), g.Backend(), o.BatchSize/g.Size(), o.BatchSize)
		}
		fmt.Fprintln(stdout, "Training")
		// SIGUSR1 too: mpirun forwards it to every rank (SIGINT and SIGTERM it turns into a
		// kill within a second), so `kill -USR1 <mpirun>` stops a job with a checkpoint.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
		defer stop()
		ac := lora.FromConfig(cfg)
		ac.Extra = map[string]any{"cli_args": withoutResume(args)}
		t := trainer.New(m, o, ac, pad)
		err = t.Train(ctx, tr, va, func(e trainer.Event) {
			if *jsonEvents {
				b, _ := json.Marshal(e)
				fmt.Fprintf(stdout, "%s\n", b)
				return
			}
			fmt.Fprintln(stdout, e.Message)
		})
		if err != nil {
			return err
		}
	}
	if *test {
		ts, err := data.LoadSplit(*dataDir, "test", tok, dopts)
		if err != nil {
			return err
		}
		l := trainer.Evaluate(m, ts, o.BatchSize, *testBatches, pad)
		fmt.Fprintf(stdout, "Test loss %.3f, Test ppl %.3f.\n", l, math.Exp(l))
	}
	return nil
}

func countAll(m *lm.Model) int { return nn.CountParams(m.Parameters()) }

func loadAdapterWeights(m *lm.Model, w map[string]*mx.Array, path string) error {
	cur := lora.AdapterWeights(m)
	for k := range cur {
		if _, ok := w[k]; !ok {
			return fmt.Errorf("%s: missing %s", path, k)
		}
	}
	return lora.LoadAdapterFileWeights(m, w, path)
}

// applyYAML applies a -c config.yaml of mlx_lm.lora (keys with underscores) to the flags
// not given explicitly.
func applyYAML(path string, y map[string]any, fs *flag.FlagSet, set map[string]bool, keys *[]string, rank *int, scale, dropout *float64, warmup *int, cosine *bool) error {
	for k, v := range y {
		switch k {
		case "lora_parameters":
			lp, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: lora_parameters must be a mapping", path)
			}
			for lk, lv := range lp {
				switch lk {
				case "rank":
					*rank = toInt(lv)
				case "scale", "alpha":
					*scale = toFloat(lv)
				case "dropout":
					*dropout = toFloat(lv)
				case "keys":
					list, ok := lv.([]any)
					if !ok {
						return fmt.Errorf("%s: lora_parameters.keys must be a list", path)
					}
					for _, x := range list {
						*keys = append(*keys, fmt.Sprint(x))
					}
				default:
					return fmt.Errorf("%s: lora_parameters.%s is not a known key", path, lk)
				}
			}
		case "lr_schedule":
			ls, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: lr_schedule must be a mapping", path)
			}
			if n, ok := ls["name"]; ok && n != "cosine_decay" {
				return fmt.Errorf("%s: lr_schedule.name %v is not supported (cosine_decay)", path, n)
			}
			*cosine = true
			if w, ok := ls["warmup"]; ok {
				*warmup = toInt(w)
			}
		default:
			name := dashed(k)
			f := fs.Lookup(name)
			if f == nil {
				return fmt.Errorf("%s: unknown key %q", path, k)
			}
			if set[name] {
				continue
			}
			if err := f.Value.Set(fmt.Sprint(v)); err != nil {
				return fmt.Errorf("%s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

func dashed(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

func toInt(v any) int { return int(toFloat(v)) }

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	var f float64
	fmt.Sscan(fmt.Sprint(v), &f)
	return f
}

// savedArgs returns the command line recorded in dir/adapter_config.json by the run that
// wrote the checkpoints.
func savedArgs(dir string) ([]string, error) {
	path := filepath.Join(dir, "adapter_config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	var c struct {
		Args []string `json:"cli_args"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("--resume: %s: %w", path, err)
	}
	return c.Args, nil
}

// withoutResume drops --resume from a command line so that the saved line describes the
// run itself.
func withoutResume(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--resume" && a != "-resume" && a != "--resume=true" && a != "-resume=true" {
			out = append(out, a)
		}
	}
	return out
}
