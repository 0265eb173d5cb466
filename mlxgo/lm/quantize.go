package lm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// QuantParams is one layer's MLX affine quantization.
type QuantParams struct {
	GroupSize int    `json:"group_size"`
	Bits      int    `json:"bits"`
	Mode      string `json:"mode,omitempty"` // "affine" (the only mode mlxgo reads) or empty
}

// Quantization is mlx-lm's "quantization" entry of config.json (repeated as
// "quantization_config"): the parameters of the quantized layers, except the module
// paths listed in Layers, which mlx-lm's mixed-precision recipes write: a nil entry
// (false in the JSON) keeps that module in float, others give its own parameters. As in
// mlx-lm, a module not listed is quantized when the checkpoint has "<path>.scales".
type Quantization struct {
	QuantParams
	Layers map[string]*QuantParams
}

// The defaults of MLX's to_quantized, which mlx-lm uses for a per-layer entry without them.
const defaultGroupSize, defaultBits = 64, 4

// UnmarshalJSON reads the global group_size, bits and mode and the per-layer entries.
func (q *Quantization) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	q.Layers = map[string]*QuantParams{}
	global := map[string]json.RawMessage{}
	for k, v := range raw {
		switch k {
		case "group_size", "bits", "mode":
			global[k] = v
			continue
		}
		switch s := string(bytes.TrimSpace(v)); s {
		case "false", "null":
			q.Layers[k] = nil
		case "true":
			q.Layers[k] = &q.QuantParams // the global parameters, filled in below
		default:
			p := &QuantParams{GroupSize: defaultGroupSize, Bits: defaultBits}
			if err := json.Unmarshal(v, p); err != nil {
				return fmt.Errorf("quantization[%q]: want false or {\"group_size\", \"bits\"}: %w", k, err)
			}
			q.Layers[k] = p
		}
	}
	b, _ := json.Marshal(global)
	return json.Unmarshal(b, &q.QuantParams)
}

// MarshalJSON writes the entry as mlx-lm does: the global parameters and one key per
// listed module.
func (q *Quantization) MarshalJSON() ([]byte, error) { return json.Marshal(q.raw()) }

func (q *Quantization) raw() map[string]any {
	out := map[string]any{"group_size": q.GroupSize, "bits": q.Bits, "mode": "affine"}
	for k, p := range q.Layers {
		if p == nil {
			out[k] = false
		} else {
			out[k] = map[string]any{"group_size": p.GroupSize, "bits": p.Bits, "mode": "affine"}
		}
	}
	return out
}

