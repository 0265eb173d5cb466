package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

// benchPresets are the shapes of ../shared/peers/torch_lora_bench.py.
var benchPresets = map[string]string{
	"smollm135": `{"model_type":"llama","vocab_size":49152,"hidden_size":576,"num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,"intermediate_size":1536,"rms_norm_eps":1e-5}`,
	"tiny":      `{"model_type":"llama","vocab_size":512,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":176,"rms_norm_eps":1e-5}`,
}

// runBench times LoRA training steps on a randomly initialised model of a preset shape (or
// on a checkpoint, --model), the same work as the PyTorch peer: LoRA rank r on q and v of every block, AdamW,
// cross-entropy over the whole sequence. It prints one JSON line.
func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	preset := fs.String("preset", "smollm135", "model shape: smollm135 or tiny")
	model := fs.String("model", "", "a model folder or Hub id to load and train instead of a preset's random weights (its config and stored dtypes; --preset and --stored do not apply)")
	batch := fs.Int("batch", 4, "batch size")
	seq := fs.Int("seq", 128, "sequence length")
	steps := fs.Int("steps", 6, "timed steps (after the --warmup steps)")
	rank := fs.Int("rank", 8, "LoRA rank")
	ckpt := fs.Bool("grad-checkpoint", false, "gradient checkpointing")
	warmup := fs.Int("warmup", 2, "untimed steps before the timed ones")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps")
	compile := fs.Bool("compile", trainer.Defaults().Compile, "compile the loss and gradient (mx.Compile), as training does")
	dtype := fs.String("dtype", "", "dtype the base weights compute in (float32, bfloat16 or float16; default: as lora does, float32 on the CPU backend, else as stored); the LoRA factors stay float32")
	stored := fs.String("stored", "float32", "dtype the random base weights are stored in, as in a checkpoint (float32, bfloat16 or float16), before --dtype applies")
	groupsFlag := fs.Int("groups", trainer.Defaults().Groups, "groups of the batch's rows computed side by side, as lora's --groups (0: chosen by the cores, 1: off)")
	prims := fs.Bool("profile", false, "after the timed steps, print a per-primitive profile of one step to stderr (time, bytes, FLOPs, GEMM shapes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *groupsFlag < 0 {
		return fmt.Errorf("bench: --groups %d: want 0 (chosen by the cores), 1 (off) or more", *groupsFlag)
	}
	if *steps < 1 || *warmup < 0 {
		return fmt.Errorf("bench: --steps must be at least 1 and --warmup at least 0, got %d and %d", *steps, *warmup)
	}
	m, err := benchModel(fs, *model, *preset, *stored)
	if err != nil {
		return err
	}
	cfg := m.Config
	if err := applyComputeDtype(m, *dtype); err != nil {
		return fmt.Errorf("bench: --dtype: %w", err)
	}
	mx.Eval(m.Parameters())
	m.Freeze()
	if _, err := lora.Apply(m, lora.Config{NumLayers: -1, Rank: *rank, Scale: 2, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}}); err != nil {
		return err
	}
	m.GradCheckpoint = *ckpt
	groups := trainer.StepGroups(*groupsFlag, *batch)
	if groups > 1 {
		defer mx.SetStreams(mx.SetStreams(groups))
	}
	// The trainer's loss (GroupedLoss) on a batch of random tokens, every target counted.
	loss := func(m *lm.Model, ids *mx.Array) *mx.Array {
		b := data.Batch{Inputs: mx.SliceAxis(ids, 1, 0, *seq), Targets: mx.SliceAxis(ids, 1, 1, *seq+1),
			Mask: mx.Ones([]int{*batch, *seq}, mx.Float32)}
		return trainer.GroupedLoss(groups)(m, b)
	}
	step := nn.ValueAndGrad(m, loss)
	if *compile {
		step = trainer.CompiledValueAndGrad(m, loss)
	}
	opt := optim.NewAdamW(optim.Constant(1e-4), optim.AdamConfig{WeightDecay: 0.01, BiasCorrection: true})
	gflops := machineGFLOPS()
	var cpuProf *os.File
	var times []float64
	mlxExec, onMLX := mx.CurrentBackend().Backend.(*mlx.Executor)
	var before mlx.Stats
	var missesBefore, missBytesBefore int64
	for i := 0; i < *steps+*warmup; i++ {
		ids := mx.RandInt(0, cfg.VocabSize, []int{*batch, *seq + 1}, mx.Key(uint64(i)))
		mx.Eval(ids)
		if i == *warmup && *profile != "" {
			if cpuProf, err = os.Create(*profile); err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(cpuProf); err != nil {
				return fmt.Errorf("%s: %v", *profile, err)
			}
		}
		if i == *warmup {
			missesBefore, missBytesBefore = cpu.Pool{}.Misses()
		}
		if i == *warmup && onMLX {
			before = mlxExec.Stats()
		}
		t0 := time.Now()
		l, g := step(m, ids)
		opt.Update(m, g)
		mx.Eval(l, m.Parameters(), opt.State())
		if i >= *warmup {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	if cpuProf != nil {
		pprof.StopCPUProfile()
		if err := cpuProf.Close(); err != nil {
			return err
		}
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	flops := stepFLOPs(cfg, *batch, *seq, *rank)
	if *prims {
		ids := mx.RandInt(0, cfg.VocabSize, []int{*batch, *seq + 1}, mx.Key(uint64(*steps+*warmup)))
		mx.Eval(ids)
		profileStep(os.Stderr, flops, func() {
			l, g := step(m, ids)
			opt.Update(m, g)
			mx.Eval(l, m.Parameters(), opt.State())
		})
	}
	misses, missBytes := cpu.Pool{}.Misses()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	res := map[string]any{
		"impl": "mlxgo", "backend": mx.CurrentBackend().String(), "blas": blas.Backend(), "preset": *preset, "model": *model,
		"batch": *batch, "seq": *seq, "dtype": lm.StoredDtype(m).String(), "stored": *stored, "trainable": lora.TrainableCount(m), "step_s_median": med,
		"tokens_per_s": float64(*batch**seq) / med, "peak_rss_mib": float64(ru.Maxrss) / 1024,
		"grad_checkpoint": *ckpt, "compile": *compile, "groups": groups,
		"step_gflop": flops / 1e9, "machine_gflops": gflops, "mfu": flops / med / (gflops * 1e9),
		"threads": runtime.GOMAXPROCS(0), "blas_threads": blas.Threads(),
		"peak_active_mib": float64(mx.PeakMemory()) / (1 << 20), "cache_mib": float64(mx.CacheMemory()) / (1 << 20),
		"go_heap_sys_mib": float64(ms.HeapSys) / (1 << 20), "go_heap_released_mib": float64(ms.HeapReleased) / (1 << 20), "pool_misses_per_step": (misses - missesBefore) / int64(*steps), "pool_miss_mib_per_step": float64(missBytes-missBytesBefore) / float64(*steps) / (1 << 20),
	}
	if onMLX {
		// Traffic between Go and MLX per timed step (the batch's token ids go in).
		d := mlxExec.Stats().Sub(before)
		res["mlx"] = mlxExec.String()
		res["bytes_to_mlx_per_step"] = d.ToMLX / int64(*steps)
		res["bytes_to_host_per_step"] = d.ToHost / int64(*steps)
		res["cpu_fallbacks_per_step"] = d.Fallbacks / int64(*steps)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

// benchModel returns the model bench trains: the checkpoint model names (loaded as lora
// loads it), or a randomly initialised one of the preset's shape stored in dtype stored.
func benchModel(fs *flag.FlagSet, model, preset, stored string) (*lm.Model, error) {
	if model != "" {
		var clash []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "preset" || f.Name == "stored" {
				clash = append(clash, "--"+f.Name)
			}
		})
		if len(clash) > 0 {
			return nil, fmt.Errorf("bench: --model takes the checkpoint's shape and dtypes: %s does not apply", strings.Join(clash, " and "))
		}
		m, err := lm.Load(model)
		if err != nil {
			return nil, fmt.Errorf("bench: --model: %w", err)
		}
		return m, nil
	}
	js, ok := benchPresets[preset]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q (smollm135, tiny)", preset)
	}
	cfg, err := lm.ParseConfig([]byte(js), "preset "+preset)
	if err != nil {
		return nil, err
	}
	mx.Seed(0)
	m := lm.New(cfg)
	if err := applyDtype(m, stored); err != nil {
		return nil, fmt.Errorf("bench: --stored: %w", err)
	}
	return m, nil
}
