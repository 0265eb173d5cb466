// Command pretrain pretrains the walkthrough's small base model and writes the
// fine-tuning dataset. Run from the repository root:
//
//	go run ./mlxgo/lm/pretrain/cmd/pretrain -out notebooks/models/tiny-story -dataset notebooks/data
//
// With -out it generates the corpus, trains (about 4 minutes on two cores), writes a
// Hugging Face model folder and prints a few greedy continuations; with -dataset it
// writes train/valid/test.jsonl. Either flag may be given alone.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/pretrain"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

func main() {
	out := flag.String("out", "", "model folder to write (empty: no pretraining)")
	dataset := flag.String("dataset", "", "folder for train/valid/test.jsonl (empty: no dataset)")
	tokDir := flag.String("tokenizer", "mlxgo/lm/testdata/hf-tiny-llama/model", "folder with the tokenizer files to use and copy")
	corpusOut := flag.String("corpus-out", "", "also write the corpus text to this file")
	corpusBytes := flag.Int("corpus-bytes", 400_000, "corpus size in bytes")
	seed := flag.Uint64("seed", 1, "seed of corpus, dataset, initialisation and batches")
	steps := flag.Int("steps", 1000, "optimizer steps")
	batchSize := flag.Int("batch", 8, "windows per step")
	seqLen := flag.Int("seq", 128, "tokens per window")
	lr := flag.Float64("lr", 3e-3, "peak learning rate")
	warmup := flag.Int("warmup", 50, "warm-up steps")
	every := flag.Int("report", 50, "steps between log lines")
	hidden := flag.Int("hidden", 128, "hidden size")
	layers := flag.Int("layers", 4, "layers")
	inter := flag.Int("intermediate", 352, "SwiGLU width")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the training loop to this file")
	flag.Parse()
	if *out == "" && *dataset == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *dataset != "" {
		if err := pretrain.WriteDataset(*dataset, *seed); err != nil {
			log.Fatal(err)
		}
		tr, va, te := pretrain.Dataset(*seed)
		fmt.Printf("dataset: %d train, %d valid, %d test records in %s\n", len(tr), len(va), len(te), *dataset)
	}
	if *out == "" {
		return
	}
	tok, err := tokenizer.Load(*tokDir)
	if err != nil {
		log.Fatal(err)
	}
	docs := pretrain.Corpus(*seed, *corpusBytes)
	text := pretrain.CorpusText(docs)
	if *corpusOut != "" {
		if err := os.WriteFile(*corpusOut, []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	stream := pretrain.Tokenize(func(s string) []int { return tok.Encode(s, false) }, docs)
	split := len(stream) * 95 / 100
	train, val := stream[:split], stream[split:]
	fmt.Printf("corpus: %d documents, %d bytes, %d tokens (%d train, %d validation)\n", len(docs), len(text), len(stream), len(train), len(val))

	mc := pretrain.DefaultModelConfig()
	mc.Hidden, mc.Layers, mc.Intermediate = *hidden, *layers, *inter
	m, err := pretrain.NewModel(mc, *seed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("model: %d parameters, %d layers, hidden %d; %d CPU threads, matmul by %s\n", nn.CountParams(m.Parameters()), mc.Layers, mc.Hidden, runtime.GOMAXPROCS(0), blas.Backend())
	tc := pretrain.TrainConfig{
		Steps: *steps, BatchSize: *batchSize, SeqLen: *seqLen, LR: *lr, MinLR: *lr / 10, Warmup: *warmup,
		WeightDecay: 0.01, ClipNorm: 1, Seed: *seed, ReportEvery: *every, Log: os.Stdout,
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	res, err := pretrain.Train(m, train, val, tc)
	pprof.StopCPUProfile()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained %d steps (%d tokens) in %s: final loss %.3f, validation loss %.3f\n",
		tc.Steps, res.Tokens, res.Elapsed.Round(time.Second), res.FinalAvg, res.ValLoss)
	if err := pretrain.SaveFolder(m, *out, *tokDir); err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	re, err := lm.Load(*out)
	if err != nil {
		log.Fatal(err)
	}
	mx.Eval(re.Parameters())
	fmt.Printf("saved %s (reload %s)\n", *out, time.Since(t0).Round(time.Millisecond))
	st, _ := os.Stat(filepath.Join(*out, "model.safetensors"))
	if st != nil {
		fmt.Printf("model.safetensors: %d bytes\n", st.Size())
	}
	for _, p := range []string{
		"Once upon a time, there was",
		"The fox",
		"Tom went to the farm with dad. \"What colour is the frog?\" asked Tom. Dad said, \"",
		"Let us count. One,",
		"<|im_start|>user\nTell me a story about a cow.<|im_end|>\n<|im_start|>assistant\n",
		"Q: What colour is the frog?\nA:",
	} {
		ids := pretrain.Greedy(re, tok.Encode(p, false), 80, pretrain.EndOfTextID, pretrain.ImEndID)
		fmt.Printf("--- %q\n%s\n", p, strings.TrimSpace(tok.Decode(ids, false)))
	}
}
