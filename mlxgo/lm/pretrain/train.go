// Package pretrain makes the small base model of mlxgo's walkthrough from scratch: a
// deterministic generator of simple English text about a tiny world (animals, colours,
// numbers), a next-token pretraining loop for a Llama-architecture [lm.Model], and the
// generator of the question-answering dataset the walkthrough fine-tunes it on.
//
// The command in cmd/pretrain runs it end to end and writes a Hugging Face model folder.
package pretrain

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
)

// Special token ids of the fixture tokenizer (byte-level BPE, 512 ids).
const (
	EndOfTextID = 0 // <|endoftext|>: document separator, bos and eos of the model
	ImStartID   = 1 // <|im_start|>
	ImEndID     = 2 // <|im_end|>: end of a chat turn
)

// ModelConfig is the shape of the model to pretrain.
type ModelConfig struct {
	Vocab        int
	Hidden       int
	Layers       int
	Heads        int
	KVHeads      int
	HeadDim      int
	Intermediate int
	MaxPositions int
	TieEmbedding bool
}

// DefaultModelConfig is the walkthrough's model: 4 layers, hidden 128, 4 heads of 32
// with 2 key-value heads, SwiGLU width 352, untied head; about 0.87M parameters.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Vocab: 512, Hidden: 128, Layers: 4, Heads: 4, KVHeads: 2, HeadDim: 32, Intermediate: 352, MaxPositions: 512}
}

// JSON returns the config.json content of a Llama model of this shape, with
// <|endoftext|> as bos and eos token.
func (c ModelConfig) JSON() []byte {
	cfg := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"vocab_size":              c.Vocab,
		"hidden_size":             c.Hidden,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"intermediate_size":       c.Intermediate,
		"max_position_embeddings": c.MaxPositions,
		"hidden_act":              "silu",
		"rms_norm_eps":            1e-5,
		"rope_theta":              10000.0,
		"attention_bias":          false,
		"mlp_bias":                false,
		"tie_word_embeddings":     c.TieEmbedding,
		"bos_token_id":            EndOfTextID,
		"eos_token_id":            EndOfTextID,
		"torch_dtype":             "float32",
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err)
	}
	return data
}

// NewModel returns a freshly initialised model of shape c, its weights drawn from
// mx's random generator seeded with seed.
func NewModel(c ModelConfig, seed uint64) (*lm.Model, error) {
	cfg, err := lm.ParseConfig(c.JSON(), "config.json")
	if err != nil {
		return nil, err
	}
	mx.Seed(seed)
	m := lm.New(cfg)
	mx.Eval(m.Parameters())
	return m, nil
}

// TrainConfig sets up a pretraining run.
type TrainConfig struct {
	Steps       int     // optimizer steps
	BatchSize   int     // windows per step
	SeqLen      int     // tokens per window (the model sees SeqLen, predicts SeqLen)
	LR          float64 // peak learning rate
	MinLR       float64 // learning rate at the end of the cosine decay
	Warmup      int     // linear warm-up steps from 0 to LR
	WeightDecay float64 // AdamW's decoupled weight decay
	ClipNorm    float64 // gradient norm clip; 0 turns it off
	Seed        uint64  // window sampling
	ReportEvery int     // steps between log lines; 0: never
	Log         io.Writer
}

// Result summarises a run.
type Result struct {
	Losses   []float64     // training loss of every step
	FinalAvg float64       // mean training loss over the last ReportEvery (or 20) steps
	ValLoss  float64       // loss on the held-out tokens after training (NaN without any)
	Tokens   int           // tokens trained on (Steps × BatchSize × SeqLen)
	Elapsed  time.Duration // wall time of the loop
}

// Loss is the mean next-token cross-entropy of windows (B, T+1): the model reads the
// first T tokens and is scored on the last T.
func Loss(m *lm.Model, windows *mx.Array) *mx.Array {
	T := windows.Dim(1) - 1
	logits := m.Forward(mx.SliceAxis(windows, 1, 0, T), nil)
	return nn.CrossEntropy(logits, mx.SliceAxis(windows, 1, 1, T+1), nil, nn.ReduceMean)
}

// Tokenize encodes every document and joins them with <|endoftext|> (one after each
// document), the packed stream pretraining samples windows from.
func Tokenize(encode func(string) []int, docs []string) []int32 {
	var out []int32
	for _, d := range docs {
		for _, id := range encode(d) {
			out = append(out, int32(id))
		}
		out = append(out, EndOfTextID)
	}
	return out
}

// sampler draws training windows of t+1 tokens from a packed stream. Half the windows
// start at a document's first token, the other half at any offset, so the model sees
// every story from its beginning as a prompt does, and also the ends of long ones.
type sampler struct {
	r      *rng
	stream []int32
	starts []int // offsets of document starts with a full window after them
	t      int
}

func newSampler(seed uint64, stream []int32, t int) *sampler {
	s := &sampler{r: newRNG(seed), stream: stream, t: t}
	for i := range stream {
		if (i == 0 || stream[i-1] == EndOfTextID) && i+t+1 <= len(stream) {
			s.starts = append(s.starts, i)
		}
	}
	return s
}

// batch returns n windows as an int32 array (n, t+1).
func (s *sampler) batch(n int) *mx.Array {
	buf := make([]int32, 0, n*(s.t+1))
	for i := 0; i < n; i++ {
		var o int
		if i%2 == 0 && len(s.starts) > 0 {
			o = pick(s.r, s.starts)
		} else {
			o = s.r.intn(len(s.stream) - s.t)
		}
		buf = append(buf, s.stream[o:o+s.t+1]...)
	}
	return mx.FromSlice(buf, n, s.t+1)
}

