// Package lora adds low-rank adapters to a model, as mlx-lm's tuner does: LoRA and DoRA
// layers, injection into the last blocks of a model, fusing, and adapters saved in
// mlx-lm's format and in Hugging Face PEFT's, so adapters move between the three.
package lora

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Linear is a LoRA layer: base(x) + Scale * (dropout(x) @ LoraA) @ LoraB, with LoraA of
// shape (in, rank) and LoraB of shape (rank, out). With DoRA set, the output is rescaled
// per output feature by Magnitude / ‖W + Scale·(A·B)ᵀ‖.
type Linear struct {
	nn.Base
	Linear    nn.LinearLayer `mx:"linear"`
	LoraA     *mx.Array      `mx:"lora_a"`
	LoraB     *mx.Array      `mx:"lora_b"`
	Magnitude *mx.Array      `mx:"m"`
	Scale     float64        `mx:"-"`
	Dropout   *nn.Dropout    `mx:"dropout"`
}

// NewLinear wraps base (an nn.Linear, or an nn.QuantizedLinear for QLoRA) with rank-r
// factors initialised as mlx-lm does: A uniform in ±1/sqrt(in), B zeros. dora adds the
// magnitude vector, initialised to the row norms of the base weight.
func NewLinear(base nn.LinearLayer, rank int, scale, dropout float64, dora bool) *Linear {
	in, out := base.Dims()
	s := 1 / math.Sqrt(float64(in))
	l := &Linear{
		Linear:  base,
		LoraA:   mx.Uniform(-s, s, []int{in, rank}, mx.Float32, nil),
		LoraB:   mx.Zeros([]int{rank, out}, mx.Float32),
		Scale:   scale,
		Dropout: &nn.Dropout{P: dropout},
	}
	if dora {
		l.Magnitude = rowNorm(mx.AsType(base.DequantizedWeight(), mx.Float32))
	}
	return l
}

func rowNorm(w *mx.Array) *mx.Array { return mx.Sqrt(mx.Sum(mx.Square(w), []int{1}, false)) }

// Forward applies the adapted layer.
func (l *Linear) Forward(x *mx.Array) *mx.Array {
	y := l.Linear.Forward(x)
	z := mx.Matmul(mx.Matmul(l.Dropout.Forward(x), l.LoraA), l.LoraB)
	out := mx.Add(y, mx.Multiply(z, l.Scale))
	if l.Magnitude == nil {
		return out
	}
	// DoRA: the base output plus the update, rescaled by magnitude over the (detached)
	// norm of the adapted weight.
	bias := biasOf(l.Linear)
	if bias != nil {
		out = mx.Subtract(out, bias)
	}
	norm := mx.StopGradient(rowNorm(l.deltaWeight()))
	out = mx.Multiply(out, mx.Divide(l.Magnitude, norm))
	if bias != nil {
		out = mx.Add(out, bias)
	}
	return out
}

// deltaWeight returns W + Scale·(A·B)ᵀ, shape (out, in).
func (l *Linear) deltaWeight() *mx.Array {
	d := mx.Multiply(mx.Transpose(mx.Matmul(l.LoraA, l.LoraB)), l.Scale)
	return mx.Add(mx.AsType(l.Linear.DequantizedWeight(), mx.Float32), d)
}

func biasOf(l nn.LinearLayer) *mx.Array {
	switch b := l.(type) {
	case *nn.Linear:
		return b.Bias
	case *nn.QuantizedLinear:
		return b.Bias
	}
	return nil
}

// Fused returns a plain linear layer with the adapter merged into its weight, in the base
// weight's dtype (float32 for a quantized base: fusing de-quantizes).
func (l *Linear) Fused() *nn.Linear {
	w := l.deltaWeight()
	if l.Magnitude != nil {
		w = mx.Multiply(w, mx.ExpandDims(mx.Divide(l.Magnitude, rowNorm(w)), 1))
	}
	return &nn.Linear{Weight: mx.AsType(w, l.Linear.DequantizedWeight().Dtype()), Bias: biasOf(l.Linear)}
}

