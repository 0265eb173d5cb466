// Package setup installs the "Go (mlxgo)" Jupyter kernel and executes notebooks with it. It
// is the code behind kernel/cmd/install and kernel/cmd/runnb.
//
// The kernel is GoNB (pinned by the module's go.mod), built into <repo>/.cache/bin together
// with goimports (and gopls when it builds offline). Its kernelspec runs GoNB with
// -go_work=<repo> and an offline Go environment (GOPROXY=off, GOSUMDB=off), so cells import
// this module's packages, gonbui and go-echarts without network. Installing also compiles a
// throwaway program importing all of them with the kernel's environment, so the first cell
// finds the Go build cache warm.
package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Module is the module path of this repository.
const Module = "github.com/mlxgo/mlxgo"

// KernelName and DisplayName identify the kernelspec.
const (
	KernelName  = "mlxgo"
	DisplayName = "Go (mlxgo)"
)

// Tool versions.
const (
	gonbPkg      = "github.com/janpfeifer/gonb"
	goimportsPkg = "golang.org/x/tools/cmd/goimports"
	goplsPkg     = "golang.org/x/tools/gopls@v0.23.0"
)

// aptHint is appended to errors about missing Debian packages.
const aptHint = "install jupyter-notebook, jupyter-nbconvert, python3-nbclient, python3-ipykernel and jupyter-client: run make setup"

// RepoRoot walks up from the working directory to the go.mod of this module and returns its
// folder.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == Module {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("setup: no go.mod of %s in %s or above it: run from inside the repository", Module, wd)
		}
	}
}

// modulePath returns the module path declared by go.mod content, or "".
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"`")
		}
	}
	return ""
}

// Jupyter returns the jupyter command to use: $MLXGO_JUPYTER when set, else Debian's
// /usr/bin/jupyter when it exists (PATH may hold a pyenv Python without Jupyter), else
// jupyter from PATH.
func Jupyter() (string, error) {
	if p := os.Getenv("MLXGO_JUPYTER"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("setup: $MLXGO_JUPYTER: %w (%s)", err, aptHint)
		}
		return path, nil
	}
	if st, err := os.Stat("/usr/bin/jupyter"); err == nil && !st.IsDir() {
		return "/usr/bin/jupyter", nil
	}
	if p, err := exec.LookPath("jupyter"); err == nil {
		return p, nil
	}
	return "", errors.New("setup: jupyter not found: " + aptHint)
}

// DataDir returns the Jupyter data folder: $JUPYTER_DATA_DIR, else `jupyter --data-dir`.
func DataDir(jupyter string) (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	out, err := exec.Command(jupyter, "--data-dir").Output()
	if err != nil {
		return "", fmt.Errorf("setup: %s --data-dir: %w (%s)", jupyter, err, aptHint)
	}
	d := strings.TrimSpace(string(out))
	if d == "" {
		return "", fmt.Errorf("setup: %s --data-dir printed nothing", jupyter)
	}
	return d, nil
}

// KernelDir returns the folder of the mlxgo kernelspec in the Jupyter data folder.
func KernelDir(dataDir string) string { return filepath.Join(dataDir, "kernels", KernelName) }

// Options control Install.
type Options struct {
	// Root is the repository root; empty means RepoRoot().
	Root string
	// Force rebuilds the tools even when they are newer than go.mod.
	Force bool
	// NoPrewarm skips compiling the module's packages into the build cache.
	NoPrewarm bool
	// Log receives progress lines; nil means os.Stderr.
	Log io.Writer
}

// Result reports what Install did.
type Result struct {
	// KernelJSON is the path of the written kernelspec.
	KernelJSON string
	// Gonb, Goimports and Gopls are the tool binaries ("" for gopls when it did not build).
	Gonb, Goimports, Gopls string
	// Built lists the tools built by this run, with their build times.
	Built map[string]time.Duration
	// Prewarmed lists the packages compiled into the build cache.
	Prewarmed []string
	// PrewarmTime is how long the pre-warming build took.
	PrewarmTime time.Duration
	// PreloadErr is CheckPreloaded's error: a package of Preloaded a cell cannot use without
	// an import line. It does not fail Install.
	PreloadErr error
	// PrewarmErr is the pre-warming error, if any: it does not fail Install (a package that does
	// not compile fails the cells that import it, with the compiler's message).
	PrewarmErr error
}