// Evaluate returns the mean loss over consecutive windows of stream (up to maxWindows).
func Evaluate(m *lm.Model, stream []int32, seqLen, batchSize, maxWindows int) float64 {
	var sum float64
	var count int
	for o := 0; o+seqLen+1 <= len(stream) && count < maxWindows; {
		var buf []int32
		n := 0
		for ; n < batchSize && o+seqLen+1 <= len(stream) && count+n < maxWindows; n++ {
			buf = append(buf, stream[o:o+seqLen+1]...)
			o += seqLen
		}
		l := Loss(m, mx.FromSlice(buf, n, seqLen+1))
		sum += l.Item() * float64(n)
		count += n
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// Schedule is the run's learning rate: linear warm-up from 0 to LR over Warmup steps,
// then a cosine decay to MinLR over the remaining steps.
func (c TrainConfig) Schedule() optim.Schedule {
	warm := max(c.Warmup, 1)
	return optim.JoinSchedules([]optim.Schedule{
		optim.LinearSchedule(0, c.LR, warm),
		optim.CosineDecay(c.LR, max(c.Steps-warm, 1), c.MinLR),
	}, []int{warm})
}

// Train pretrains m on windows drawn from train with AdamW and returns the losses; when
// val is not empty, it also reports the loss on it at the end.
func Train(m *lm.Model, train, val []int32, c TrainConfig) (Result, error) {
	if len(train) <= c.SeqLen+1 {
		return Result{}, fmt.Errorf("pretrain: %d training tokens, need more than a window of %d", len(train), c.SeqLen+1)
	}
	log := c.Log
	if log == nil {
		log = io.Discard
	}
	opt := optim.NewAdamW(c.Schedule(), optim.AdamConfig{Betas: [2]float64{0.9, 0.95}, WeightDecay: c.WeightDecay, BiasCorrection: true})
	step := nn.ValueAndGrad(m, Loss)
	smp := newSampler(c.Seed, train, c.SeqLen)
	res := Result{Tokens: c.Steps * c.BatchSize * c.SeqLen}
	start := time.Now()
	var window float64
	every := c.ReportEvery
	for i := 0; i < c.Steps; i++ {
		lr := opt.LearningRate()
		loss, grads := step(m, smp.batch(c.BatchSize))
		if c.ClipNorm > 0 {
			grads, _ = optim.ClipGradNorm(grads, c.ClipNorm)
		}
		opt.Update(m, grads)
		mx.Eval(loss, m.Parameters(), opt.State())
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return res, fmt.Errorf("pretrain: loss is %v at step %d", l, i+1)
		}
		res.Losses = append(res.Losses, l)
		window += l
		if every > 0 && ((i+1)%every == 0 || i+1 == c.Steps) {
			n := (i + 1) % every
			if n == 0 {
				n = every
			}
			el := time.Since(start)
			fmt.Fprintf(log, "step %5d  loss %.3f  lr %.2e  %5.0f tok/s  %s\n", i+1, window/float64(n), lr,
				float64((i+1)*c.BatchSize*c.SeqLen)/el.Seconds(), el.Round(time.Second))
			window = 0
		}
	}
	res.Elapsed = time.Since(start)
	k := every
	if k <= 0 {
		k = 20
	}
	k = min(k, len(res.Losses))
	for _, l := range res.Losses[len(res.Losses)-k:] {
		res.FinalAvg += l / float64(k)
	}
	res.ValLoss = math.NaN()
	if len(val) > c.SeqLen+1 {
		res.ValLoss = Evaluate(m, val, c.SeqLen, c.BatchSize, 64)
		fmt.Fprintf(log, "validation loss %.3f\n", res.ValLoss)
	}
	return res, nil
}

// Greedy extends ids by up to maxNew tokens, each the most likely next token given the
// whole prefix (no KV cache), stopping after any token of stop.
func Greedy(m *lm.Model, ids []int, maxNew int, stop ...int) []int {
	out := append([]int(nil), ids...)
	for i := 0; i < maxNew; i++ {
		buf := make([]int32, len(out))
		for j, id := range out {
			buf[j] = int32(id)
		}
		logits := m.Forward(mx.FromSlice(buf, 1, len(buf)), nil)
		last := mx.SliceAxis(logits, 1, len(buf)-1, len(buf))
		next := int(mx.ArgMax(last, -1, false).Item())
		out = append(out, next)
		for _, s := range stop {
			if next == s {
				return out
			}
		}
	}
	return out
}

// SaveFolder writes m as a Hugging Face folder in dir: config.json and
// model.safetensors (lm.Save), the tokenizer files copied from tokenizerDir
// (tokenizer.json, tokenizer_config.json, chat_template.jinja) and a
// generation_config.json whose eos ids are <|endoftext|> and <|im_end|>.
func SaveFolder(m *lm.Model, dir, tokenizerDir string) error {
	m.Dir = ""
	if err := lm.Save(m, dir); err != nil {
		return err
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"} {
		data, err := os.ReadFile(filepath.Join(tokenizerDir, f))
		if err != nil {
			return fmt.Errorf("pretrain: tokenizer files: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return err
		}
	}
	gen, _ := json.MarshalIndent(map[string]any{
		"bos_token_id": EndOfTextID,
		"eos_token_id": []int{EndOfTextID, ImEndID},
	}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "generation_config.json"), append(gen, '\n'), 0o644)
}
