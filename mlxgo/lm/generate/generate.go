// Package generate decodes text from a language model, as mlx_lm.generate does: greedy
// or sampled (temperature, top-k, top-p, min-p, repetition penalty, seed), with a KV
// cache so the prompt is processed once, streaming text through a detokenizer that
// never splits a character, and stopping at the model's end-of-sequence tokens.
package generate

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Options control decoding. The zero value is greedy decoding of up to 256 tokens.
type Options struct {
	MaxTokens         int
	Temp              float64 // 0: greedy
	TopP              float64 // 0 or 1: off
	TopK              int     // 0: off
	MinP              float64 // 0: off
	RepetitionPenalty float64 // 0 or 1: off
	RepetitionContext int     // tokens looked back for the penalty (default 20)
	Seed              uint64
	IgnoreEOS         bool
	NoCache           bool  // recompute the whole prefix every step (for testing)
	EOS               []int // stop tokens; default: the tokenizer's and model's
}

// Stats are the figures of a generation.
type Stats struct {
	PromptTokens, GeneratedTokens int
	PromptTPS, GenerationTPS      float64
	PeakMemory                    int64
}

// Tokens generates up to opts.MaxTokens ids after prompt. onToken, if not nil, is called
// with each new id and may return false to stop.
func Tokens(model *lm.Model, prompt []int, opts Options, onToken func(id int) bool) ([]int, Stats) {
	if opts.MaxTokens == 0 {
		opts.MaxTokens = 256
	}
	if opts.RepetitionContext == 0 {
		opts.RepetitionContext = 20
	}
	stop := map[int]bool{}
	for _, e := range opts.EOS {
		stop[e] = true
	}
	// Decode in evaluation mode (no dropout), restoring the caller's mode afterwards.
	if model.Training() {
		model.Eval()
		defer model.Train()
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6d6c78676f))
	var st Stats
	st.PromptTokens = len(prompt)
	mx.ResetPeakMemory()
	var cache *lm.Cache
	if !opts.NoCache {
		cache = model.NewCache()
	}
	seq := append([]int(nil), prompt...)
	var out []int
	t0 := time.Now()
	input := prompt
	for len(out) < opts.MaxTokens {
		if cache == nil {
			input = seq
		}
		ids := make([]int32, len(input))
		for i, v := range input {
			ids[i] = int32(v)
		}
		logits := model.Forward(mx.FromSlice(ids, 1, len(ids)), cache)
		last := mx.Reshape(mx.SliceAxis(logits, 1, len(ids)-1, len(ids)), -1)
		var evalArgs []any
		evalArgs = append(evalArgs, last)
		if cache != nil {
			evalArgs = append(evalArgs, cache.Arrays())
		}
		mx.Eval(evalArgs...)
		if len(out) == 0 {
			el := time.Since(t0).Seconds()
			st.PromptTPS = float64(len(prompt)) / el
			t0 = time.Now()
		}
		next := Sample(last.Float32s(), seq, opts, rng)
		out = append(out, next)
		seq = append(seq, next)
		input = []int{next}
		if onToken != nil && !onToken(next) {
			break
		}
		if stop[next] && !opts.IgnoreEOS {
			break
		}
	}
	st.GeneratedTokens = len(out)
	if el := time.Since(t0).Seconds(); el > 0 && len(out) > 1 {
		st.GenerationTPS = float64(len(out)-1) / el
	}
	st.PeakMemory = mx.PeakMemory()
	return out, st
}

// Text generates a completion of prompt (already formatted, e.g. by a chat template),
// streaming decoded text to onText when it is not nil, and returns the text.
func Text(model *lm.Model, tok *tokenizer.Tokenizer, prompt string, opts Options, onText func(string)) (string, Stats) {
	ids := tok.Encode(prompt, true)
	if opts.EOS == nil {
		opts.EOS = EOSIDs(model, tok)
	}
	dec := tokenizer.NewStreamDecoder(tok, true)
	text := ""
	gen, st := Tokens(model, ids, opts, func(id int) bool {
		if !opts.IgnoreEOS && slices.Contains(opts.EOS, id) {
			return true
		}
		s := dec.Add(id)
		text += s
		if onText != nil && s != "" {
			onText(s)
		}
		return true
	})
	_ = gen
	s := dec.Flush()
	text += s
	if onText != nil && s != "" {
		onText(s)
	}
	return text, st
}

// EOSIDs merges the end-of-sequence ids of the tokenizer and the model config.
func EOSIDs(model *lm.Model, tok *tokenizer.Tokenizer) []int {
	seen := map[int]bool{}
	var out []int
	for _, id := range append(tok.EOSIDs(), model.Config.EOSIDs()...) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Sample picks the next token from logits: argmax when opts.Temp is 0, otherwise a draw
// after repetition penalty, temperature, top-k, min-p and top-p filtering.
func Sample(logits []float32, history []int, opts Options, rng *rand.Rand) int {
	l := append([]float32(nil), logits...)
	if p := opts.RepetitionPenalty; p != 0 && p != 1 {
		ctx := opts.RepetitionContext
		if ctx == 0 {
			ctx = 20
		}
		start := max(0, len(history)-ctx)
		for _, id := range history[start:] {
			if l[id] > 0 {
				l[id] /= float32(p)
			} else {
				l[id] *= float32(p)
			}
		}
	}
	if opts.Temp == 0 {
		best := 0
		for i, v := range l {
			if v > l[best] {
				best = i
			}
		}
		return best
	}
	type cand struct {
		id int
		p  float64
	}
	cs := make([]cand, len(l))
	mxl := math.Inf(-1)
	for _, v := range l {
		mxl = math.Max(mxl, float64(v))
	}
	var z float64
	for i, v := range l {
		e := math.Exp((float64(v) - mxl) / opts.Temp)
		cs[i] = cand{i, e}
		z += e
	}
	for i := range cs {
		cs[i].p /= z
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].p > cs[j].p })
	n := len(cs)
	if opts.TopK > 0 && opts.TopK < n {
		n = opts.TopK
	}
	if opts.MinP > 0 {
		thr := opts.MinP * cs[0].p
		for n > 1 && cs[n-1].p < thr {
			n--
		}
	}
	if opts.TopP > 0 && opts.TopP < 1 {
		acc := 0.0
		for i := 0; i < n; i++ {
			acc += cs[i].p
			if acc >= opts.TopP {
				n = i + 1
				break
			}
		}
	}
	var tot float64
	for _, c := range cs[:n] {
		tot += c.p
	}
	r := rng.Float64() * tot
	for _, c := range cs[:n] {
		r -= c.p
		if r <= 0 {
			return c.id
		}
	}
	return cs[n-1].id
}