// Install builds the tools, writes the kernelspec and pre-warms the build cache.
func Install(o Options) (*Result, error) {
	logw := o.Log
	if logw == nil {
		logw = os.Stderr
	}
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "install: "+format+"\n", args...) }
	root := o.Root
	if root == "" {
		var err error
		if root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	jupyter, err := Jupyter()
	if err != nil {
		return nil, err
	}
	dataDir, err := DataDir(jupyter)
	if err != nil {
		return nil, err
	}
	env, err := KernelEnv(root)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, ".cache", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	gomod, err := os.Stat(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	res := &Result{Built: map[string]time.Duration{}}
	fresh := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !o.Force && st.ModTime().After(gomod.ModTime())
	}
	// The tools build with the developer's environment (module proxy allowed), from the
	// versions go.mod pins.
	for _, tool := range []struct{ name, pkg string }{{"gonb", gonbPkg}, {"goimports", goimportsPkg}} {
		dst := filepath.Join(bin, tool.name)
		if fresh(dst) {
			logf("%s: up to date (%s)", tool.name, dst)
		} else {
			start := time.Now()
			if err := buildTool(root, dst, tool.pkg); err != nil {
				return nil, err
			}
			res.Built[tool.name] = time.Since(start)
			logf("%s: built in %.1fs (%s)", tool.name, res.Built[tool.name].Seconds(), dst)
		}
	}
	res.Gonb, res.Goimports = filepath.Join(bin, "gonb"), filepath.Join(bin, "goimports")
	res.Gopls = tryGopls(bin, fresh, env, res, logf)

	kernelJSON, changed, err := writeKernelSpec(dataDir, res.Gonb, root, env)
	if err != nil {
		return nil, err
	}
	res.KernelJSON = kernelJSON
	if changed {
		logf("kernelspec %q (%s) written to %s", KernelName, DisplayName, kernelJSON)
	} else {
		logf("kernelspec %q up to date in %s", KernelName, kernelJSON)
	}
	if !o.NoPrewarm {
		start := time.Now()
		res.Prewarmed, res.PrewarmErr = Prewarm(root, env)
		res.PrewarmTime = time.Since(start)
		if res.PrewarmErr != nil {
			logf("warning: pre-warming the build cache failed after %.1fs: %v", res.PrewarmTime.Seconds(), res.PrewarmErr)
		} else {
			logf("build cache warm: %d packages compiled in %.1fs", len(res.Prewarmed), res.PrewarmTime.Seconds())
		}
	}
	if _, err := CheckPreloaded(root, res.Goimports, env); err != nil {
		res.PreloadErr = err
		logf("warning: a package name will not resolve in cells without an import line: %v", err)
	} else {
		logf("cells may use %s without importing them", preloadedNames())
	}
	return res, nil
}

// buildTool runs `go build -o dst pkg` in the repository, writing through a temporary name so
// a concurrent install never sees half a binary.
func buildTool(root, dst, pkg string) error {
	tmp := dst + ".tmp-" + fmt.Sprint(os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("setup: go build %s: %w\n%s", pkg, err, out)
	}
	return os.Rename(tmp, dst)
}

