// Package trainer runs LoRA fine-tuning as mlx_lm.lora does — reports, validation,
// numbered checkpoints, test loss — and goes past it: full resume (optimizer state, step,
// RNG key, data order and cursor), best-validation checkpoint, early stopping, gradient
// clipping and a NaN/Inf guard that stops before a bad step is written.
//
// The loop is plain Go over the same pieces a notebook uses by hand (nn.ValueAndGrad,
// opt.Update, mx.Eval); Train emits Events for charts and logs.
package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Options mirror mlx_lm.lora's training arguments, plus mlxgo's.
type Options struct {
	Iters          int     `json:"iters"`
	BatchSize      int     `json:"batch_size"`
	LearningRate   float64 `json:"learning_rate"`
	WarmupSteps    int     `json:"warmup"`
	CosineDecay    bool    `json:"cosine_decay"`
	StepsPerReport int     `json:"steps_per_report"`
	StepsPerEval   int     `json:"steps_per_eval"`
	ValBatches     int     `json:"val_batches"` // -1: all
	SaveEvery      int     `json:"save_every"`
	AdapterPath    string  `json:"adapter_path"`
	GradAccum      int     `json:"grad_accumulation_steps"`
	GradCheckpoint bool    `json:"grad_checkpoint"`
	Seed           uint64  `json:"seed"`
	GradClip       float64 `json:"grad_clip"`      // 0: off
	EarlyStopping  int     `json:"early_stopping"` // evaluations without improvement; 0: off
	Resume         bool    `json:"resume"`
	WeightDecay    float64 `json:"weight_decay"`
	// Compile runs the loss and gradient through mx.Compile (CompiledValueAndGrad), as
	// mlx-lm compiles its step; single-process runs only. On by default: the losses are
	// the same bits as without it.
	Compile bool `json:"compile"`
	// Groups cuts each batch into groups of rows whose forward and backward passes run
	// side by side (GroupedLoss, mx.SetStreams), single-process runs only: 0 (the
	// default) chooses by the cores (AutoGroups), 1 is off (StepGroups). The loss is the
	// same mean; only the order of float32 sums differs.
	Groups int `json:"groups"`
}

// Defaults returns mlx-lm's defaults (mlx-lm compiles its step too).
func Defaults() Options {
	return Options{Iters: 1000, BatchSize: 4, LearningRate: 1e-5, StepsPerReport: 10, StepsPerEval: 200,
		ValBatches: 25, SaveEvery: 100, AdapterPath: "adapters", GradAccum: 1, Compile: true}
}

// Event is one thing that happened during training.
type Event struct {
	Kind         string  // "train", "val", "save", "stop"; "log" for other output of Launch
	Step         int     // 1-based iteration
	Loss         float64 // train or validation loss
	LearningRate float64
	ItPerSec     float64
	TokPerSec    float64
	Tokens       int // trained tokens so far
	PeakMemory   int64
	Message      string // mlx-lm's report line
}

// state is the JSON part of a checkpoint: everything besides arrays needed to resume.
type state struct {
	Step       int       `json:"step"`
	Epoch      int       `json:"epoch"`
	Cursor     int       `json:"cursor"`
	Key        [2]uint32 `json:"rng_key"`
	Tokens     int       `json:"trained_tokens"`
	BestVal    float64   `json:"best_val"`
	BadEvals   int       `json:"evals_without_improvement"`
	Options    Options   `json:"options"`
	AdapterCfg any       `json:"adapter_config"`
}

// Loss is the masked next-token cross-entropy of a batch.
func Loss(m *lm.Model, b data.Batch) *mx.Array {
	logits := m.Forward(b.Inputs, nil)
	return nn.CrossEntropy(logits, b.Targets, b.Mask, nn.ReduceMean)
}

