package lm

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// ParseDtype reads a dtype name as config.json and mlx-lm's --dtype write it:
// float32, bfloat16 or float16.
func ParseDtype(s string) (mx.Dtype, error) {
	switch s {
	case "float32":
		return mx.Float32, nil
	case "bfloat16":
		return mx.Bfloat16, nil
	case "float16":
		return mx.Float16, nil
	}
	return 0, fmt.Errorf("dtype %q: want float32, bfloat16 or float16", s)
}

// CastParameters sets every floating-point parameter of m to to(path, current dtype);
// integer parameters (quantized weights) are left alone.
func CastParameters(m *Model, to func(path string, cur mx.Dtype) mx.Dtype) error {
	var pairs []tree.Pair
	for _, p := range tree.Flatten(nn.Parameters(m)) {
		if dt := p.Value.Dtype(); dt.IsFloat() {
			if want := to(p.Key, dt); want != dt {
				pairs = append(pairs, tree.Pair{Key: p.Key, Value: mx.AsType(p.Value, want)})
			}
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return nn.Update(m, tree.Unflatten(pairs).(map[string]any))
}

// SetDtype casts every floating-point parameter to dt and records dt in the config, so
// Save writes a checkpoint of that dtype.
func SetDtype(m *Model, dt mx.Dtype) error {
	if !dt.IsFloat() {
		return fmt.Errorf("lm: SetDtype: %v is not a floating-point dtype", dt)
	}
	if err := CastParameters(m, func(string, mx.Dtype) mx.Dtype { return dt }); err != nil {
		return err
	}
	name := map[mx.Dtype]string{mx.Float32: "float32", mx.Bfloat16: "bfloat16", mx.Float16: "float16"}[dt]
	m.Config.Dtype = name
	if m.Config.Raw == nil {
		m.Config.Raw = map[string]any{}
	}
	m.Config.Raw["dtype"] = name
	if _, ok := m.Config.Raw["torch_dtype"]; ok {
		m.Config.Raw["torch_dtype"] = name
	}
	return nil
}

// DefaultComputeDtype returns the dtype m computes in unless told otherwise: float32
// on the CPU backend when its floating-point weights are bfloat16 or float16, since
// there float32 is both faster (the CPU kernels widen half-precision operands at every
// op) and closer to transformers' float32 logits (README, "bf16 checkpoints"); the
// weights' own dtype otherwise, and on other backends (MLX computes half precision
// natively, as mlx-lm does).
func DefaultComputeDtype(m *Model) mx.Dtype {
	stored := StoredDtype(m)
	if (stored == mx.Bfloat16 || stored == mx.Float16) && mx.CurrentBackend().Name() == "cpu" {
		return mx.Float32
	}
	return stored
}

// StoredDtype returns the dtype of the model's half-precision floating-point
// parameters when it has any (bfloat16 or float16), else float32.
func StoredDtype(m *Model) mx.Dtype {
	stored := mx.Float32
	for _, p := range tree.Flatten(nn.Parameters(m)) {
		if dt := p.Value.Dtype(); dt.IsFloat() {
			stored = dt
			if dt != mx.Float32 {
				break
			}
		}
	}
	return stored
}

// SetComputeDtype casts every floating-point parameter of m to dt for computing, and
// leaves the config's dtype (what a checkpoint was stored in) alone; SetDtype is the
// one to use before saving in another dtype.
func SetComputeDtype(m *Model, dt mx.Dtype) error {
	if !dt.IsFloat() {
		return fmt.Errorf("lm: SetComputeDtype: %v is not a floating-point dtype", dt)
	}
	return CastParameters(m, func(string, mx.Dtype) mx.Dtype { return dt })
}