// tryGopls installs gopls v0.23.0 when the module cache has it (offline); it is optional (GoNB
// uses it for completion and hover). A failure is remembered until go.mod changes.
func tryGopls(bin string, fresh func(string) bool, env map[string]string, res *Result, logf func(string, ...any)) string {
	dst := filepath.Join(bin, "gopls")
	marker := filepath.Join(bin, ".gopls-unavailable")
	if fresh(dst) {
		return dst
	}
	if fresh(marker) {
		logf("gopls: not available offline (cached result; optional: completion and hover in notebooks)")
		return ""
	}
	start := time.Now()
	tmpBin, err := os.MkdirTemp(bin, ".gopls-")
	if err != nil {
		return ""
	}
	defer os.RemoveAll(tmpBin)
	cmd := exec.Command("go", "install", goplsPkg)
	cmd.Dir = bin
	cmd.Env = mergeEnv(os.Environ(), env, map[string]string{"GOBIN": tmpBin, "GOWORK": "off"})
	out, err := cmd.CombinedOutput()
	if err == nil {
		err = os.Rename(filepath.Join(tmpBin, "gopls"), dst)
	}
	if err != nil {
		_ = os.WriteFile(marker, out, 0o644)
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		logf("gopls: not built offline (optional: completion and hover in notebooks): %s", first)
		return ""
	}
	res.Built["gopls"] = time.Since(start)
	logf("gopls: built in %.1fs (%s)", res.Built["gopls"].Seconds(), dst)
	return dst
}

