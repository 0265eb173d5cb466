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

// TestVecTailsDoNotAllocate: the exponential kernels' wrappers pad a slice's tail
// in a block on the stack, on both kernels; called through function values, that
// block had escaped to the heap once per call (per row of attention's softmax).
func TestVecTailsDoNotAllocate(t *testing.T) {
	if !haveVec {
		t.Skip("no AVX2")
	}
	x, y := make([]float32, 37), make([]float32, 37)
	for _, on := range []bool{false, true} {
		if on && !xcpu.X86.HasAVX512F {
			continue
		}
		useAVX512(on)
		allocs := testing.AllocsPerRun(20, func() {
			expVec(y, x)
			sigmoidVec(y, x)
			siluVec(y, x)
			siluGradVec(y, x, x)
			swigluGradVec(y, y, x, x, x)
			expSubSum(y, x, 1)
			sumExpSub(x, 1)
			expGradRow(y, x, 1, 0.5, 2)
		})
		if allocs != 0 {
			t.Errorf("AVX-512 %v: %v allocations per call of the wrappers, want 0", on, allocs)
		}
	}
	useAVX512(haveVec && xcpu.X86.HasAVX512F)
}
