package setup

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/mlxgo/mlxgo\n\ngo 1.26.0\n":       Module,
		"// comment\nmodule \"example.com/x\" // trailing\n": "example.com/x",
		"go 1.22\n": "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRepoRootFromSubfolder(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "kernel", "internal", "setup", "setup.go")); err != nil {
		t.Errorf("RepoRoot() = %s: %v", root, err)
	}
	t.Chdir(t.TempDir())
	if _, err := RepoRoot(); err == nil {
		t.Error("RepoRoot found a root outside the repository")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "PATH=/x", "B=2"}, map[string]string{"PATH": "/y", "GOFLAGS": ""}, map[string]string{"B": "3"})
	want := []string{"A=1", "B=3", "GOFLAGS=", "PATH=/y"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

func TestKernelSpecAndEnv(t *testing.T) {
	env, err := KernelEnv("/repo")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local"} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("env[%s] = %q, %v; want %q", k, got, ok, want)
		}
	}
	path := strings.Split(env["PATH"], string(os.PathListSeparator))
	if path[0] != "/repo/.cache/bin" {
		t.Errorf("PATH starts with %q, want the tools folder", path[0])
	}
	foundGo := false
	for _, d := range path {
		if st, err := os.Stat(filepath.Join(d, "go")); err == nil && !st.IsDir() {
			foundGo = true
		}
	}
	if !foundGo {
		t.Errorf("no go binary on the kernel's PATH %q", env["PATH"])
	}
	spec := NewKernelSpec("/repo/.cache/bin/gonb", "/repo", env)
	want := []string{"/repo/.cache/bin/gonb", "--kernel", "{connection_file}", "-logtostderr=true", "-raw_error=true", "-go_work=/repo"}
	if !slices.Equal(spec.Argv, want) || spec.DisplayName != "Go (mlxgo)" || spec.Language != "go" {
		t.Errorf("spec = %+v", spec)
	}
}

func TestWriteKernelSpecIdempotent(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GOPROXY": "off"}
	p, changed, err := writeKernelSpec(dir, "/g", "/r", env)
	if err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	if p != filepath.Join(dir, "kernels", "mlxgo", "kernel.json") {
		t.Errorf("path %s", p)
	}
	if _, changed, err = writeKernelSpec(dir, "/g", "/r", env); err != nil || changed {
		t.Errorf("second write: changed %v, %v", changed, err)
	}
	if _, changed, _ = writeKernelSpec(dir, "/g2", "/r", env); !changed {
		t.Error("a new gonb path did not rewrite the spec")
	}
}

func TestPublicPackages(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	env, err := KernelEnv(root)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, broken, err := PublicPackages(root, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("public packages: %v; with errors: %v", pkgs, broken)
	for _, want := range []string{Module + "/kernel", Module + "/widgets", Module + "/widgets/browsercheck"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, p := range append(pkgs, broken...) {
		if strings.Contains(p, "/internal") || strings.Contains(p, "/cmd/") {
			t.Errorf("listed %s", p)
		}
	}
}

func TestNotebookErrors(t *testing.T) {
	nb := `{"cells": [
 {"cell_type": "markdown", "source": "# title"},
 {"cell_type": "code", "source": ["import \"fmt\"\n", "\n", "%%\n", "x := undefined\n"], "outputs": [
   {"output_type": "stream", "name": "stderr", "text": "..."},
   {"output_type": "error", "ename": "ERROR", "evalue": "undefined: undefined\n", "traceback": []}]},
 {"cell_type": "code", "source": "%%\nfmt.Println(1)", "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]}
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	p := filepath.Join(t.TempDir(), "nb.ipynb")
	if err := os.WriteFile(p, []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	cells, errs, err := NotebookErrors(p)
	if err != nil {
		t.Fatal(err)
	}
	if cells != 2 || len(errs) != 1 {
		t.Fatalf("cells %d, errors %v", cells, errs)
	}
	if got, want := errs[0].String(), "cell 1 (x := undefined): ERROR: undefined: undefined"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

// TestGoimportsResolvesPreloaded runs the kernel's goimports, in the kernel's environment, on a
// cell using every Preloaded package by name alone: each must resolve to this module's package.
// It also shows the check catching a wrong guess: widgets.Slider exists only in GoNB's
// gonbui/widgets, so goimports picks that package for it.
func TestGoimportsResolvesPreloaded(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	env, err := KernelEnv(root)
	if err != nil {
		t.Fatal(err)
	}
	goimports := filepath.Join(t.TempDir(), "goimports")
	if err := buildTool(root, goimports, goimportsPkg); err != nil {
		t.Fatal(err)
	}
	got, err := CheckPreloaded(root, goimports, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("goimports resolved: %v", got)

	// No standard package and no other package of this module has a preloaded name.
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, _, err := PublicPackages(root, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Preloaded {
		if !slices.Contains(pkgs, p.Path) {
			t.Errorf("%s is not a public package of the module", p.Path)
		}
		for _, other := range append(strings.Fields(string(out)), pkgs...) {
			if other != p.Path && other[strings.LastIndex(other, "/")+1:] == p.Name {
				t.Errorf("%s shares the name %s with %s", other, p.Name, p.Path)
			}
		}
	}

	saved := Preloaded
	defer func() { Preloaded = saved }()
	Preloaded = []Preload{{"widgets", Module + "/widgets", "Slider"}}
	if _, err := CheckPreloaded(root, goimports, env); err == nil || !strings.Contains(err.Error(), "gonb/gonbui/widgets") {
		t.Errorf("widgets.Slider: err = %v, want a resolution to gonbui/widgets", err)
	}
}
