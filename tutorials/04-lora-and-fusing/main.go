// Command 04-lora-and-fusing runs the code of the guide in README.md: LoRA on the tiny
// Llama fixture of this repository — Freeze, lora.Apply, a few training steps, adapters
// saved in mlx-lm's and PEFT's formats, and fusing with the logits checked.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/lora"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	"github.com/mlxgo/mlxgo/mlxgo/lm/trainer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// fixture is the tiny Llama (2 layers, hidden size 64, vocabulary 512) used by the lm
// tests, relative to the repository root.
const fixture = "mlxgo/lm/testdata/hf-tiny-llama/model"

// pairs is the whole training set: reverse two words.
var pairs = [][2]string{
	{"Reverse: alpha beta\nAnswer:", " beta alpha"},
	{"Reverse: gamma delta\nAnswer:", " delta gamma"},
	{"Reverse: mu nu\nAnswer:", " nu mu"},
	{"Reverse: kappa lambda\nAnswer:", " lambda kappa"},
}

func main() {
	root, err := repoRoot()
	must(err)
	dir := filepath.Join(root, fixture)
	out, err := os.MkdirTemp("", "mlxgo-tutorial-04-")
	must(err)
	defer os.RemoveAll(out)

	// 1. Load the base model and its tokenizer.
	model, err := lm.Load(dir)
	must(err)
	tok, err := tokenizer.Load(dir)
	must(err)
	total := nn.CountParams(model.Parameters())
	fmt.Printf("%s: %d layers, hidden %d, vocab %d, %d parameters\n", model.Config.ModelType,
		model.Config.NumHiddenLayers, model.Config.HiddenSize, model.Config.VocabSize, total)
	ids := tok.Encode(pairs[0][0], true)
	probe := mx.FromSlice(ids, 1, len(ids))
	base := model.Forward(probe, nil)
	mx.Eval(base)

	// 2. Freeze everything, then add LoRA to q_proj and v_proj of both blocks.
	model.Freeze()
	fmt.Println("trainable after Freeze:", nn.CountParams(model.TrainableParameters()))
	mx.Seed(0) // A is drawn at random
	cfg := lora.Config{NumLayers: 2, Rank: 4, Scale: 20, Keys: []string{"self_attn.q_proj", "self_attn.v_proj"}}
	paths, err := lora.Apply(model, cfg)
	must(err)
	for _, p := range paths {
		l := lora.Layers(model)[p]
		fmt.Printf("  %-32s A %v + B %v = %d\n", p, l.LoraA.Shape(), l.LoraB.Shape(), l.LoraA.Size()+l.LoraB.Size())
	}
	trainable := nn.CountParams(model.TrainableParameters())
	fmt.Printf("trainable after lora.Apply: %d (%.2f%% of %d)\n", trainable,
		100*float64(trainable)/float64(nn.CountParams(model.Parameters())), nn.CountParams(model.Parameters()))

	// B starts at zero, so the adapted model starts exactly where the base model is.
	fmt.Println("max |adapted - base| logits before training:", maxDiff(model.Forward(probe, nil), base))

	// 3. A dataset in memory: the loss counts only the completion (and the EOS).
	ds := &data.Dataset{}
	for _, p := range pairs {
		prompt := tok.Encode(p[0], true)
		completion := append(tok.Encode(p[1], false), tok.EOSIDs()[0])
		ex := data.Example{Tokens: append(append([]int{}, prompt...), completion...)}
		for i := range ex.Tokens {
			ex.Loss = append(ex.Loss, i >= len(prompt))
		}
		ds.Examples = append(ds.Examples, ex)
	}
	batch := data.Make(ds, []int{0, 1, 2, 3}, tok.PadID())
	fmt.Println("\nbatch", batch.Inputs.Shape(), "with", batch.Tokens, "target tokens in the loss")
	fmt.Printf("before training: %q -> %q\n", pairs[0][0], answer(model, tok, pairs[0][0]))

	// 4. Train: the same three lines as any MLX loop.
	lossAndGrad := nn.ValueAndGrad(model, trainer.Loss)
	opt := optim.NewAdamW(optim.Constant(5e-3), optim.AdamConfig{BiasCorrection: true})
	for step := 1; step <= 30; step++ {
		loss, grads := lossAndGrad(model, batch)
		opt.Update(model, grads)
		mx.Eval(loss, model.Parameters(), opt.State())
		if step == 1 || step%10 == 0 {
			fmt.Printf("step %2d: loss %.3f\n", step, loss.Item())
		}
	}
	for _, p := range pairs[:2] {
		fmt.Printf("after training: %q -> %q\n", p[0], answer(model, tok, p[0]))
	}
	trained := model.Forward(probe, nil)
	mx.Eval(trained)

	// 5. Save the adapters (mlx-lm format) and load them into a fresh base model.
	adapters := filepath.Join(out, "adapters")
	must(lora.SaveAdapters(adapters, model, lora.FromConfig(cfg)))
	fmt.Println()
	listDir(adapters)
	fresh, err := lm.Load(dir)
	must(err)
	fresh.Freeze()
	must(lora.LoadAdapters(fresh, adapters))
	fmt.Println("reloaded adapters: max |logits - trained| =", maxDiff(fresh.Forward(probe, nil), trained))

	// 6. Export the same adapter for Hugging Face PEFT.
	peft := filepath.Join(out, "peft")
	must(lora.ExportPEFT(model, peft, "hf-tiny-llama"))
	listDir(peft)
	pc, err := lora.ReadPEFTConfig(peft)
	must(err)
	fmt.Printf("PEFT config: r=%d lora_alpha=%g target_modules=%v\n", pc.R, pc.LoraAlpha, pc.TargetModules)
	w, _, err := mx.LoadSafetensors(filepath.Join(peft, "adapter_model.safetensors"))
	must(err)
	key := "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
	fmt.Println("PEFT stores A transposed:", key, w[key].Shape())

	// 7. Fuse: W' = W + scale·(A·B)ᵀ, checked against the adapter's logits.
	must(lora.FuseVerified(model, 1e-4))
	fused := model.Forward(probe, nil)
	fmt.Printf("\nfused: %d LoRA layers left, %d parameters, max |fused - adapter| logits = %.2g\n",
		len(lora.Layers(model)), nn.CountParams(model.Parameters()), maxDiff(fused, trained))
	fmt.Println("same greedy argmax at every position:", sameArgmax(fused, trained))
	fmt.Printf("fused model: %q -> %q\n", pairs[0][0], answer(model, tok, pairs[0][0]))
	must(lora.Fuse(fresh)) // unverified fuse of the reloaded copy: the same weights
	fmt.Println("Fuse(reloaded) == FuseVerified(trained):", maxDiff(fresh.Forward(probe, nil), fused) == 0)
	must(lm.Save(model, filepath.Join(out, "fused")))
	saved, err := lm.Load(filepath.Join(out, "fused"))
	must(err)
	fmt.Println("saved and reloaded fused model: max |logits - fused| =", maxDiff(saved.Forward(probe, nil), fused))

	// 8. QLoRA: the same adapters on a base stored in 4 bits.
	qbase := lm.MustLoad(dir)
	must(lm.Quantize(qbase, 16, 4))
	blockBytes := func(m *lm.Model) int {
		n := 0
		for _, p := range tree.Flatten(m.Parameters()) {
			if strings.HasPrefix(p.Key, "model.layers.") {
				n += p.Value.NBytes()
			}
		}
		return n
	}
	fmt.Printf("\nblock weights: %d bytes in float32, %d bytes in 4 bits\n", blockBytes(lm.MustLoad(dir)), blockBytes(qbase))
	qbase.Freeze()
	_, err = lora.Apply(qbase, cfg)
	must(err)
	fmt.Println("QLoRA trainable parameters:", nn.CountParams(qbase.TrainableParameters()))
}

// answer greedily completes prompt with up to 8 tokens.
func answer(model *lm.Model, tok *tokenizer.Tokenizer, prompt string) string {
	text, _ := generate.Text(model, tok, prompt, generate.Options{MaxTokens: 8}, nil)
	return text
}

// maxDiff returns the largest absolute difference between two arrays.
func maxDiff(a, b *mx.Array) float64 {
	return mx.Max(mx.Abs(mx.Subtract(a, b)), nil, false).Item()
}

// sameArgmax reports whether a and b pick the same token at every position.
func sameArgmax(a, b *mx.Array) bool {
	return mx.Equal(mx.ArgMax(a, -1, false), mx.ArgMax(b, -1, false)).Sum().Item() == float64(a.Size()/a.Dim(-1))
}

// listDir prints the files of dir with their sizes.
func listDir(dir string) {
	entries, err := os.ReadDir(dir)
	must(err)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		info, err := e.Info()
		must(err)
		fmt.Printf("  %s/%-26s %6d bytes\n", filepath.Base(dir), e.Name(), info.Size())
	}
}

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod above the working directory: run from inside the repository")
		}
		d = parent
	}
}

// must stops the program on an error: a guide has no better answer.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
