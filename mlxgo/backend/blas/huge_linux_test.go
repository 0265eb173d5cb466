package blas

import (
	"testing"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/hugemem"
)

// TestHugeFloats: the calibration's memory starts on a huge-page boundary and
// holds n writable floats.
func TestHugeFloats(t *testing.T) {
	for _, n := range []int{1, 1000, 3 << 20} {
		f, free := hugeFloats(n)
		if len(f) != n || uintptr(unsafe.Pointer(&f[0]))%hugemem.Page != 0 {
			t.Fatalf("n=%d: %d floats at %p", n, len(f), &f[0])
		}
		for i := range f {
			f[i] = float32(i)
		}
		if f[n-1] != float32(n-1) {
			t.Fatalf("n=%d: last float %v", n, f[n-1])
		}
		free()
	}
}
