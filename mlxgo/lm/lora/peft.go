package lora

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// PEFTConfig is the part of a Hugging Face PEFT adapter_config.json that decides the math.
type PEFTConfig struct {
	PeftType      string         `json:"peft_type"`
	R             int            `json:"r"`
	LoraAlpha     float64        `json:"lora_alpha"`
	LoraDropout   float64        `json:"lora_dropout"`
	TargetModules any            `json:"target_modules"`
	UseRSLoRA     bool           `json:"use_rslora"`
	UseDoRA       bool           `json:"use_dora"`
	FanInFanOut   bool           `json:"fan_in_fan_out"`
	Bias          string         `json:"bias"`
	ModulesToSave []string       `json:"modules_to_save"`
	RankPattern   map[string]any `json:"rank_pattern"`
	AlphaPattern  map[string]any `json:"alpha_pattern"`
	TaskType      string         `json:"task_type"`
	BaseModelName *string        `json:"base_model_name_or_path"`
}

// ReadPEFTConfig reads and checks a PEFT adapter_config.json: options that would change
// the math and that mlxgo does not implement are refused, naming the key.
func ReadPEFTConfig(dir string) (PEFTConfig, error) {
	path := filepath.Join(dir, "adapter_config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return PEFTConfig{}, err
	}
	var c PEFTConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case c.PeftType != "" && c.PeftType != "LORA":
		return c, fmt.Errorf("%s: peft_type %q is not supported (only LORA)", path, c.PeftType)
	case c.R <= 0:
		return c, fmt.Errorf("%s: r must be a positive integer", path)
	case c.UseRSLoRA:
		return c, fmt.Errorf("%s: use_rslora is not supported (its scale is alpha/sqrt(r))", path)
	case c.FanInFanOut:
		return c, fmt.Errorf("%s: fan_in_fan_out is not supported", path)
	case c.Bias != "" && c.Bias != "none":
		return c, fmt.Errorf("%s: bias %q is not supported (only \"none\")", path, c.Bias)
	case len(c.ModulesToSave) > 0:
		return c, fmt.Errorf("%s: modules_to_save %v is not supported", path, c.ModulesToSave)
	case len(c.RankPattern) > 0 || len(c.AlphaPattern) > 0:
		return c, fmt.Errorf("%s: rank_pattern/alpha_pattern are not supported", path)
	}
	return c, nil
}

var peftKey = regexp.MustCompile(`^base_model\.model\.model\.layers\.(\d+)\.(.+)\.(?:lora_([AB])(?:\.default)?\.weight|(lora_magnitude_vector))$`)

