package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/gguf"
	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

func runFuse(args []string) error {
	fs := flag.NewFlagSet("fuse", flag.ContinueOnError)
	model := fs.String("model", "", "base model folder or Hub id org/name[@revision]")
	adapters := fs.String("adapter-path", "adapters", "adapter folder (mlx-lm or PEFT) or Hub id")
	save := fs.String("save-path", "fused_model", "where the fused model goes")
	peft := fs.String("export-peft", "", "also export the adapter in PEFT format to this folder")
	dtype := dtypeFlag(fs, "dtype of the saved weights")
	deq := fs.Bool("dequantize", false, "write a float model from a quantized base (by default fused layers are re-quantized to their base's widths, as mlx-lm does)")
	fs.BoolVar(deq, "de-quantize", false, "same as --dequantize (the flag's earlier mlx-lm name)")
	exportGGUF := fs.Bool("export-gguf", false, "also export the fused model as GGUF for llama.cpp and Ollama")
	ggufPath := fs.String("gguf-path", gguf.DefaultFile, "GGUF file name, relative to --save-path unless absolute")
	ggufType := fs.String("gguf-type", "f16", "GGUF weight type: f32, f16, bf16 or q8_0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	typ, err := gguf.ParseType(*ggufType)
	if err != nil {
		return fmt.Errorf("--gguf-type: %w", err)
	}
	m, err := lm.Load(*model)
	if err != nil {
		return err
	}
	m.Freeze()
	adapterDir, err := hub.Resolve(*adapters)
	if err != nil {
		return err
	}
	if err := lora.LoadAdapters(m, adapterDir); err != nil {
		return err
	}
	// Nothing is written until the fused model is verified: the PEFT export is prepared
	// in memory first (fusing removes the adapter layers it reads).
	var export *lora.PEFTExport
	if *peft != "" {
		base := *model // a Hub id as given, or a cache snapshot named by its id
		if id, ok := hub.RepoOf(*model); ok {
			base = id
		}
		if export, err = lora.NewPEFTExport(m, base); err != nil {
			return err
		}
	}
	if *dtype != "" {
		// The base weights take the new dtype before fusing (the adapter factors stay
		// float32), so the verification checks the model as it will be written.
		dt, err := lm.ParseDtype(*dtype)
		if err != nil {
			return err
		}
		adapter := lora.AdapterWeights(m)
		if err := lm.CastParameters(m, func(path string, cur mx.Dtype) mx.Dtype {
			if _, ok := adapter[path]; ok {
				return cur
			}
			return dt
		}); err != nil {
			return err
		}
	}
	bases := quantizedBases(m)
	if err := lora.FuseVerified(m, 1e-3); err != nil {
		return err
	}
	if *deq {
		if err := dequantizeVerified(m, 1e-3); err != nil {
			return err
		}
	} else if err := requantize(m, bases); err != nil {
		return err
	}
	if *dtype != "" {
		dt, _ := lm.ParseDtype(*dtype)
		if err := lm.SetDtype(m, dt); err != nil { // records it in config.json
			return err
		}
	}
	if err := lm.Save(m, *save); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Saved fused model to %s\n", *save)
	if export != nil {
		if err := export.Write(*peft); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Exported PEFT adapter to %s\n", *peft)
	}
	if !*exportGGUF {
		return nil
	}
	modelDir, err := hub.Resolve(*model)
	if err != nil {
		return err
	}
	path := *ggufPath
	if !filepath.IsAbs(path) {
		path = filepath.Join(*save, path)
	}
	if err := gguf.Export(m, path, gguf.Options{Type: typ, TokenizerDir: modelDir}); err != nil {
		return err
	}
	mf, err := gguf.WriteModelfile(path, modelDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Exported GGUF (%s) to %s\nOllama Modelfile: %s\n", typ, path, mf)
	return nil
}

func runGenerate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	model := fs.String("model", "", "model folder or Hub id org/name[@revision]")
	adapters := fs.String("adapter-path", "", "optional adapter folder or Hub id")
	prompt := fs.String("prompt", "", "prompt text")
	maxTokens := fs.Int("max-tokens", 100, "tokens to generate")
	temp := fs.Float64("temp", 0, "sampling temperature (0: greedy)")
	topP := fs.Float64("top-p", 1, "nucleus sampling")
	topK := fs.Int("top-k", 0, "top-k sampling (0: off)")
	minP := fs.Float64("min-p", 0, "min-p sampling")
	rep := fs.Float64("repetition-penalty", 0, "repetition penalty (0/1: off)")
	seed := fs.Uint64("seed", 0, "random seed")
	ignoreEOS := fs.Bool("ignore-eos", false, "do not stop at end-of-sequence tokens")
	noChat := fs.Bool("no-chat-template", false, "use the prompt as is")
	dtype := computeDtypeFlag(fs, "compute dtype of the weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, tok, err := loadForInference(*model, *adapters, *dtype)
	if err != nil {
		return err
	}
	text := *prompt
	if !*noChat && tok.HasChatTemplate() {
		text, err = tok.ApplyChatTemplate([]tokenizer.Message{{"role": "user", "content": *prompt}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			return err
		}
	}
	opts := generate.Options{MaxTokens: *maxTokens, Temp: *temp, TopP: *topP, TopK: *topK, MinP: *minP,
		RepetitionPenalty: *rep, Seed: *seed, IgnoreEOS: *ignoreEOS}
	_, st := generate.Text(m, tok, text, opts, func(s string) { fmt.Print(s) })
	fmt.Println()
	fmt.Fprintf(os.Stderr, "Prompt: %d tokens, %.3f tokens-per-sec\nGeneration: %d tokens, %.3f tokens-per-sec\nPeak memory: %.3f GB\n",
		st.PromptTokens, st.PromptTPS, st.GeneratedTokens, st.GenerationTPS, float64(st.PeakMemory)/1e9)
	return nil
}

func runTokenize(args []string) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	model := fs.String("model", "", "model or tokenizer folder")
	text := fs.String("text", "", "text to tokenize")
	file := fs.String("file", "", "file to tokenize")
	chat := fs.Bool("chat", false, "treat the text as a user message and apply the chat template")
	noSpecial := fs.Bool("no-special", false, "do not add special tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// An empty --text is valid input (Hugging Face gives [bos] or []): look at which
	// flags were given, not at their values.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["text"] == given["file"] {
		return fmt.Errorf("give exactly one of --text and --file")
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		*text = string(b)
	}
	tok, err := tokenizer.Load(filepath.Clean(*model))
	if err != nil {
		return err
	}
	out, err := tokenizer.CLIJSON(tok, *text, *chat, !*noSpecial)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// loadForInference loads a model (folder or Hub id) in the given compute dtype ("" for
// lm.DefaultComputeDtype), its tokenizer and, when adapters is not empty, an adapter (folder or Hub id).
func loadForInference(model, adapters, dtype string) (*lm.Model, *tokenizer.Tokenizer, error) {
	dir, err := hub.Resolve(model)
	if err != nil {
		return nil, nil, err
	}
	m, err := lm.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := applyComputeDtype(m, dtype); err != nil {
		return nil, nil, err
	}
	if adapters != "" {
		m.Freeze()
		adapterDir, err := hub.Resolve(adapters)
		if err != nil {
			return nil, nil, err
		}
		if err := lora.LoadAdapters(m, adapterDir); err != nil {
			return nil, nil, err
		}
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}

// dequantizeVerified replaces the model's quantized layers with float ones and checks on
// a fixed probe that the logits moved by at most tol (the float weights are exactly what
// the codes represent, so only float32 rounding may separate them).
func dequantizeVerified(m *lm.Model, tol float64) error {
	if m.Config.Quantization == nil {
		return fmt.Errorf("--dequantize: the base model is not quantized")
	}
	probe := probeIDs(m)
	ref := m.Forward(probe, nil)
	mx.Eval(ref)
	if err := lm.Dequantize(m); err != nil {
		return err
	}
	if d := mx.Max(mx.Abs(mx.Subtract(m.Forward(probe, nil), ref)), nil, false).Item(); !(d <= tol) {
		return fmt.Errorf("fuse: de-quantized logits differ from the quantized model's by %g (tolerance %g); not saving", d, tol)
	}
	return nil
}

// quantizedBases returns the quantized base layer of each adapter, by module path.
func quantizedBases(m *lm.Model) map[string]*nn.QuantizedLinear {
	out := map[string]*nn.QuantizedLinear{}
	for path, l := range lora.Layers(m) {
		if q, ok := l.Linear.(*nn.QuantizedLinear); ok {
			out[path] = q
		}
	}
	return out
}

// requantize quantizes each fused layer whose base was quantized again, with the base's
// group size and bits and in the dtype of its scales, as mlx-lm's fuse does without
// --dequantize, so the fused checkpoint keeps the base's size. The logits then differ
// from the adapter's by the quantization of W + ΔW; they must stay finite.
func requantize(m *lm.Model, bases map[string]*nn.QuantizedLinear) error {
	if len(bases) == 0 {
		return nil
	}
	replace := map[string]any{}
	for _, nm := range nn.NamedModules(m) {
		q, ok := bases[nm.Name]
		l, fused := nm.Module.(*nn.Linear)
		if !ok || !fused {
			continue
		}
		f := &nn.Linear{Weight: mx.AsType(l.Weight, q.Scales.Dtype()), Bias: l.Bias}
		replace[nm.Name] = nn.QuantizeLinear(f, q.GroupSize, q.Bits)
	}
	if err := nn.UpdateModules(m, replace); err != nil {
		return err
	}
	logits := m.Forward(probeIDs(m), nil)
	if s := mx.Sum(logits, nil, false).Item(); math.IsNaN(s) || math.IsInf(s, 0) {
		return fmt.Errorf("fuse: the re-quantized fused model gives non-finite logits; not saving (try --dequantize)")
	}
	return nil
}

// probeIDs is a fixed sequence of up to 16 token ids (lora.FuseVerified's probe).
func probeIDs(m *lm.Model) *mx.Array {
	n := min(16, m.Config.VocabSize)
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((i*7 + 1) % m.Config.VocabSize)
	}
	return mx.FromSlice(ids, 1, n)
}
