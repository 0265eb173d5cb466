package lm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/lm/hub"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Load reads a Hugging Face model folder: config.json and model.safetensors or a sharded
// model.safetensors.index.json. Weights stay memory-mapped in their stored dtype
// (float32, float16 or bfloat16), so a loaded model takes about its file size; on the
// CPU backend a half-precision checkpoint is best computed in float32 (DefaultComputeDtype,
// SetComputeDtype), which the mlxgo commands do unless --dtype says otherwise. An
// MLX-quantized checkpoint (mlx-community's, or mlxgo convert -q) loads as mlx-lm loads it:
// see [Quantization] for which modules become nn.QuantizedLinear / nn.QuantizedEmbedding.
//
// pathOrID is a folder or, when no such folder exists, a Hub repository id
// "org/name[@revision]": its files are fetched into the Hugging Face cache (or found
// there; HF_HUB_OFFLINE=1 uses the cache only) by package hub, and m.Dir is the snapshot.
func Load(pathOrID string) (*Model, error) {
	dir, err := hub.Resolve(pathOrID)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	weights, err := LoadWeightsDir(dir)
	if err != nil {
		return nil, err
	}
	if err := checkSizes(cfg, weights, dir); err != nil {
		return nil, err
	}
	m := New(cfg)
	m.Dir = dir
	if cfg.Quantization != nil {
		if err := quantizedShell(m, cfg.Quantization, weights); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	for k := range weights {
		if strings.Contains(k, "rotary_emb.inv_freq") {
			delete(weights, k)
		}
	}
	if cfg.TieWordEmbeddings {
		delete(weights, "lm_head.weight")
	}
	if err := nn.LoadWeights(m, weights, true); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// MustLoad is Load that panics on error, for notebooks and examples.
func MustLoad(dir string) *Model {
	m, err := Load(dir)
	if err != nil {
		panic(err)
	}
	return m
}

// LoadWeightsDir returns every tensor of dir's model.safetensors, or of the shards listed
// in model.safetensors.index.json. On the CPU backend the tensors are read into its memory
// (mx.ReadSafetensors: products over frozen weights run 20% faster there than on the
// mapped file's pages); on others they reference the mapped files (mx.LoadSafetensors).
func LoadWeightsDir(dir string) (map[string]*mx.Array, error) {
	load := mx.LoadSafetensors
	if mx.CurrentBackend().Name() == "cpu" {
		load = mx.ReadSafetensors
	}
	index := filepath.Join(dir, "model.safetensors.index.json")
	if data, err := os.ReadFile(index); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", index, err)
		}
		shards := map[string]bool{}
		for _, f := range idx.WeightMap {
			shards[f] = true
		}
		names := make([]string, 0, len(shards))
		for f := range shards {
			names = append(names, f)
		}
		sort.Strings(names)
		out := map[string]*mx.Array{}
		for _, f := range names {
			w, _, err := load(filepath.Join(dir, f))
			if err != nil {
				return nil, err
			}
			for k, v := range w {
				out[k] = v
			}
		}
		for k, f := range idx.WeightMap {
			if _, ok := out[k]; !ok {
				return nil, fmt.Errorf("%s: tensor %q is listed in shard %s but not found there", index, k, f)
			}
		}
		return out, nil
	}
	path := filepath.Join(dir, "model.safetensors")
	w, _, err := load(path)
	return w, err
}

// MustWeights returns LoadWeightsDir(dir) and panics on error (tests, notebooks).
func MustWeights(dir string) map[string]*mx.Array {
	w, err := LoadWeightsDir(dir)
	if err != nil {
		panic(err)
	}
	return w
}
