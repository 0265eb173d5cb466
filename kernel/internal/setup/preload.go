package setup

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Preload is a package a notebook cell may use without an import line.
type Preload struct {
	// Name is the package name a cell writes (mx.FromSlice).
	Name string
	// Path is the import path it must mean.
	Path string
	// Probe is one exported name of the package, used to check what goimports picks.
	Probe string
}

// Preloaded lists the packages a cell may use with no import line. GoNB runs goimports on every
// cell; in the kernel's environment (GoNB's go.work using this repository, GOPROXY=off)
// goimports ranks the packages of a name by relevance — the standard library, then the
// workspace's modules (this one), then direct and indirect requirements, then the rest of the
// module cache — keeps only those exporting every name the cell uses from it, and among equals
// prefers the shorter import path. No standard package has one of these names and no two
// packages of this module share one, so each resolves to its package even where the module
// cache holds others of that name (gonbui/widgets, for one). CheckPreloaded verifies it with the
// kernel's goimports; Install runs it.
var Preloaded = []Preload{
	{"mx", Module + "/mlxgo/mx", "FromSlice"},
	{"nn", Module + "/mlxgo/nn", "NewLinear"},
	{"optim", Module + "/mlxgo/optim", "NewAdamW"},
	{"tree", Module + "/mlxgo/tree", "Flatten"},
	{"lm", Module + "/mlxgo/lm", "Load"},
	{"lora", Module + "/mlxgo/lm/lora", "Apply"},
	{"data", Module + "/mlxgo/lm/data", "LoadSplit"},
	{"trainer", Module + "/mlxgo/lm/trainer", "Defaults"},
	{"generate", Module + "/mlxgo/lm/generate", "Text"},
	{"tokenizer", Module + "/mlxgo/lm/tokenizer", "Load"},
	{"widgets", Module + "/widgets", "Table"},
	{"kernel", Module + "/kernel", "Save"},
}

// CheckPreloaded runs goimports on a cell-like program that uses every Preloaded package by its
// name alone, laid out as GoNB lays out a cell (a module of its own in a go.work using the
// repository) and with the kernel's environment. It returns what goimports imported for each
// name, and an error naming every name that resolved to another package or to none.
func CheckPreloaded(root, goimports string, env map[string]string) (map[string]string, error) {
	dir, err := cellModule(root, "preload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var src strings.Builder
	src.WriteString("package main\n\nfunc main() {\n")
	for _, p := range Preloaded {
		fmt.Fprintf(&src, "\t_ = %s.%s\n", p.Name, p.Probe)
	}
	src.WriteString("}\n")
	main := filepath.Join(dir, "main.go")
	if err := os.WriteFile(main, []byte(src.String()), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(goimports, "-w", main) // as GoNB runs it
	cmd.Dir = dir
	cmd.Env = mergeEnv(os.Environ(), env)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("setup: %s -w main.go: %w\n%s", goimports, err, out)
	}
	f, err := parser.ParseFile(token.NewFileSet(), main, nil, parser.ImportsOnly)
	if err != nil {
		return nil, fmt.Errorf("setup: goimports output: %w", err)
	}
	got := map[string]string{}
	byPath := map[string]string{}
	for _, p := range Preloaded {
		byPath[p.Path] = p.Name
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := byPath[path]
		if imp.Name != nil {
			name = imp.Name.Name
		} else if name == "" {
			name = path[strings.LastIndex(path, "/")+1:]
		}
		got[name] = path
	}
	var wrong []string
	for _, p := range Preloaded {
		if got[p.Name] != p.Path {
			wrong = append(wrong, fmt.Sprintf("%s.%s resolves to %q, want %q", p.Name, p.Probe, got[p.Name], p.Path))
		}
	}
	if len(wrong) > 0 {
		return got, fmt.Errorf("setup: goimports, in the kernel's environment: %s", strings.Join(wrong, "; "))
	}
	return got, nil
}

// preloadedNames returns the Preloaded names, comma-separated.
func preloadedNames() string {
	names := make([]string, len(Preloaded))
	for i, p := range Preloaded {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
