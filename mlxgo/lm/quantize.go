package lm

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Quantize replaces the linear layers of the model's blocks with affine-quantized ones
// (MLX's layout; group size 64 and 4 bits are mlx-lm's defaults) and records it in the
// config, so Save writes a checkpoint that mlx-lm and Load read back. As in mlx-lm, a
// layer whose input size is not a multiple of the group size stays in float, and so do
// the embeddings and the head. Quantized layers are frozen; LoRA on them is QLoRA.
func Quantize(m *Model, groupSize, bits int) error {
	if bits != 2 && bits != 4 && bits != 8 {
		return fmt.Errorf("lm: quantization bits must be 2, 4 or 8, got %d", bits)
	}
	if groupSize <= 0 {
		return fmt.Errorf("lm: quantization group size must be positive, got %d", groupSize)
	}
	replace := map[string]any{}
	for i, b := range m.Model.Layers {
		for _, nm := range nn.NamedModules(b) {
			if l, ok := nm.Module.(*nn.Linear); ok {
				if in, _ := l.Dims(); in%groupSize == 0 {
					replace[fmt.Sprintf("model.layers.%d.%s", i, nm.Name)] = nn.QuantizeLinear(l, groupSize, bits)
				}
			}
		}
	}
	if err := nn.UpdateModules(m, replace); err != nil {
		return err
	}
	m.Config.Quantization = &Quantization{GroupSize: groupSize, Bits: bits}
	if m.Config.Raw == nil {
		m.Config.Raw = map[string]any{}
	}
	m.Config.Raw["quantization"] = map[string]any{"group_size": groupSize, "bits": bits}
	return nil
}

// quantizedShell replaces the block linears that the checkpoint stores quantized (those
// with a "<path>.scales" tensor) with quantized layers of the right shapes, ready for
// LoadWeights.
func quantizedShell(m *Model, q *Quantization, weights map[string]*mx.Array) error {
	replace := map[string]any{}
	for i, b := range m.Model.Layers {
		for _, nm := range nn.NamedModules(b) {
			l, ok := nm.Module.(*nn.Linear)
			path := fmt.Sprintf("model.layers.%d.%s", i, nm.Name)
			if _, quantized := weights[path+".scales"]; !ok || !quantized {
				continue
			}
			in, out := l.Dims()
			if in%q.GroupSize != 0 {
				return fmt.Errorf("%s: %d inputs are not a multiple of group_size %d", path, in, q.GroupSize)
			}
			ql := &nn.QuantizedLinear{
				Weight:    mx.Zeros([]int{out, in * q.Bits / 32}, mx.Uint32),
				Scales:    mx.Zeros([]int{out, in / q.GroupSize}, mx.Float32),
				Biases:    mx.Zeros([]int{out, in / q.GroupSize}, mx.Float32),
				Bias:      l.Bias,
				GroupSize: q.GroupSize,
				Bits:      q.Bits,
			}
			_ = nn.Freeze(ql, false, false)
			replace[path] = ql
		}
	}
	return nn.UpdateModules(m, replace)
}
