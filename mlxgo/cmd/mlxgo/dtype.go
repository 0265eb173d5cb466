package main

import (
	"flag"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// dtypeFlag adds --dtype to a command.
func dtypeFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("dtype", "", what+": float32, bfloat16 or float16 (default: as stored)")
}

// applyDtype casts the model's floating-point weights to name (nothing when empty).
func applyDtype(m *lm.Model, name string) error {
	if name == "" {
		return nil
	}
	dt, err := lm.ParseDtype(name)
	if err != nil {
		return err
	}
	return lm.SetDtype(m, dt)
}

// computeDtypeFlag adds --dtype to a command that computes with the model (lora,
// generate, server).
func computeDtypeFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("dtype", "", what+": float32, bfloat16 or float16 (default: float32 on the CPU backend for bfloat16 and float16 checkpoints, as stored otherwise)")
}

// applyComputeDtype casts the model's floating-point weights to name, or when name is
// empty to lm.DefaultComputeDtype (float32 on the CPU for a half-precision checkpoint).
func applyComputeDtype(m *lm.Model, name string) error {
	if name != "" {
		return applyDtype(m, name)
	}
	return lm.SetComputeDtype(m, lm.DefaultComputeDtype(m))
}
