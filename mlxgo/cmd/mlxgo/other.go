package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

func runFuse(args []string) error {
	fs := flag.NewFlagSet("fuse", flag.ContinueOnError)
	model := fs.String("model", "", "base model folder")
	adapters := fs.String("adapter-path", "adapters", "adapter folder (mlx-lm or PEFT)")
	save := fs.String("save-path", "fused_model", "where the fused model goes")
	peft := fs.String("export-peft", "", "also export the adapter in PEFT format to this folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := lm.Load(*model)
	if err != nil {
		return err
	}
	m.Freeze()
	if err := lora.LoadAdapters(m, *adapters); err != nil {
		return err
	}
	if *peft != "" {
		if err := lora.ExportPEFT(m, *peft, *model); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Exported PEFT adapter to %s\n", *peft)
	}
	if err := lora.FuseVerified(m, 1e-3); err != nil {
		return err
	}
	if err := lm.Save(m, *save); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Saved fused model to %s\n", *save)
	return nil
}

func runGenerate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	model := fs.String("model", "", "model folder")
	adapters := fs.String("adapter-path", "", "optional adapter folder")
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := lm.Load(*model)
	if err != nil {
		return err
	}
	if *adapters != "" {
		m.Freeze()
		if err := lora.LoadAdapters(m, *adapters); err != nil {
			return err
		}
	}
	tok, err := tokenizer.Load(*model)
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