// KernelEnv returns the environment the kernelspec gives GoNB (and so every cell's go build):
// offline module resolution, the same caches as the installer, and a PATH holding go, gonb and
// goimports.
func KernelEnv(root string) (map[string]string, error) {
	out, err := exec.Command("go", "env", "-json", "GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("setup: go env: %w", err)
	}
	var goenv map[string]string
	if err := json.Unmarshal(out, &goenv); err != nil {
		return nil, fmt.Errorf("setup: go env: %w", err)
	}
	path := []string{filepath.Join(root, ".cache", "bin"), filepath.Join(goenv["GOROOT"], "bin")}
	if gp := goenv["GOPATH"]; gp != "" {
		path = append(path, filepath.Join(strings.Split(gp, string(os.PathListSeparator))[0], "bin"))
	}
	path = append(path, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
	return map[string]string{
		"GOPROXY":     "off",
		"GOSUMDB":     "off",
		"GOFLAGS":     "", // -mod=mod would break workspace mode
		"GOTOOLCHAIN": "local",
		"GOWORK":      "", // GoNB's own go.work, not an inherited one
		"GOCACHE":     goenv["GOCACHE"],
		"GOMODCACHE":  goenv["GOMODCACHE"],
		"PATH":        strings.Join(path, string(os.PathListSeparator)),
	}, nil
}

// mergeEnv returns base with the keys of each override set (later overrides win).
func mergeEnv(base []string, overrides ...map[string]string) []string {
	set := map[string]string{}
	for _, o := range overrides {
		for k, v := range o {
			set[k] = v
		}
	}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

// KernelSpec is the content of kernel.json.
type KernelSpec struct {
	// Argv is the kernel's command line; Jupyter replaces {connection_file}.
	Argv []string `json:"argv"`
	// DisplayName is the name shown in Jupyter's kernel menu.
	DisplayName string `json:"display_name"`
	// Language is the kernel's language, "go".
	Language string `json:"language"`
	// Env is added to the kernel's environment.
	Env map[string]string `json:"env"`
	// Metadata records where the kernel comes from.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// NewKernelSpec returns the kernelspec for the gonb binary, the repository root and env.
func NewKernelSpec(gonb, root string, env map[string]string) KernelSpec {
	return KernelSpec{
		Argv: []string{gonb, "--kernel", "{connection_file}", "-logtostderr=true", "-raw_error=true",
			"-go_work=" + root},
		DisplayName: DisplayName,
		Language:    "go",
		Env:         env,
		Metadata:    map[string]any{"mlxgo": map[string]any{"root": root, "installer": "go run ./kernel/cmd/install"}},
	}
}

// writeKernelSpec writes kernels/mlxgo/kernel.json when its content changes.
func writeKernelSpec(dataDir, gonb, root string, env map[string]string) (string, bool, error) {
	dir := KernelDir(dataDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("setup: creating %s: %w", dir, err)
	}
	data, err := json.MarshalIndent(NewKernelSpec(gonb, root, env), "", "  ")
	if err != nil {
		return "", false, err
	}
	data = append(data, '\n')
	p := filepath.Join(dir, "kernel.json")
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return p, false, nil
	}
	tmp := p + ".tmp-" + fmt.Sprint(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", false, err
	}
	return p, true, nil
}

// Uninstall removes the mlxgo kernelspec from the Jupyter data folder; it reports whether one
// was there.
func Uninstall() (string, bool, error) {
	jupyter, err := Jupyter()
	if err != nil {
		return "", false, err
	}
	dataDir, err := DataDir(jupyter)
	if err != nil {
		return "", false, err
	}
	dir := KernelDir(dataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return dir, false, nil
	}
	return dir, true, os.RemoveAll(dir)
}

// PublicPackages lists the module's packages a notebook may import: not internal, not under
// cmd, not main, with Go files, and compiling without listing errors. Packages go list reports
// with errors are returned separately.
func PublicPackages(root string, env map[string]string) (pkgs, broken []string, err error) {
	cmd := exec.Command("go", "list", "-e", "-f",
		"{{.ImportPath}}\t{{.Name}}\t{{len .GoFiles}}\t{{len .CgoFiles}}\t{{if .Error}}error{{end}}{{if .DepsErrors}}error{{end}}",
		Module+"/...")
	cmd.Dir = root
	cmd.Env = mergeEnv(os.Environ(), env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("setup: go list: %w\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") { // not TrimSpace: lines end with a tab
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			continue
		}
		path, name, goFiles, cgoFiles, errs := f[0], f[1], f[2], f[3], f[4]
		rel := strings.TrimPrefix(strings.TrimPrefix(path, Module), "/")
		elems := strings.Split(rel, "/")
		if slices.Contains(elems, "internal") || slices.Contains(elems, "cmd") || slices.Contains(elems, "testdata") ||
			name == "main" || (goFiles == "0" && cgoFiles == "0") {
			continue
		}
		if errs != "" {
			broken = append(broken, path)
			continue
		}
		pkgs = append(pkgs, path)
	}
	return pkgs, broken, nil
}

// prewarmExtra are the non-module packages cells use.
var prewarmExtra = []string{
	"github.com/janpfeifer/gonb/gonbui",
	"github.com/go-echarts/go-echarts/v2/charts",
	"github.com/go-echarts/go-echarts/v2/components",
	"github.com/go-echarts/go-echarts/v2/opts",
}

// cellModule creates a folder under <root>/.cache laid out as GoNB lays out a cell: a module of
// its own, replacing this module by the repository, in a go.work that uses both.
func cellModule(root, prefix string) (string, error) {
	cacheDir := filepath.Join(root, ".cache")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(cacheDir, prefix)
	if err != nil {
		return "", err
	}
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
	}
	files := map[string]string{
		"go.mod":  fmt.Sprintf("module mlxgo_%s\n\ngo %s\n\nreplace %s => %s\n", strings.TrimSuffix(prefix, "-"), goVersion, Module, root),
		"go.work": fmt.Sprintf("go %s\n\nuse (\n\t.\n\t%s\n)\n", goVersion, root),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// Prewarm compiles a throwaway program importing every public package of the module plus
// gonbui and go-echarts, laid out as GoNB lays out a cell (a module of its own in a go.work
// that uses the repository) and built with the kernel's environment, so the packages land in
// the build cache cells use. It returns the packages compiled.
func Prewarm(root string, env map[string]string) ([]string, error) {
	pkgs, broken, err := PublicPackages(root, env)
	if err != nil {
		return nil, err
	}
	pkgs = append(pkgs, prewarmExtra...)
	dir, err := cellModule(root, "prewarm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var src strings.Builder
	src.WriteString("// Code generated by kernel/internal/setup to pre-warm the Go build cache. DO NOT EDIT.\n\npackage main\n\nimport (\n")
	for _, p := range pkgs {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src.String()), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "prewarm"), ".")
	cmd.Dir = dir
	cmd.Env = mergeEnv(os.Environ(), env) // GOWORK="" finds dir/go.work, as GoNB's cells find theirs
	if out, err := cmd.CombinedOutput(); err != nil {
		return pkgs, fmt.Errorf("go build of %d packages: %w\n%s", len(pkgs), err, out)
	}
	if len(broken) > 0 {
		return pkgs, fmt.Errorf("packages left out because go list reports errors: %s", strings.Join(broken, ", "))
	}
	return pkgs, nil
}
