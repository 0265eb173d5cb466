package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// runConvert quantizes (or de-quantizes) a Hugging Face model folder as mlx_lm.convert
// does.
func runConvert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	model := fs.String("hf-path", "", "source model folder")
	fs.StringVar(model, "model", "", "source model folder (same as --hf-path)")
	out := fs.String("mlx-path", "mlx_model", "where the converted model goes")
	q := fs.Bool("q", false, "quantize the linear layers and embeddings (MLX affine)")
	fs.BoolVar(q, "quantize", false, "same as -q")
	group := fs.Int("q-group-size", 64, "inputs per quantization group (MLX supports 32, 64, 128)")
	bits := fs.Int("q-bits", 4, "bits per weight: 2, 3, 4, 5, 6 or 8")
	recipe := fs.String("quant-predicate", "", "mixed-precision recipe of mlx-lm: "+strings.Join(lm.QuantRecipes, ", "))
	deq := fs.Bool("dequantize", false, "write a float model from a quantized one")
	fs.BoolVar(deq, "d", false, "same as --dequantize")
	dtype := dtypeFlag(fs, "dtype of the saved float weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("--hf-path (or --model) is required")
	}
	if *q && *deq {
		return fmt.Errorf("choose either -q (--quantize) or --dequantize, not both")
	}
	if *recipe != "" && !*q {
		return fmt.Errorf("--quant-predicate %s needs -q", *recipe)
	}
	m, err := lm.Load(*model)
	if err != nil {
		return err
	}
	if err := applyDtype(m, *dtype); err != nil {
		return err
	}
	if *q {
		var pred lm.QuantPredicate
		if *recipe != "" {
			if pred, err = lm.MixedRecipe(m, *recipe, *group); err != nil {
				return fmt.Errorf("--quant-predicate: %w", err)
			}
		}
		if err := lm.QuantizeWith(m, *group, *bits, pred); err != nil {
			return err
		}
	}
	if *deq {
		if m.Config.Quantization == nil {
			return fmt.Errorf("--dequantize: %s is not quantized", *model)
		}
		if err := lm.Dequantize(m); err != nil {
			return err
		}
	}
	if err := lm.Save(m, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Saved the model to %s\n", *out)
	return nil
}