// Evaluate returns the mean loss over up to maxBatches batches (all when <= 0),
// weighting by target tokens. In a job of several processes every rank must call it: each
// evaluates its slice of every batch and all get the loss over the whole batches.
func Evaluate(m *lm.Model, ds *data.Dataset, batchSize, maxBatches int, padID int) float64 {
	g, err := distributed.Init()
	if err != nil {
		panic(err)
	}
	nn.SetTraining(m, false)
	defer nn.SetTraining(m, true)
	var sum, count float64
	batches := data.Order(ds, min(batchSize, ds.Len()), 0, 0)
	for i, idx := range batches {
		if maxBatches > 0 && i >= maxBatches {
			break
		}
		if idx = shard(idx, g.Rank(), g.Size()); len(idx) == 0 {
			continue
		}
		b := data.Make(ds, idx, padID)
		l := Loss(m, b)
		sum += l.Item() * float64(b.Tokens)
		count += float64(b.Tokens)
	}
	if g.Size() > 1 {
		s := distributed.AllSum(mx.FromSlice([]float32{float32(sum), float32(count)})).Float64s()
		sum, count = s[0], s[1]
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / count
}

// Trainer holds a run's state; Train drives it.
type Trainer struct {
	Model      *lm.Model
	Opt        optim.Optimizer
	Options    Options
	AdapterCfg lora.AdapterConfig
	PadID      int
	st         state
	rank, size int // this process in the job (distributed.Init); 0 of 1 when alone
}

// New prepares a run on a model whose LoRA layers are already applied.
func New(model *lm.Model, opts Options, adapterCfg lora.AdapterConfig, padID int) *Trainer {
	if opts.GradAccum == 0 {
		opts.GradAccum = 1
	}
	sched := optim.Constant(opts.LearningRate)
	if opts.CosineDecay {
		sched = optim.CosineDecay(opts.LearningRate, max(1, opts.Iters-opts.WarmupSteps), 0)
	}
	if opts.WarmupSteps > 0 {
		sched = optim.JoinSchedules([]optim.Schedule{optim.LinearSchedule(0, opts.LearningRate, opts.WarmupSteps), sched}, []int{opts.WarmupSteps})
	}
	model.GradCheckpoint = opts.GradCheckpoint
	t := &Trainer{Model: model, Opt: optim.NewAdam(sched, optim.AdamConfig{}), Options: opts, AdapterCfg: adapterCfg, PadID: padID}
	if opts.WeightDecay > 0 {
		t.Opt = optim.NewAdamW(sched, optim.AdamConfig{WeightDecay: opts.WeightDecay})
	}
	t.st.BestVal = math.Inf(1)
	return t
}

// Train runs until Options.Iters, early stopping, a non-finite loss or ctx cancellation
// (which saves a checkpoint first). emit receives every event; it may be nil.
//
// In a job of several processes (mpirun, `mlxgo launch`; see package distributed) every
// rank calls Train with the same options and data: Options.BatchSize is the global batch,
// each rank trains on its slice of it and the gradients are summed over the ranks, so the
// run follows the single-process loss curve. Only rank 0 receives events and writes
// adapters and checkpoints; a checkpoint resumes on any number of ranks.
func (t *Trainer) Train(ctx context.Context, train, valid *data.Dataset, emit func(Event)) error {
	o := t.Options
	g, err := distributed.Init()
	if err != nil {
		return err
	}
	t.rank, t.size = g.Rank(), g.Size()
	if emit == nil || t.rank != 0 {
		emit = func(Event) {}
	}
	if train.Len() < o.BatchSize {
		return fmt.Errorf("trainer: %s has %d examples, fewer than the batch size %d", train.Path, train.Len(), o.BatchSize)
	}
	if o.Groups < 0 {
		return fmt.Errorf("trainer: groups %d: want 0 (chosen by the cores), 1 (off) or more", o.Groups)
	}
	if err := checkShards(o.BatchSize, t.size); err != nil {
		return err
	}
	if o.Resume {
		if err := t.resume(); err != nil {
			return err
		}
	} else {
		mx.Seed(o.Seed)
		t.st.Key = mx.GlobalKey()
	}
	mx.SetGlobalKey(t.st.Key)
	loss := Loss
	if groups := StepGroups(o.Groups, o.BatchSize); t.size == 1 && groups > 1 {
		loss = GroupedLoss(groups)
		defer mx.SetStreams(mx.SetStreams(groups))
	}
	step := nn.ValueAndGrad(t.Model, loss)
	var globalTokens int // the current global batch's target count, for shardLoss
	if t.size > 1 {
		step = nn.ValueAndGrad(t.Model, shardLoss(&globalTokens))
	} else if o.Compile {
		step = CompiledValueAndGrad(t.Model, loss)
	}
	order := data.Order(train, o.BatchSize, o.Seed, t.st.Epoch)
	var lossSum float64
	var lossN, tokSinceReport int
	tick := time.Now()
	if t.st.Step == 0 && valid != nil && o.StepsPerEval > 0 {
		t.validate(valid, 1, emit)
	}
	interrupted := func() error {
		if err := t.checkpoint(); err != nil {
			return err
		}
		if t.size > 1 {
			// The others wait for rank 0's checkpoint: mpirun ends the whole job as soon as
			// one rank exits with an error.
			distributed.Barrier()
		}
		emit(Event{Kind: "stop", Step: t.st.Step, Message: fmt.Sprintf("Interrupted at iteration %d; checkpoint saved to %s.", t.st.Step, o.AdapterPath)})
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("trainer: another rank was interrupted at iteration %d", t.st.Step)
	}
	for t.st.Step < o.Iters {
		if t.size == 1 && ctx.Err() != nil {
			return interrupted()
		}
		var loss *mx.Array
		var grads map[string]any
		tokens := 0
		cursor, epoch := t.st.Cursor, t.st.Epoch
		for a := 0; a < o.GradAccum; a++ {
			if t.st.Cursor >= len(order) {
				t.st.Epoch++
				t.st.Cursor = 0
				order = data.Order(train, o.BatchSize, o.Seed, t.st.Epoch)
			}
			idx := order[t.st.Cursor]
			t.st.Cursor++
			var b data.Batch
			if t.size > 1 {
				globalTokens = targetTokens(train, idx)
				tokens += globalTokens
				b = makeShard(train, idx, t.rank, t.size, t.PadID)
			} else {
				b = data.Make(train, idx, t.PadID)
				tokens += b.Tokens
			}
			l, g := step(t.Model, b)
			if loss == nil {
				loss, grads = l, g
			} else {
				loss = mx.Add(loss, l)
				grads = tree.Map2(grads, g, func(x, y *mx.Array) *mx.Array { return mx.Add(x, y) }).(map[string]any)
			}
		}
		if o.GradAccum > 1 {
			loss = mx.Divide(loss, float64(o.GradAccum))
			grads = tree.Map(grads, func(g *mx.Array) *mx.Array { return mx.Divide(g, float64(o.GradAccum)) }).(map[string]any)
		}
		if t.size > 1 {
			var stop bool
			if loss, grads, stop = allSumStep(loss, grads, ctx.Err() != nil); stop {
				// This step's batches are not applied: the checkpoint starts with them.
				t.st.Cursor, t.st.Epoch = cursor, epoch
				return interrupted()
			}
		}
		if o.GradClip > 0 {
			grads, _ = optim.ClipGradNorm(grads, o.GradClip)
		}
		mx.Eval(loss, grads)
		lv := loss.Item()
		if math.IsNaN(lv) || math.IsInf(lv, 0) || !finite(grads) {
			msg := fmt.Sprintf("Iter %d: loss is %v; stopping before the update. The last good checkpoint in %s is intact.", t.st.Step+1, lv, o.AdapterPath)
			emit(Event{Kind: "stop", Step: t.st.Step + 1, Loss: lv, Message: msg})
			return fmt.Errorf("trainer: %s", msg)
		}
		lr := t.Opt.LearningRate()
		t.Opt.Update(t.Model, grads)
		mx.Eval(t.Model.Parameters(), t.Opt.State())
		t.st.Step++
		t.st.Tokens += tokens
		t.st.Key = mx.GlobalKey()
		lossSum += lv
		lossN++
		tokSinceReport += tokens
		it := t.st.Step
		if o.StepsPerReport > 0 && (it%o.StepsPerReport == 0 || it == o.Iters) {
			el := time.Since(tick).Seconds()
			ev := Event{Kind: "train", Step: it, Loss: lossSum / float64(lossN), LearningRate: lr,
				ItPerSec: float64(lossN) / el, TokPerSec: float64(tokSinceReport) / el, Tokens: t.st.Tokens, PeakMemory: mx.PeakMemory()}
			ev.Message = fmt.Sprintf("Iter %d: Train loss %.3f, Learning Rate %.3e, It/sec %.3f, Tokens/sec %.3f, Trained Tokens %d, Peak mem %.3f GB",
				it, ev.Loss, lr, ev.ItPerSec, ev.TokPerSec, ev.Tokens, float64(ev.PeakMemory)/1e9)
			emit(ev)
			lossSum, lossN, tokSinceReport = 0, 0, 0
			tick = time.Now()
		}
		stop := false
		if valid != nil && o.StepsPerEval > 0 && (it%o.StepsPerEval == 0 || it == o.Iters) {
			stop = t.validate(valid, it, emit)
		}
		if o.SaveEvery > 0 && it%o.SaveEvery == 0 {
			if err := t.checkpoint(); err != nil {
				return err
			}
			emit(Event{Kind: "save", Step: it, Message: fmt.Sprintf("Iter %d: Saved adapter weights to %s and %s.", it,
				filepath.Join(o.AdapterPath, "adapters.safetensors"), filepath.Join(o.AdapterPath, fmt.Sprintf("%07d_adapters.safetensors", it)))})
		}
		if stop {
			emit(Event{Kind: "stop", Step: it, Message: fmt.Sprintf("Early stopping at iteration %d: validation loss has not improved for %d evaluations.", it, o.EarlyStopping)})
			break
		}
	}
	if err := t.checkpoint(); err != nil {
		return err
	}
	emit(Event{Kind: "save", Step: t.st.Step, Message: fmt.Sprintf("Saved final weights to %s.", filepath.Join(o.AdapterPath, "adapters.safetensors"))})
	return nil
}

func finite(grads map[string]any) bool {
	for _, g := range tree.Leaves(grads) {
		if v := mx.Sum(mx.LogicalOr(mx.IsNaN(g), mx.IsInf(g)), nil, false).Item(); v != 0 {
			return false
		}
	}
	return true
}

// validate reports the validation loss, keeps the best adapter and says whether early
// stopping triggers.
func (t *Trainer) validate(valid *data.Dataset, it int, emit func(Event)) bool {
	start := time.Now()
	v := Evaluate(t.Model, valid, t.Options.BatchSize, t.Options.ValBatches, t.PadID)
	emit(Event{Kind: "val", Step: it, Loss: v, Message: fmt.Sprintf("Iter %d: Val loss %.3f, Val took %.3fs", it, v, time.Since(start).Seconds())})
	if v < t.st.BestVal {
		t.st.BestVal = v
		t.st.BadEvals = 0
		if err := t.saveAdapters("best_adapters.safetensors"); err != nil {
			emit(Event{Kind: "stop", Step: it, Message: "saving the best adapter failed: " + err.Error()})
		}
		return false
	}
	t.st.BadEvals++
	return t.Options.EarlyStopping > 0 && t.st.BadEvals >= t.Options.EarlyStopping
}

func (t *Trainer) adapterConfig() lora.AdapterConfig {
	c := t.AdapterCfg
	if c.Extra == nil {
		c.Extra = map[string]any{}
	}
	raw, _ := json.Marshal(t.Options)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, v := range m {
		c.Extra[k] = v
	}
	return c
}

func (t *Trainer) saveAdapters(name string) error {
	if t.rank != 0 {
		return nil
	}
	dir := t.Options.AdapterPath
	return lora.SaveAdapterFile(filepath.Join(dir, name), dir, t.Model, t.adapterConfig())
}

// checkpoint (on rank 0) writes adapters.safetensors and a numbered checkpoint (adapters, optimizer
// state arrays, and the JSON state), each file atomically; the JSON is written last so a
// checkpoint is only visible once complete.
func (t *Trainer) checkpoint() error {
	if t.rank != 0 {
		return nil
	}
	dir := t.Options.AdapterPath
	prefix := fmt.Sprintf("%07d_", t.st.Step)
	if err := t.saveAdapters("adapters.safetensors"); err != nil {
		return err
	}
	if err := t.saveAdapters(prefix + "adapters.safetensors"); err != nil {
		return err
	}
	if err := mx.SaveSafetensors(filepath.Join(dir, prefix+"optimizer.safetensors"), tree.FlattenMap(t.Opt.State()), nil); err != nil {
		return err
	}
	st := t.st
	st.Options = t.Options
	st.AdapterCfg = t.adapterConfig()
	if math.IsInf(st.BestVal, 1) {
		st.BestVal = math.MaxFloat64
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, prefix+"state.json"), data)
}

