package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// FuzzOllamaTemplate feeds chat templates, the one text input of a GGUF export
// besides the model's own files (fuzzed in packages lm, tokenizer and
// safetensors), to the translation into an Ollama Modelfile TEMPLATE: any
// template gives an error or a translation that parses as a Go template, never
// a panic.
func FuzzOllamaTemplate(f *testing.F) {
	dir := filepath.Join("..", "tokenizer", "testdata")
	names, _ := filepath.Glob(filepath.Join(dir, "templates", "*.jinja"))
	for _, name := range names {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(string(src))
		}
	}
	f.Add(`{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<a>{% endif %}`)
	f.Add(`{{ '"""' }}{% for m in messages %}{{ m.content }}{% endfor %}`)
	tok, err := tokenizer.Load(filepath.Join(dir, "tiny"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tok.SetChatTemplate(src)
		text, err := OllamaTemplate(tok)
		if err != nil {
			return
		}
		if strings.Contains(text, `"""`) {
			t.Fatalf("translation %q contains \"\"\", which ends a Modelfile TEMPLATE", text)
		}
		if _, err := template.New("ollama").Parse(text); err != nil {
			t.Fatalf("translation %q does not parse: %v", text, err)
		}
	})
}