// ImportPEFT adds a PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json)
// to the model: lora_A (r, in) becomes lora_a (in, r), lora_B (out, r) becomes lora_b
// (r, out), and the scale is lora_alpha / r. With use_dora, lora_magnitude_vector (out)
// becomes the DoRA magnitude m (PEFT's DoRA is mlx-lm's: the output rescaled by m over
// the detached row norms of W + scale·BA).
func ImportPEFT(model *lm.Model, dir string) error {
	cfg, err := ReadPEFTConfig(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "adapter_model.safetensors")
	w, _, err := mx.LoadSafetensors(path)
	if err != nil {
		return err
	}
	conv, layers, keys, err := fromPEFT(w, path)
	if err != nil {
		return err
	}
	for k := range conv {
		if base, ok := strings.CutSuffix(k, ".lora_a"); ok {
			if _, hasM := conv[base+".m"]; hasM != cfg.UseDoRA {
				return fmt.Errorf("%s: use_dora is %v but %s has %s lora_magnitude_vector", path, cfg.UseDoRA, base, map[bool]string{true: "a", false: "no"}[hasM])
			}
		}
	}
	if len(Layers(model)) == 0 {
		c := Config{Rank: cfg.R, Scale: cfg.LoraAlpha / float64(cfg.R), Dropout: cfg.LoraDropout, Keys: keys}
		if cfg.UseDoRA {
			c.FineTuneType = "dora"
		}
		if _, err := ApplyTo(model, layers, c); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return loadAdapterArrays(model, conv, path)
}

// fromPEFT renames and transposes PEFT tensors into mlx-lm's layout.
func fromPEFT(w map[string]*mx.Array, source string) (map[string]*mx.Array, []int, []string, error) {
	out := map[string]*mx.Array{}
	layerSet := map[int]bool{}
	keySet := map[string]bool{}
	for k, a := range w {
		m := peftKey.FindStringSubmatch(k)
		if m == nil {
			return nil, nil, nil, fmt.Errorf("%s: unexpected tensor %q (want base_model.model.model.layers.N.<module>.lora_A/B.weight or .lora_magnitude_vector)", source, k)
		}
		i, _ := strconv.Atoi(m[1])
		layerSet[i] = true
		keySet[m[2]] = true
		if m[4] != "" {
			out[fmt.Sprintf("model.layers.%d.%s.m", i, m[2])] = a
			continue
		}
		name := fmt.Sprintf("model.layers.%d.%s.lora_%s", i, m[2], strings.ToLower(m[3]))
		out[name] = mx.Transpose(a)
	}
	var keys []string
	for k := range keySet {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return out, sortedInts(layerSet), keys, nil
}

// FromPEFTGradients converts PEFT-named tensors (e.g. a gradient dump) to mlx-lm names
// and layout.
func FromPEFTGradients(w map[string]*mx.Array) (map[string]*mx.Array, error) {
	out, _, _, err := fromPEFT(w, "tensors")
	return out, err
}

// ExportPEFT writes the model's LoRA or DoRA adapter in PEFT's format to dir:
// adapter_model.safetensors and adapter_config.json (r, lora_alpha = scale·r,
// target_modules, use_dora, layers_to_transform when not every block is adapted).
func ExportPEFT(model *lm.Model, dir string, baseModel string) error {
	e, err := NewPEFTExport(model, baseModel)
	if err != nil {
		return err
	}
	return e.Write(dir)
}

// PEFTExport is a model's adapter converted to PEFT's format and held in memory, so a
// caller can prepare it before fusing and write it only once the fused model is verified.
type PEFTExport struct {
	tensors map[string]*mx.Array
	config  map[string]any
}

// NewPEFTExport converts the model's LoRA layers to PEFT's names and layout.
func NewPEFTExport(model *lm.Model, baseModel string) (*PEFTExport, error) {
	layers := Layers(model)
	if len(layers) == 0 {
		return nil, fmt.Errorf("lora: the model has no LoRA layers to export")
	}
	out := map[string]*mx.Array{}
	targets := map[string]bool{}
	adapted := map[int]bool{}
	rank, scale, dropout := 0, 0.0, 0.0
	dora := 0
	for path, l := range layers {
		var i int
		if _, err := fmt.Sscanf(path, "model.layers.%d.", &i); err == nil {
			adapted[i] = true
		}
		if l.Magnitude != nil {
			dora++
			out["base_model.model."+path+".lora_magnitude_vector"] = mx.AsType(l.Magnitude, mx.Float32)
		}
		rank, scale, dropout = l.LoraA.Dim(1), l.Scale, l.Dropout.P
		parts := strings.Split(path, ".")
		targets[parts[len(parts)-1]] = true
		out["base_model.model."+path+".lora_A.weight"] = mx.Transpose(l.LoraA)
		out["base_model.model."+path+".lora_B.weight"] = mx.Transpose(l.LoraB)
	}
	// Materialise the transposes contiguously so the file holds PEFT's row-major layout.
	for k, a := range out {
		out[k] = mx.FromBytes(a.Bytes(), a.Shape(), a.Dtype())
	}
	if dora != 0 && dora != len(layers) {
		return nil, fmt.Errorf("lora: %d of %d adapted layers are DoRA; PEFT needs one kind", dora, len(layers))
	}
	var tm []string
	for t := range targets {
		tm = append(tm, t)
	}
	sort.Strings(tm)
	var base any
	if baseModel != "" {
		base = baseModel
	}
	cfg := map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": scale * float64(rank),
		"lora_dropout": dropout, "target_modules": tm, "bias": "none", "fan_in_fan_out": false,
		"use_rslora": false, "use_dora": dora > 0, "inference_mode": true, "base_model_name_or_path": base,
	}
	// Adapters on some blocks only: PEFT must be told which, or it adds (and warns about)
	// adapters on every block.
	if len(adapted) < len(model.Model.Layers) {
		cfg["layers_to_transform"] = sortedInts(adapted)
	}
	return &PEFTExport{tensors: out, config: cfg}, nil
}

// Write writes adapter_model.safetensors and adapter_config.json to dir.
func (e *PEFTExport) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := mx.SaveSafetensors(filepath.Join(dir, "adapter_model.safetensors"), e.tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(e.config, "", "  ")
	return atomicfile.Write(filepath.Join(dir, "adapter_config.json"), data)
}
