package lm

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// checkSizes compares the sizes config.json declares with the weights before a model
// is built from them, so that a small config declaring 10^12 layers or rows fails at
// once, naming the key, instead of building a model that large.
func checkSizes(cfg *Config, weights map[string]*mx.Array, dir string) error {
	path := filepath.Join(dir, "config.json")
	layers := map[int]bool{}
	for k := range weights {
		if rest, ok := strings.CutPrefix(k, "model.layers."); ok {
			if n, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '.'), 0)]); err == nil {
				layers[n] = true
			}
		}
	}
	if len(layers) != cfg.NumHiddenLayers {
		return fmt.Errorf("%s: num_hidden_layers is %d but the weights hold %d layers", path, cfg.NumHiddenLayers, len(layers))
	}
	dims := []struct {
		key    string
		want   int
		tensor string
		axis   int
	}{
		{"vocab_size", cfg.VocabSize, "model.embed_tokens.weight", 0},
		{"intermediate_size", cfg.IntermediateSize, "model.layers.0.mlp.gate_proj.weight", 0},
	}
	if cfg.Quantization == nil { // quantized weights pack the input dimension
		dims = append(dims, struct {
			key    string
			want   int
			tensor string
			axis   int
		}{"hidden_size", cfg.HiddenSize, "model.embed_tokens.weight", 1})
	}
	for _, d := range dims {
		w, ok := weights[d.tensor]
		if !ok || w.Ndim() <= d.axis {
			continue // nn.LoadWeights reports missing tensors
		}
		if got := w.Shape()[d.axis]; got != d.want {
			return fmt.Errorf("%s: %s is %d but %s has %d", path, d.key, d.want, d.tensor, got)
		}
	}
	return nil
}
