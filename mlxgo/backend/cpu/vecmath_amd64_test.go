package cpu

import (
	"testing"

	xcpu "golang.org/x/sys/cpu"
)

// forEachVariant runs f with each set of vector kernels this CPU can run.
func forEachVariant(t *testing.T, f func(t *testing.T)) {
	t.Run("avx2", func(t *testing.T) {
		if !haveVec {
			t.Skip("no AVX2+FMA: the Go loops run")
		}
		useAVX512(false)
		defer useAVX512(xcpu.X86.HasAVX512F)
		f(t)
	})
	t.Run("avx512", func(t *testing.T) {
		if !haveVec || !xcpu.X86.HasAVX512F {
			t.Skip("no AVX-512")
		}
		useAVX512(true)
		f(t)
	})
}
