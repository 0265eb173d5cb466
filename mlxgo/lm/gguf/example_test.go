package gguf_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/gguf"
)

// Export a model for llama.cpp and Ollama: the GGUF file, then a Modelfile beside it.
func ExampleExport() {
	model := lm.MustLoad("../../../notebooks/models/tiny-story")
	dir, _ := os.MkdirTemp("", "gguf")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, gguf.DefaultFile)
	if err := gguf.Export(model, path, gguf.Options{Type: gguf.F16}); err != nil {
		panic(err)
	}
	modelfile, err := gguf.WriteModelfile(path, model.Dir)
	if err != nil {
		panic(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Printf("%s %q\n", filepath.Base(path), b[:4])
	fmt.Println(filepath.Base(modelfile))
	// Output:
	// ggml-model-f16.gguf "GGUF"
	// Modelfile
}
