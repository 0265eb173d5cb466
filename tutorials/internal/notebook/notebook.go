// Package notebook builds each tutorial's notebook from the guide's README.md and main.go, so
// the guide's code has one source: the notebook's code cells are main.go's declarations and
// main's body, its text is the README. `go generate ./tutorials` writes them; the tutorials'
// tests check that the committed notebooks are what Build makes and execute them.
package notebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// Name returns the notebook's file name for a guide folder: the folder's name plus .ipynb,
// inside the folder.
func Name(guide string) string {
	return filepath.Join(guide, filepath.Base(filepath.Clean(guide))+".ipynb")
}

// cell is one notebook cell as nbformat 4 writes it.
type cell struct {
	CellType       string            `json:"cell_type"`
	ExecutionCount json.RawMessage   `json:"execution_count,omitempty"` // null in code cells
	ID             string            `json:"id"`
	Metadata       map[string]any    `json:"metadata"`
	Outputs        *[]map[string]any `json:"outputs,omitempty"`
	Source         string            `json:"source"`
}

// Build returns the notebook of the guide in folder dir: the README's title and introduction,
// the rest of the README (its sections, excerpts and expected output), then two code cells —
// main.go's imports and declarations, and main's body as a GoNB %% cell that runs the guide.
// An error names the file that could not be read or parsed.
func Build(dir string) ([]byte, error) {
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	decls, body, err := split(filepath.Join(dir, "main.go"))
	if err != nil {
		return nil, err
	}
	intro, rest := string(readme), ""
	if i := strings.Index(intro, "\n## "); i >= 0 {
		intro, rest = intro[:i], intro[i+1:]
	}
	name := filepath.Base(filepath.Clean(dir))
	note := fmt.Sprintf("\n\n*This notebook is generated from [README.md](README.md) and [main.go](main.go) by "+
		"`go generate ./tutorials`: edit those. Run all cells on the \"Go (mlxgo)\" kernel; the last cell runs "+
		"the guide's program and prints what the sections below show (`go run ./tutorials/%s` prints the same).*", name)
	cells := []cell{markdown(strings.TrimSpace(intro) + note)}
	if rest = strings.TrimSpace(rest); rest != "" {
		cells = append(cells, markdown(rest))
	}
	cells = append(cells,
		markdown("## Run the guide\n\nThe program's declarations (imports are optional in a notebook: the kernel finds "+
			"these packages by name), then its `main`: a notebook cell is a program of its own, so the guide runs as one cell."),
		code(decls), code("%%\n"+body))
	for i := range cells {
		cells[i].ID = fmt.Sprintf("%s-%d", name, i)
	}
	nb := map[string]any{
		"cells": cells,
		"metadata": map[string]any{
			"kernelspec":    map[string]any{"display_name": "Go (mlxgo)", "language": "go", "name": "mlxgo"},
			"language_info": map[string]any{"name": "go"},
		},
		"nbformat": 4, "nbformat_minor": 5,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(nb); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func markdown(src string) cell {
	return cell{CellType: "markdown", Metadata: map[string]any{}, Source: src}
}

func code(src string) cell {
	return cell{CellType: "code", ExecutionCount: json.RawMessage("null"), Metadata: map[string]any{}, Source: src, Outputs: &[]map[string]any{}}
}

// split returns main.go's source after the package clause and its doc comment, without func
// main, and main's body de-indented by one tab.
func split(path string) (decls, body string, err error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("notebook: %w", err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return "", "", fmt.Errorf("notebook: %w", err)
	}
	var main *ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" {
			main = fn
		}
	}
	if main == nil {
		return "", "", fmt.Errorf("notebook: %s has no func main", path)
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	start := off(f.Name.End())
	mainStart := off(main.Pos())
	if main.Doc != nil {
		mainStart = off(main.Doc.Pos())
	}
	decls = strings.TrimSpace(string(src[start:mainStart])) + "\n\n" + strings.TrimSpace(string(src[off(main.End()):]))
	var lines []string
	for _, l := range strings.Split(strings.Trim(string(src[off(main.Body.Lbrace)+1:off(main.Body.Rbrace)]), "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	return strings.TrimSpace(decls), strings.Join(lines, "\n"), nil
}
