//go:build darwin || freebsd || linux || netbsd

package blas

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/ebitengine/purego"
)

// candidate is a BLAS library the package knows by name.
type candidate struct {
	kind  string
	names []string // tried in order; the first that opens is used
}

// candidates lists the libraries opened when MLXGO_BLAS names none, in order
// of preference when they are equally fast.
func candidates() []candidate {
	if runtime.GOOS == "darwin" {
		return []candidate{{"accelerate", []string{"/System/Library/Frameworks/Accelerate.framework/Accelerate"}}}
	}
	return []candidate{
		{"openblas", []string{"libopenblas.so.0", "libopenblas.so"}},
		{"blis", []string{"libblis.so.4", "libblis.so"}},
		{"mkl", []string{"libmkl_rt.so.2", "libmkl_rt.so"}},
	}
}

// openDefault opens the known libraries (only those of kind, unless kind is
// empty) and returns the one to use and why. libblas.so.3 is tried when
// none of them opens.
func openDefault(kind string) (*library, string) {
	var libs []*library
	var errs []string
	for _, c := range candidates() {
		if kind != "" && c.kind != kind {
			continue
		}
		l, why := openLibrary(c.names)
		if l == nil {
			errs = append(errs, why)
			continue
		}
		libs = append(libs, l)
	}
	if len(libs) == 0 && kind == "" && runtime.GOOS != "darwin" {
		l, why := openLibrary([]string{"libblas.so.3"})
		if l != nil {
			return l, "no OpenBLAS, BLIS or MKL found; generic libblas.so.3"
		}
		errs = append(errs, why)
	}
	switch len(libs) {
	case 0:
		return nil, strings.Join(errs, "; ")
	case 1:
		if kind != "" {
			return libs[0], "MLXGO_BLAS=" + kind
		}
		return libs[0], "the only BLAS library found"
	}
	return choose(libs)
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

// openOne loads one library and finds its thread controls.
func openOne(name string) (*library, error) {
	base := filepath.Base(name)
	if strings.HasPrefix(base, "libopenblas") {
		restore := openBLASEnv()
		defer restore()
	}
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
	has := func(s string) uintptr {
		p, err := purego.Dlsym(h, s)
		if err != nil {
			return 0
		}
		return p
	}
	switch {
	case has("openblas_set_num_threads") != 0:
		l.kind = "openblas"
		purego.RegisterFunc(&l.setThreads, has("openblas_set_num_threads"))
		if p := has("openblas_get_num_threads"); p != 0 {
			purego.RegisterFunc(&l.getThreads, p)
		}
		if p := has("openblas_get_corename"); p != 0 {
			var corename func() string
			purego.RegisterFunc(&corename, p)
			l.core = corename()
		}
	case has("bli_thread_set_num_threads") != 0:
		l.kind = "blis"
		var set func(n int64)
		var get func() int64
		purego.RegisterFunc(&set, has("bli_thread_set_num_threads"))
		purego.RegisterFunc(&get, has("bli_thread_get_num_threads"))
		l.setThreads = func(n int32) { set(int64(n)) }
		l.getThreads = func() int32 { return int32(get()) }
		if q, s := has("bli_arch_query_id"), has("bli_arch_string"); q != 0 && s != 0 {
			var query func() int32
			var str func(int32) string
			purego.RegisterFunc(&query, q)
			purego.RegisterFunc(&str, s)
			l.core = str(query())
		}
	case has("MKL_Set_Num_Threads") != 0:
		l.kind = "mkl"
		var set func(n int32)
		var get func() int32
		purego.RegisterFunc(&set, has("MKL_Set_Num_Threads"))
		l.setThreads = set
		if p := has("MKL_Get_Max_Threads"); p != 0 {
			purego.RegisterFunc(&get, p)
			l.getThreads = get
		}
	}
	if strings.Contains(base, "Accelerate") {
		l.kind = "accelerate"
	}
	// The handle stays open for the life of the process.
	return l, nil
}

// openBLASEnv sets, while OpenBLAS loads and only where the user has not
// set them, the variables it reads once at start:
//
//   - OPENBLAS_CORETYPE=SKYLAKEX when the CPU has the AVX-512 subsets those
//     kernels use. OpenBLAS 0.3.21 (Debian 12) does not recognise recent
//     Xeons: on the Sapphire-Rapids-class VM of the README it ran its SSE3
//     "Prescott" kernels. SkylakeX's single-precision kernels are the ones
//     every later x86 core of OpenBLAS reuses.
//   - OPENBLAS_THREAD_TIMEOUT=4: its idle threads otherwise spin, calling
//     sched_yield, for about 2^28 cycles (a tenth of a second) after every
//     product, taking cores from the goroutines of the kernels that run
//     between products; with 4 they sleep at once and are woken by the next
//     product.
//
// It returns a function that restores the environment.
func openBLASEnv() (restore func()) {
	var set []string
	setIfUnset := func(k, v string) {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
			set = append(set, k)
		}
	}
	if cpuHasAVX512() {
		setIfUnset("OPENBLAS_CORETYPE", "SKYLAKEX")
	}
	setIfUnset("OPENBLAS_THREAD_TIMEOUT", "4")
	return func() {
		for _, k := range set {
			os.Unsetenv(k)
		}
	}
}

// cpuHasAVX512 reports whether /proc/cpuinfo lists AVX-512 F, CD, BW, DQ
// and VL, the subsets OpenBLAS's SkylakeX kernels need.
func cpuHasAVX512() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "flags") {
			flags := strings.Fields(line)
			for _, f := range []string{"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} {
				if !slices.Contains(flags, f) {
					return false
				}
			}
			return true
		}
	}
	return false
}