// Config chooses where adapters go and their size; the JSON names are mlx-lm's.
type Config struct {
	FineTuneType string   `json:"fine_tune_type"` // "lora" (default) or "dora"
	NumLayers    int      `json:"num_layers"`     // last N blocks; -1 or 0 = all (mlx-lm default 16)
	Rank         int      `json:"rank"`
	Scale        float64  `json:"scale"`
	Dropout      float64  `json:"dropout"`
	Keys         []string `json:"keys"` // e.g. "self_attn.q_proj"; empty: every linear in the block
}

// DefaultConfig is mlx-lm's default: rank 8, scale 20, dropout 0, last 16 blocks.
func DefaultConfig() Config {
	return Config{FineTuneType: "lora", NumLayers: 16, Rank: 8, Scale: 20}
}

func (c Config) withDefaults() Config {
	if c.Rank == 0 {
		c.Rank = 8
	}
	if c.Scale == 0 {
		c.Scale = 20
	}
	if c.FineTuneType == "" {
		c.FineTuneType = "lora"
	}
	return c
}

// Apply replaces the chosen linear layers of the last cfg.NumLayers blocks with LoRA (or
// DoRA) layers and returns the dotted paths it adapted. Freeze the model first so that
// only the new factors are trainable.
func Apply(model *lm.Model, cfg Config) ([]string, error) {
	cfg = cfg.withDefaults()
	n := len(model.Model.Layers)
	first := 0
	if cfg.NumLayers > 0 && cfg.NumLayers < n {
		first = n - cfg.NumLayers
	}
	var layers []int
	for i := first; i < n; i++ {
		layers = append(layers, i)
	}
	return ApplyTo(model, layers, cfg)
}

// ApplyTo adapts the given block indices.
func ApplyTo(model *lm.Model, layers []int, cfg Config) ([]string, error) {
	cfg = cfg.withDefaults()
	if cfg.FineTuneType != "lora" && cfg.FineTuneType != "dora" {
		return nil, fmt.Errorf("lora: fine_tune_type %q is not an adapter type (lora, dora)", cfg.FineTuneType)
	}
	replace := map[string]any{}
	var paths []string
	for _, i := range layers {
		if i < 0 || i >= len(model.Model.Layers) {
			return nil, fmt.Errorf("lora: layer %d out of range (model has %d)", i, len(model.Model.Layers))
		}
		block := model.Model.Layers[i]
		found := map[string]bool{}
		for _, nm := range nn.NamedModules(block) {
			lin, ok := nm.Module.(nn.LinearLayer)
			if !ok || (len(cfg.Keys) > 0 && !containsKey(cfg.Keys, nm.Name)) {
				continue
			}
			found[nm.Name] = true
			path := fmt.Sprintf("model.layers.%d.%s", i, nm.Name)
			replace[path] = NewLinear(lin, cfg.Rank, cfg.Scale, cfg.Dropout, cfg.FineTuneType == "dora")
			paths = append(paths, path)
		}
		for _, k := range cfg.Keys {
			if !found[k] && !isAdapted(block, k) {
				return nil, fmt.Errorf("lora: key %q matches no linear layer in block %d", k, i)
			}
		}
	}
	if err := nn.UpdateModules(model, replace); err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return paths, nil
}

func containsKey(keys []string, name string) bool {
	for _, k := range keys {
		if k == name || strings.HasSuffix(name, "."+k) || strings.HasSuffix(k, "."+name) {
			return true
		}
	}
	return false
}

func isAdapted(block *lm.Block, key string) bool {
	for _, nm := range nn.NamedModules(block) {
		if _, ok := nm.Module.(*Linear); ok && containsKey([]string{key}, nm.Name) {
			return true
		}
	}
	return false
}

// Layers returns the model's LoRA layers by dotted path.
func Layers(model *lm.Model) map[string]*Linear {
	out := map[string]*Linear{}
	for _, nm := range nn.NamedModules(model) {
		if l, ok := nm.Module.(*Linear); ok {
			out[nm.Name] = l
		}
	}
	return out
}

// Fuse merges every LoRA layer (and an adapted embedding) into its base weight, leaving
// a plain model.
func Fuse(model *lm.Model) error {
	replace := map[string]any{}
	for path, l := range Layers(model) {
		replace[path] = l.Fused()
	}
	if e, ok := model.Model.EmbedTokens.(*Embedding); ok {
		model.Model.EmbedTokens = e.Fused()
	}
	return nn.UpdateModules(model, replace)
}
