package mlxc

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// EnvPath is the environment variable naming the mlx-c library to load.
const EnvPath = "MLXGO_MLXC_PATH"

// Lib is the loaded mlx-c library and the goroutine that drives it.
type Lib struct {
	path    string
	handle  uintptr
	cMinor  int    // mlx-c minor version: 5 or 6
	version string // MLX's version, e.g. "0.31.2"
	device  string // "cpu" or "gpu"
	f       funcs
	lazy    map[string]any // functions bound on first use, by symbol (MLX goroutine only)
	calls   chan func()
	stream  uintptr // the default stream of the MLX goroutine's thread

	freeMu sync.Mutex
	toFree []Array // released from other goroutines, freed before the next Do
}

var (
	loadOnce sync.Once
	loaded   *Lib
	loadErr  error
)

// Load opens mlx-c once per process: MLXGO_MLXC_PATH when set, else the first of
// [DefaultPaths] that opens. It installs the error handler and starts the MLX goroutine.
// Later calls return the same library, or the same error.
func Load() (*Lib, error) {
	loadOnce.Do(func() {
		if p := os.Getenv(EnvPath); p != "" {
			loaded, loadErr = open([]string{p})
			if loadErr != nil {
				loadErr = fmt.Errorf("mlxc: %s=%s: %w", EnvPath, p, loadErr)
			}
			return
		}
		loaded, loadErr = open(DefaultPaths())
		if loadErr != nil {
			loadErr = fmt.Errorf("mlxc: no mlx-c library (set %s, or on macOS `brew install mlx-c`): %w", EnvPath, loadErr)
		}
	})
	return loaded, loadErr
}

// DefaultPaths lists the locations tried, in order, when MLXGO_MLXC_PATH is unset: the
// Homebrew and /usr/local prefixes, then bare names the dynamic linker resolves.
func DefaultPaths() []string {
	if runtime.GOOS == "darwin" {
		return []string{"/opt/homebrew/lib/libmlxc.dylib", "/usr/local/lib/libmlxc.dylib", "libmlxc.dylib"}
	}
	return []string{"/usr/local/lib/libmlxc.so", "libmlxc.so"}
}

// open loads the first of names that opens and exports mlx-c's entry points.
func open(names []string) (*Lib, error) {
	var errs []string
	for _, name := range names {
		l, err := openOne(name)
		if err == nil {
			return l, nil
		}
		errs = append(errs, err.Error())
	}
	return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
}

// openOne loads one library, binds its functions and starts the MLX goroutine. MLX's
// own library (libmlx) beside it is loaded first, so a build installed in a prefix the
// dynamic linker does not search works without LD_LIBRARY_PATH.
func openOne(name string) (*Lib, error) {
	if dir := filepath.Dir(name); dir != "." {
		for _, dep := range []string{"libmlx.so", "libmlx.dylib"} {
			if p := filepath.Join(dir, dep); fileExists(p) {
				purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL) // an error shows below
			}
		}
	}
	h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	l := &Lib{path: name, handle: h, lazy: map[string]any{}}
	if _, err := purego.Dlsym(h, "mlx_set_error_handler"); err != nil {
		purego.Dlclose(h)
		return nil, fmt.Errorf("%s: not mlx-c (no mlx_set_error_handler)", name)
	}
	l.cMinor = 5
	if s, err := purego.Dlsym(h, "mlx_slice_update_add"); err == nil && s != 0 {
		l.cMinor = 6 // added in mlx-c 0.6 with MLX 0.31
	}
	if err := l.bind(); err != nil {
		purego.Dlclose(h)
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	// The handle stays open for the life of the process, and so does the goroutine.
	l.calls = make(chan func())
	started := make(chan error)
	go l.loop(started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return l, nil
}

// bind registers every function of l.f from the library. A field tagged "name,v6" is
// bound only with mlx-c 0.6, "name,v5" only with 0.5.
func (l *Lib) bind() error {
	v := reflect.ValueOf(&l.f).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name, only, _ := strings.Cut(t.Field(i).Tag.Get("mlx"), ",")
		if name == "" {
			continue
		}
		if only == "v6" && l.cMinor != 6 || only == "v5" && l.cMinor != 5 {
			continue
		}
		sym, err := purego.Dlsym(l.handle, name)
		if err != nil || sym == 0 {
			return fmt.Errorf("missing %s", name)
		}
		f := v.Field(i)
		purego.RegisterFunc(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Interface(), sym)
	}
	return nil
}

// lazyFn returns the library function name bound as type F, binding it on first use.
// It panics with an [*Error] when the library has no such function. Only the MLX
// goroutine calls it.
func lazyFn[F any](l *Lib, name string) F {
	if f, ok := l.lazy[name]; ok {
		return f.(F)
	}
	s, err := purego.Dlsym(l.handle, name)
	if err != nil || s == 0 {
		panic(&Error{Func: name, Msg: "not in " + l.path + " (" + l.Version() + ")"})
	}
	var f F
	purego.RegisterFunc(&f, s)
	l.lazy[name] = f
	return f
}

// Path is the file the library was loaded from.
func (l *Lib) Path() string { return l.path }

// Version describes what is loaded, e.g. "mlx-c 0.6 (MLX 0.31.2)".
func (l *Lib) Version() string { return fmt.Sprintf("mlx-c 0.%d (MLX %s)", l.cMinor, l.version) }

// CMinor is the minor version of the mlx-c API loaded: 5 or 6.
func (l *Lib) CMinor() int { return l.cMinor }

// Device is the device MLX runs on by default: "gpu" (Metal or CUDA) or "cpu".
func (l *Lib) Device() string { return l.device }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