// LatestCheckpoint returns the step of the newest complete checkpoint in dir (0 if none).
func LatestCheckpoint(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*_state.json"))
	sort.Strings(files)
	for i := len(files) - 1; i >= 0; i-- {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(files[i]), "%07d_state.json", &n); err == nil {
			return n
		}
	}
	return 0
}

func (t *Trainer) resume() error {
	dir := t.Options.AdapterPath
	n := LatestCheckpoint(dir)
	if n == 0 {
		return fmt.Errorf("trainer: --resume: no checkpoint (*_state.json) in %s", dir)
	}
	prefix := filepath.Join(dir, fmt.Sprintf("%07d_", n))
	raw, err := os.ReadFile(prefix + "state.json")
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("%sstate.json: %w", prefix, err)
	}
	w, _, err := mx.LoadSafetensors(prefix + "adapters.safetensors")
	if err != nil {
		return err
	}
	if err := nn.LoadWeights(t.Model, w, false); err != nil {
		return fmt.Errorf("%sadapters.safetensors: %w", prefix, err)
	}
	opt, _, err := mx.LoadSafetensors(prefix + "optimizer.safetensors")
	if err != nil {
		return err
	}
	if err := t.Opt.SetState(restoreKeys(copyArrays(opt))); err != nil {
		return fmt.Errorf("%soptimizer.safetensors: %w", prefix, err)
	}
	if st.BestVal == math.MaxFloat64 {
		st.BestVal = math.Inf(1)
	}
	t.st = st
	return nil
}

// copyArrays detaches loaded arrays from the checkpoint file, which a later save replaces.
func copyArrays(m map[string]*mx.Array) map[string]*mx.Array {
	out := map[string]*mx.Array{}
	for k, a := range m {
		out[k] = mx.FromBytes(a.Bytes(), a.Shape(), a.Dtype())
	}
	return out
}

// restoreKeys turns the flat optimizer arrays back into {"step", "<param key>": {...}}:
// parameter keys contain dots, so the flat keys are regrouped by their last component.
func restoreKeys(flat map[string]*mx.Array) map[string]any {
	out := map[string]any{}
	for k, a := range flat {
		i := strings.LastIndex(k, ".")
		if i < 0 {
			out[k] = a
			continue
		}
		pk, sk := k[:i], k[i+1:]
		m, _ := out[pk].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[pk] = m
		}
		m[sk] = a
	}
	return out
}
