//go:build darwin || freebsd || linux || netbsd

package blas

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installedLibraries opens every known library present on this machine.
func installedLibraries(t *testing.T) []*library {
	var libs []*library
	for _, c := range candidates() {
		if l, _ := openLibrary(c.names); l != nil {
			libs = append(libs, l)
		}
	}
	return libs
}

// TestEveryLibraryComputesSgemm checks each installed library (OpenBLAS,
// BLIS, MKL) against the reference on all the cases, so that whichever the
// calibration picks is right.
func TestEveryLibraryComputesSgemm(t *testing.T) {
	libs := installedLibraries(t)
	if len(libs) == 0 {
		t.Skip("no BLAS library installed")
	}
	for _, l := range libs {
		t.Logf("%s (%s) core %q", l.kind, l.path, l.core)
		r := rand.New(rand.NewPCG(3, 4))
		for _, tc := range gemmCases() {
			if tc.m == 0 || tc.n == 0 || tc.k == 0 || tc.alpha == 0 {
				continue // handled before the library is called
			}
			checkCase(t, l.kind, r, tc, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemmLib(l, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			})
		}
	}
}

// TestChooseCalibratesAndRemembers times the installed libraries, checks
// that the choice names them all with their timings, is written to the
// cache file, and is reused from it by the next call.
func TestChooseCalibratesAndRemembers(t *testing.T) {
	libs := installedLibraries(t)
	if len(libs) < 2 {
		t.Skip("needs two BLAS libraries (apt-get install libopenblas0-pthread libblis4-pthread)")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	l, why := choose(libs)
	t.Log(why)
	for _, o := range libs {
		if !strings.Contains(why, o.kind+" ") || !strings.Contains(why, " ms") {
			t.Errorf("reason %q does not time %s", why, o.kind)
		}
	}
	b, err := os.ReadFile(cacheFile())
	if err != nil || !strings.Contains(string(b), `"kind": "`+l.kind+`"`) {
		t.Fatalf("cache %s: %v\n%s", cacheFile(), err, b)
	}
	l2, why2 := choose(libs)
	if l2 != l || !strings.Contains(why2, "remembered in "+cacheFile()) {
		t.Errorf("second choice %s %q, want %s from the cache", l2.kind, why2, l.kind)
	}
	// A damaged cache is recalibrated, not trusted.
	if err := os.WriteFile(cacheFile(), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, why3 := choose(libs); strings.Contains(why3, "remembered") {
		t.Errorf("damaged cache used: %q", why3)
	}
	if filepath.Dir(cacheFile()) == "" {
		t.Error("no cache folder")
	}
}

// TestOpenBLASEnvRestoresEnvironment checks that the variables set for
// OpenBLAS while it loads are set as documented, removed afterwards, and
// never override the user's.
func TestOpenBLASEnvRestoresEnvironment(t *testing.T) {
	for _, k := range []string{"OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT"} {
		if v, set := os.LookupEnv(k); set {
			defer os.Setenv(k, v) // this machine's own setting
		}
		os.Unsetenv(k)
	}
	restore := openBLASEnv()
	if got, set := os.LookupEnv("OPENBLAS_CORETYPE"); set != cpuHasAVX512() || (set && got != "SKYLAKEX") {
		t.Errorf("during load: OPENBLAS_CORETYPE=%q (set %v), AVX-512 %v", got, set, cpuHasAVX512())
	}
	if got := os.Getenv("OPENBLAS_THREAD_TIMEOUT"); got != "4" {
		t.Errorf("during load: OPENBLAS_THREAD_TIMEOUT=%q", got)
	}
	restore()
	for _, k := range []string{"OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT"} {
		if _, set := os.LookupEnv(k); set {
			t.Errorf("%s left set", k)
		}
	}
	t.Setenv("OPENBLAS_CORETYPE", "HASWELL")
	t.Setenv("OPENBLAS_THREAD_TIMEOUT", "28")
	openBLASEnv()()
	if os.Getenv("OPENBLAS_CORETYPE") != "HASWELL" || os.Getenv("OPENBLAS_THREAD_TIMEOUT") != "28" {
		t.Error("user's settings changed")
	}
}