// check reports the first unsupported setting, naming its key.
func (q *Quantization) check() error {
	if err := q.QuantParams.check(); err != nil {
		return err
	}
	for _, k := range sortedKeys(q.Layers) {
		if p := q.Layers[k]; p != nil {
			if err := p.check(); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
	}
	return nil
}

func (p *QuantParams) check() error {
	if p.Mode != "" && p.Mode != "affine" {
		return fmt.Errorf("mode %q: only MLX affine quantization is supported", p.Mode)
	}
	if !slices.Contains(mx.QuantBits, p.Bits) || p.GroupSize <= 0 {
		return fmt.Errorf("bits %d, group_size %d: only MLX affine quantization with bits %v and a positive group_size is supported", p.Bits, p.GroupSize, mx.QuantBits)
	}
	return nil
}

// ParamsFor returns the parameters of the module at path: its own entry, or the global
// ones (listed reports an entry; quantize is false for an entry of false).
func (q *Quantization) ParamsFor(path string) (p QuantParams, listed, quantize bool) {
	if lp, ok := q.Layers[path]; ok {
		if lp == nil {
			return QuantParams{}, true, false
		}
		return *lp, true, true
	}
	return q.QuantParams, false, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Quantize quantizes the model's linear layers and embeddings (MLX's affine layout;
// group size 64 and 4 bits are mlx-lm's defaults) and records it in the config, so Save
// writes a checkpoint that mlx-lm and Load read back. As mlx-lm does, every nn.Linear and
// nn.Embedding is quantized, the output head and the token embedding included, except
// those whose input size is not a multiple of the group size. Quantized layers are
// frozen; LoRA on them is QLoRA.
func Quantize(m *Model, groupSize, bits int) error {
	return QuantizeWith(m, groupSize, bits, nil)
}

// QuantPredicate chooses, for the module at path, whether it is quantized (ok) and with
// which parameters: zero QuantParams means the defaults given to QuantizeWith; others are
// written to config.json as a per-layer entry, as mlx-lm does for its recipes.
type QuantPredicate func(path string) (p QuantParams, ok bool)

// QuantizeWith is Quantize with a per-module choice (nil: every module with the defaults).
func QuantizeWith(m *Model, groupSize, bits int, pred QuantPredicate) error {
	q := &Quantization{QuantParams: QuantParams{GroupSize: groupSize, Bits: bits, Mode: "affine"}, Layers: map[string]*QuantParams{}}
	if err := q.check(); err != nil {
		return fmt.Errorf("lm: quantization %w", err)
	}
	if m.Config.Quantization != nil {
		return fmt.Errorf("lm: the model is already quantized (%d bits, group size %d); de-quantize it first", m.Config.Quantization.Bits, m.Config.Quantization.GroupSize)
	}
	replace := map[string]any{}
	for _, nm := range nn.NamedModules(m) {
		in, ok := quantizableInputs(nm.Module)
		if !ok || in%groupSize != 0 {
			continue
		}
		p := q.QuantParams
		if pred != nil {
			pp, ok := pred(nm.Name)
			if !ok {
				continue
			}
			if pp != (QuantParams{}) {
				if pp.Mode == "" {
					pp.Mode = "affine"
				}
				if err := pp.check(); err != nil {
					return fmt.Errorf("lm: quantizing %s: %w", nm.Name, err)
				}
				p = pp
				q.Layers[nm.Name] = &pp
			}
		}
		if in%p.GroupSize != 0 || in*p.Bits%32 != 0 {
			return fmt.Errorf("lm: quantizing %s: %d inputs do not fit group_size %d at %d bits", nm.Name, in, p.GroupSize, p.Bits)
		}
		switch l := nm.Module.(type) {
		case *nn.Linear:
			replace[nm.Name] = nn.QuantizeLinear(l, p.GroupSize, p.Bits)
		case *nn.Embedding:
			replace[nm.Name] = nn.QuantizeEmbedding(l, p.GroupSize, p.Bits)
		}
	}
	if len(replace) == 0 {
		return fmt.Errorf("lm: no layer has an input size that is a multiple of group_size %d", groupSize)
	}
	if err := nn.UpdateModules(m, replace); err != nil {
		return err
	}
	m.Config.Quantization = q
	if m.Config.Raw == nil {
		m.Config.Raw = map[string]any{}
	}
	m.Config.Raw["quantization"] = q.raw()
	m.Config.Raw["quantization_config"] = q.raw()
	return nil
}

// quantizableInputs returns the size of the axis a float layer would be quantized along.
func quantizableInputs(module any) (int, bool) {
	switch l := module.(type) {
	case *nn.Linear:
		in, _ := l.Dims()
		return in, true
	case *nn.Embedding:
		return l.Weight.Dim(1), true
	}
	return 0, false
}

// QuantRecipes lists mlx-lm's mixed-precision recipes (mlx_lm.convert --quant-predicate).
var QuantRecipes = []string{"mixed_2_6", "mixed_3_4", "mixed_3_6", "mixed_4_6"}

// MixedRecipe returns the predicate of mlx-lm's recipe (for example mixed_3_6: 3 bits,
// and 6 bits for the output head and for v_proj and down_proj in the first and last
// eighth of the layers and every third layer between), as mlx_lm.convert
// --quant-predicate does.
func MixedRecipe(m *Model, recipe string, groupSize int) (QuantPredicate, error) {
	low, high := 0, 6
	switch recipe {
	case "mixed_2_6":
		low = 2
	case "mixed_3_4":
		low, high = 3, 4
	case "mixed_3_6":
		low = 3
	case "mixed_4_6":
		low = 4
	default:
		return nil, fmt.Errorf("lm: unknown quantization recipe %q (known: %s)", recipe, strings.Join(QuantRecipes, ", "))
	}
	location := -1
	for _, nm := range nn.NamedModules(m) {
		if strings.Contains(nm.Name, "down_proj") {
			for i, part := range strings.Split(nm.Name, ".") {
				if _, err := strconv.Atoi(part); err == nil {
					location = i
					break
				}
			}
			break
		}
	}
	if location < 0 {
		return nil, fmt.Errorf("lm: recipe %s needs down_proj layers, which this model does not have", recipe)
	}
	n := len(m.Model.Layers)
	return func(path string) (QuantParams, bool) {
		index := 0
		if parts := strings.Split(path, "."); len(parts) > location {
			index, _ = strconv.Atoi(parts[location])
		}
		more := index < n/8 || index >= 7*n/8 || (index-n/8)%3 == 2
		switch {
		case more && (strings.Contains(path, "v_proj") || strings.Contains(path, "v_a_proj") || strings.Contains(path, "v_b_proj")),
			more && strings.Contains(path, "down_proj"), strings.Contains(path, "lm_head"):
			return QuantParams{GroupSize: groupSize, Bits: high}, true
		}
		return QuantParams{GroupSize: groupSize, Bits: low}, true
	}, nil
}

// Dequantize replaces every quantized layer with a float one holding the weights its
// codes represent (in the scales' dtype) and removes the quantization from the config,
// as mlx-lm's --dequantize does.
func Dequantize(m *Model) error {
	replace := map[string]any{}
	for _, nm := range nn.NamedModules(m) {
		switch l := nm.Module.(type) {
		case *nn.QuantizedLinear:
			replace[nm.Name] = l.Dequantized()
		case *nn.QuantizedEmbedding:
			replace[nm.Name] = l.Dequantized()
		}
	}
	if err := nn.UpdateModules(m, replace); err != nil {
		return err
	}
	m.Config.Quantization = nil
	delete(m.Config.Raw, "quantization")
	delete(m.Config.Raw, "quantization_config")
	return nil
}

// quantizedShell replaces the modules that the checkpoint stores quantized with quantized
// layers of the right shapes, ready for LoadWeights. As in mlx-lm's load_model, a module
// listed in the config's per-layer entries follows its entry, and any other module is
// quantized (with the global parameters) when the weights have "<path>.scales".
func quantizedShell(m *Model, q *Quantization, weights map[string]*mx.Array) error {
	replace := map[string]any{}
	for _, nm := range nn.NamedModules(m) {
		p, listed, quantize := q.ParamsFor(nm.Name)
		if _, stored := weights[nm.Name+".scales"]; !quantize || !listed && !stored {
			continue
		}
		in, ok := quantizableInputs(nm.Module)
		if !ok {
			continue // LoadWeights reports the unexpected .scales
		}
		if in%p.GroupSize != 0 || in*p.Bits%32 != 0 {
			return fmt.Errorf("%s: %d inputs do not fit group_size %d at %d bits", nm.Name, in, p.GroupSize, p.Bits)
		}
		switch l := nm.Module.(type) {
		case *nn.Linear:
			_, out := l.Dims()
			replace[nm.Name] = nn.NewQuantizedLinearShell(in, out, l.Bias, p.GroupSize, p.Bits)
		case *nn.Embedding:
			replace[nm.Name] = nn.NewQuantizedEmbeddingShell(l.Weight.Dim(0), in, p.GroupSize, p.Bits)
		}
	}
	return nn.UpdateModules(m, replace)
}

// syncQuantization makes the config's quantization entry describe the layers as they are
// before Save writes it: a layer that is float now (fused with an adapter, say) loses its
// per-layer entry, a quantized layer whose widths differ from the global ones gets one,
// and a model with no quantized layer left has no entry at all.
func syncQuantization(m *Model) {
	q := m.Config.Quantization
	if q == nil {
		return
	}
	if q.Layers == nil {
		q.Layers = map[string]*QuantParams{}
	}
	quantized := false
	for _, nm := range nn.NamedModules(m) {
		var p QuantParams
		switch l := nm.Module.(type) {
		case *nn.QuantizedLinear:
			p = QuantParams{GroupSize: l.GroupSize, Bits: l.Bits, Mode: "affine"}
		case *nn.QuantizedEmbedding:
			p = QuantParams{GroupSize: l.GroupSize, Bits: l.Bits, Mode: "affine"}
		case *nn.Linear, *nn.Embedding:
			if e, ok := q.Layers[nm.Name]; ok && e != nil {
				delete(q.Layers, nm.Name)
			}
			continue
		default:
			continue
		}
		quantized = true
		if _, listed := q.Layers[nm.Name]; listed || p.GroupSize != q.GroupSize || p.Bits != q.Bits {
			q.Layers[nm.Name] = &p
		}
	}
	if !quantized {
		m.Config.Quantization = nil
		delete(m.Config.Raw, "quantization")
		delete(m.Config.Raw, "quantization_config")
		return
	}
	if m.Config.Raw == nil {
		m.Config.Raw = map[string]any{}
	}
	m.Config.Raw["quantization"] = q.raw()
	m.Config.Raw["quantization_config"] = q.raw()
}
