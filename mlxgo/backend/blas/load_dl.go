//go:build darwin || freebsd || linux || netbsd

package blas

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ebitengine/purego"
)

// defaultLibraries lists the libraries tried, in order, when MLXGO_BLAS
// does not name one.
func defaultLibraries() []string {
	if runtime.GOOS == "darwin" {
		return []string{"/System/Library/Frameworks/Accelerate.framework/Accelerate"}
	}
	return []string{"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}
}

// openDefault loads the first usable default library.
func openDefault() (*library, string) {
	return openLibrary(defaultLibraries())
}

// openLibrary loads the first of names that opens and exports
// cblas_sgemm. On failure it returns nil and the reasons.
func openLibrary(names []string) (*library, string) {
	var errs []string
	for _, name := range names {
		l, err := openOne(name)
		if err == nil {
			return l, ""
		}
		errs = append(errs, err.Error())
	}
	return nil, "no usable BLAS: " + strings.Join(errs, "; ")
}

// openOne loads one library.
func openOne(name string) (*library, error) {
	h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	sym, err := purego.Dlsym(h, "cblas_sgemm")
	if err != nil || sym == 0 {
		purego.Dlclose(h)
		return nil, fmt.Errorf("%s: no cblas_sgemm", name)
	}
	l := &library{kind: "blas", path: name}
	purego.RegisterFunc(&l.sgemm, sym)
	if s, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil && s != 0 {
		purego.RegisterFunc(&l.setThreads, s)
		l.kind = "openblas"
	}
	if s, err := purego.Dlsym(h, "openblas_get_num_threads"); err == nil && s != 0 {
		purego.RegisterFunc(&l.getThreads, s)
	}
	if strings.Contains(filepath.Base(name), "Accelerate") {
		l.kind = "accelerate"
	}
	// The handle stays open for the life of the process.
	return l, nil
}
