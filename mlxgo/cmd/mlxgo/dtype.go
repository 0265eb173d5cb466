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
