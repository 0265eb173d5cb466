// Package gguf exports a model as a GGUF file for llama.cpp, Ollama and LM Studio, as
// mlx_lm.fuse --export-gguf does, and writes an Ollama Modelfile beside it.
//
// The file follows what llama.cpp's convert_hf_to_gguf.py writes: GGUF version 3,
// general.architecture and the architecture's hyper-parameters, the tokenizer
// (vocabulary, merges, token types, the pre-tokenizer name, special ids, add-BOS/EOS),
// the chat template, and the tensors under llama.cpp's names and layouts, with Llama's
// query and key rows permuted for llama.cpp's RoPE. Matrices are stored as f32, f16,
// bf16 or q8_0; vectors as f32. Every architecture in Archs is written; what llama.cpp
// cannot represent (another tokenizer family, a feature of the config) is refused with
// an error naming it.
package gguf

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Options control an export.
type Options struct {
	// Type stores the weight matrices (default F16).
	Type Type
	// TokenizerDir is the folder with tokenizer.json and tokenizer_config.json; default
	// the folder the model was loaded from.
	TokenizerDir string
	// Name is general.name; default the base name of TokenizerDir.
	Name string
}

// DefaultFile is the file name mlx_lm.fuse --export-gguf writes in the save path.
const DefaultFile = "ggml-model-f16.gguf"

// Export writes m (with any LoRA adapters already fused) to path as a GGUF file. The
// file appears whole or not at all.
func Export(m *lm.Model, path string, opts Options) error {
	cfg := m.Config
	arch, ok := Archs[cfg.ModelType]
	if !ok {
		names := slices.Sorted(maps.Keys(Archs))
		return fmt.Errorf("gguf: model_type %q has no llama.cpp architecture in this exporter (exported: %s)", cfg.ModelType, strings.Join(names, ", "))
	}
	if arch.Check != nil {
		if err := arch.Check(cfg); err != nil {
			return fmt.Errorf("gguf: %s: %w", cfg.ModelType, err)
		}
	}
	dir := opts.TokenizerDir
	if dir == "" {
		dir = m.Dir
	}
	if dir == "" {
		return fmt.Errorf("gguf: the model was not loaded from a folder; set Options.TokenizerDir to the folder holding tokenizer.json")
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	meta := []kv{
		{"general.architecture", arch.Name},
		{"general.name", name},
		{"general.file_type", opts.Type.fileType()},
	}
	if opts.Type == Q8_0 {
		meta = append(meta, kv{"general.quantization_version", uint32(2)})
	}
	meta = append(meta, hyperParams(arch, cfg)...)
	vocab, err := vocabMeta(dir, tok, cfg.VocabSize, cfg.BOSIDs())
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	meta = append(meta, vocab...)
	tensors, err := tensorInfos(m, arch, opts.Type)
	if err != nil {
		return err
	}
	return atomicfile.WriteWith(path, func(w io.Writer) error { return writeFile(w, meta, tensors) })
}

// tensorInfos describes every tensor of m under its GGUF name; the data is computed
// tensor by tensor while the file is written.
func tensorInfos(m *lm.Model, arch Arch, typ Type) ([]*tensorInfo, error) {
	cfg := m.Config
	params := tree.FlattenMap(m.Parameters())
	permute := arch.PermuteQK && !cfg.RopeTraditional
	var out []*tensorInfo
	for _, key := range sortedKeys(params) {
		if strings.HasSuffix(key, ".scales") || strings.HasSuffix(key, ".biases") {
			continue // read with their quantized weight
		}
		a := params[key]
		if a.Dtype() == mx.Uint32 {
			base := strings.TrimSuffix(key, ".weight")
			s, b := params[base+".scales"], params[base+".biases"]
			if s == nil || b == nil || cfg.Quantization == nil {
				return nil, fmt.Errorf("gguf: tensor %s is uint32 but has no quantization scales and biases", key)
			}
			p, _, _ := cfg.Quantization.ParamsFor(base)
			a = mx.Dequantize(a, s, b, p.GroupSize, p.Bits)
		}
		name, ok := arch.tensorName(key)
		if !ok {
			return nil, fmt.Errorf("gguf: tensor %s has no llama.cpp name in architecture %s", key, arch.Name)
		}
		shape := a.Shape()
		heads := 0
		if permute {
			switch {
			case strings.HasSuffix(key, "q_proj.weight"), strings.HasSuffix(key, "q_proj.bias"):
				heads = cfg.NumAttentionHeads
			case strings.HasSuffix(key, "k_proj.weight"), strings.HasSuffix(key, "k_proj.bias"):
				heads = cfg.NumKeyValueHeads
			}
		}
		arr := a
		out = append(out, &tensorInfo{
			name: name,
			dims: ggufDims(shape),
			typ:  storageType(shape, typ),
			write: func(w io.Writer) error {
				v := arr.Float32s()
				if heads > 0 {
					cols := 1
					if len(shape) == 2 {
						cols = shape[1]
					}
					v = permuteRows(v, heads, cols)
				}
				return storageType(shape, typ).encode(w, v)
			},
		})
	}
	if f := ropeFactors(cfg); f != nil {
		out = append(out, &tensorInfo{name: "rope_freqs.weight", dims: []uint64{uint64(len(f))}, typ: F32,
			write: func(w io.Writer) error { return F32.encode(w, f) }})
	}
	return out, nil
}

// storageType is F32 for vectors, as llama.cpp's converter keeps them, and F16 for a
// q8_0 matrix whose rows are not whole 32-weight blocks.
func storageType(shape []int, typ Type) Type {
	switch {
	case len(shape) < 2:
		return F32
	case typ == Q8_0 && shape[len(shape)-1]%q8Block != 0:
		return F16
	}
	return typ
}

// ggufDims reverses a row-major shape into GGUF's innermost-first order.
func ggufDims(shape []int) []uint64 {
	d := make([]uint64, len(shape))
	for i, s := range shape {
		d[len(shape)-1-i] = uint64(s)
	}
	return d
}

// sortedKeys orders tensors as llama.cpp's converter does: embeddings, the layers in
// numeric order, then the final norm and head.
func sortedKeys(params map[string]*mx.Array) []string {
	rank := func(k string) (int, int, string) {
		if rest, ok := strings.CutPrefix(k, "model.layers."); ok {
			n, _ := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '.'))])
			return 1, n, k
		}
		if strings.Contains(k, "embed_tokens") {
			return 0, 0, k
		}
		return 2, 0, k
	}
	keys := slices.Collect(maps.Keys(params))
	slices.SortFunc(keys, func(a, b string) int {
		ga, na, ka := rank(a)
		gb, nb, kb := rank(b)
		if ga != gb {
			return ga - gb
		}
		if na != nb {
			return na - nb
		}
		return strings.Compare(ka, kb)
	})
	return keys
}
