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
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// AdapterConfig is mlx-lm's adapter_config.json: the adapter settings plus any training
// options a trainer records beside them.
type AdapterConfig struct {
	FineTuneType   string         `json:"fine_tune_type"`
	NumLayers      int            `json:"num_layers"`
	LoraParameters LoraParameters `json:"lora_parameters"`
	Extra          map[string]any `json:"-"`
}

// LoraParameters is the lora_parameters object of adapter_config.json.
type LoraParameters struct {
	Rank    int      `json:"rank"`
	Scale   float64  `json:"scale"`
	Dropout float64  `json:"dropout"`
	Keys    []string `json:"keys,omitempty"`
}

// ToConfig converts to a Config.
func (a AdapterConfig) ToConfig() Config {
	return Config{FineTuneType: a.FineTuneType, NumLayers: a.NumLayers, Rank: a.LoraParameters.Rank,
		Scale: a.LoraParameters.Scale, Dropout: a.LoraParameters.Dropout, Keys: a.LoraParameters.Keys}
}

// FromConfig builds the JSON form of cfg.
func FromConfig(cfg Config) AdapterConfig {
	cfg = cfg.withDefaults()
	return AdapterConfig{FineTuneType: cfg.FineTuneType, NumLayers: cfg.NumLayers,
		LoraParameters: LoraParameters{cfg.Rank, cfg.Scale, cfg.Dropout, cfg.Keys}}
}

// MarshalJSON writes the config with the extra options merged at the top level.
func (a AdapterConfig) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range a.Extra {
		m[k] = v
	}
	m["fine_tune_type"] = a.FineTuneType
	m["num_layers"] = a.NumLayers
	m["lora_parameters"] = a.LoraParameters
	return json.MarshalIndent(m, "", "  ")
}

// AdapterWeights returns the adapter arrays of the model in mlx-lm naming
// ("model.layers.0.self_attn.q_proj.lora_a").
func AdapterWeights(model *lm.Model) map[string]*mx.Array {
	out := map[string]*mx.Array{}
	for path, l := range Layers(model) {
		out[path+".lora_a"] = l.LoraA
		out[path+".lora_b"] = l.LoraB
		if l.Magnitude != nil {
			out[path+".m"] = l.Magnitude
		}
	}
	if e, ok := model.Model.EmbedTokens.(*Embedding); ok {
		out["model.embed_tokens.lora_a"] = e.LoraA
		out["model.embed_tokens.lora_b"] = e.LoraB
	}
	return out
}

// SaveAdapters writes dir/adapters.safetensors and dir/adapter_config.json in mlx-lm's
// format, each through a temporary file and a rename.
func SaveAdapters(dir string, model *lm.Model, cfg AdapterConfig) error {
	return SaveAdapterFile(filepath.Join(dir, "adapters.safetensors"), dir, model, cfg)
}

// SaveAdapterFile writes the adapter weights to weightsPath and the config to
// dir/adapter_config.json.
func SaveAdapterFile(weightsPath, dir string, model *lm.Model, cfg AdapterConfig) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := mx.SaveSafetensors(weightsPath, AdapterWeights(model), map[string]string{"format": "mlx"}); err != nil {
		return err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "adapter_config.json"), data)
}

// ReadAdapterConfig reads an mlx-lm adapter_config.json.
func ReadAdapterConfig(dir string) (AdapterConfig, error) {
	path := filepath.Join(dir, "adapter_config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return AdapterConfig{}, err
	}
	var c AdapterConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(data, &c.Extra); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	delete(c.Extra, "fine_tune_type")
	delete(c.Extra, "num_layers")
	delete(c.Extra, "lora_parameters")
	if c.FineTuneType == "" {
		c.FineTuneType = "lora"
	}
	if c.FineTuneType != "lora" && c.FineTuneType != "dora" {
		return c, fmt.Errorf("%s: fine_tune_type %q is not an adapter (lora, dora)", path, c.FineTuneType)
	}
	if c.LoraParameters.Rank <= 0 {
		return c, fmt.Errorf("%s: lora_parameters.rank must be positive", path)
	}
	return c, nil
}

// LoadAdapters adds the adapter in dir to the model: mlx-lm format (adapters.safetensors)
// or PEFT format (adapter_model.safetensors), detected from the files present. The
// model's layers are adapted as the adapter says, then its weights are loaded strictly.
func LoadAdapters(model *lm.Model, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "adapters.safetensors")); err == nil {
		return loadMLX(model, dir, filepath.Join(dir, "adapters.safetensors"))
	}
	if _, err := os.Stat(filepath.Join(dir, "adapter_model.safetensors")); err == nil {
		return ImportPEFT(model, dir)
	}
	return fmt.Errorf("lora: %s holds neither adapters.safetensors (mlx-lm) nor adapter_model.safetensors (PEFT)", dir)
}

// LoadAdapterFile loads weights from a specific mlx-lm adapter file (e.g. a numbered
// checkpoint) using dir/adapter_config.json.
func LoadAdapterFile(model *lm.Model, dir, weightsPath string) error {
	return loadMLX(model, dir, weightsPath)
}

var layerKey = regexp.MustCompile(`^model\.layers\.(\d+)\.(.+)\.(lora_a|lora_b|m)$`)

func loadMLX(model *lm.Model, dir, weightsPath string) error {
	cfg, err := ReadAdapterConfig(dir)
	if err != nil {
		return err
	}
	w, _, err := mx.LoadSafetensors(weightsPath)
	if err != nil {
		return err
	}
	layers := map[int]bool{}
	keys := map[string]bool{}
	for k := range w {
		m := layerKey.FindStringSubmatch(k)
		if m == nil {
			return fmt.Errorf("%s: unexpected tensor %q (want model.layers.N.<module>.lora_a/lora_b)", weightsPath, k)
		}
		i, _ := strconv.Atoi(m[1])
		layers[i] = true
		keys[m[2]] = true
	}
	c := cfg.ToConfig()
	if len(c.Keys) == 0 {
		for k := range keys {
			c.Keys = append(c.Keys, k)
		}
		sort.Strings(c.Keys)
	}
	if len(Layers(model)) == 0 {
		if _, err := ApplyTo(model, sortedInts(layers), c); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return loadAdapterArrays(model, w, weightsPath)
}

func loadAdapterArrays(model *lm.Model, w map[string]*mx.Array, source string) error {
	current := AdapterWeights(model)
	var missing []string
	for k := range current {
		if _, ok := w[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return fmt.Errorf("%s: adapter is missing %s", source, strings.Join(missing, ", "))
	}
	if err := nn.LoadWeights(model, w, false); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

func sortedInts(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// TrainableCount returns the number of trainable parameter elements.
func TrainableCount(model *lm.Model) int { return nn.CountParams(model.TrainableParameters()) }

// LoadAdapterFileWeights loads adapter arrays (mlx-lm names) into a model whose LoRA
// layers are already applied; every factor must be present.
func LoadAdapterFileWeights(model *lm.Model, w map[string]*mx.Array, source string) error {
	return loadAdapterArrays(model, w, source)
}
