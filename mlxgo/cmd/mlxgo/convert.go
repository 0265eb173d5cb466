package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// runConvert quantizes a Hugging Face model folder as mlx_lm.convert -q does.
func runConvert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	model := fs.String("hf-path", "", "source model folder")
	fs.StringVar(model, "model", "", "source model folder (same as --hf-path)")
	out := fs.String("mlx-path", "mlx_model", "where the converted model goes")
	q := fs.Bool("q", false, "quantize the blocks' linear layers")
	fs.BoolVar(q, "quantize", false, "same as -q")
	group := fs.Int("q-group-size", 64, "inputs per quantization group")
	bits := fs.Int("q-bits", 4, "bits per weight: 2, 4 or 8")
	dtype := dtypeFlag(fs, "dtype of the saved float weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("--hf-path (or --model) is required")
	}
	m, err := lm.Load(*model)
	if err != nil {
		return err
	}
	if err := applyDtype(m, *dtype); err != nil {
		return err
	}
	if *q {
		if err := lm.Quantize(m, *group, *bits); err != nil {
			return err
		}
	}
	if err := lm.Save(m, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Saved the model to %s\n", *out)
	return nil
}
