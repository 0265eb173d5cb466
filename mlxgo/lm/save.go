package lm

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Save writes the model as a Hugging Face folder: config.json, model.safetensors and,
// when the model was loaded from a folder, its tokenizer and generation files.
func Save(m *Model, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	syncQuantization(m)
	weights := tree.FlattenMap(nn.Parameters(m))
	if err := mx.SaveSafetensors(filepath.Join(dir, "model.safetensors"), weights, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cfg := map[string]any{}
	for k, v := range m.Config.Raw {
		if k != "_ignored_keys" {
			cfg[k] = v
		}
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "config.json"), data); err != nil {
		return err
	}
	if m.Dir == "" {
		return nil
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json", "special_tokens_map.json"} {
		if err := copyFile(filepath.Join(m.Dir, f), filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("copying %s: %w", f, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, data)
}
