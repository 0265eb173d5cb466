package cpu

import (
	"testing"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/hugemem"
)

// TestMapBytesRegions: buffers are cut one after another from a region that
// starts on a huge-page boundary, each to its own 4 KiB pages; a large one gets
// an aligned mapping of its own; freed buffers leave their neighbours intact;
// and where Linux has transparent huge pages for madvised memory, a region's
// touched memory is on them.
func TestMapBytesRegions(t *testing.T) {
	const mb = 1 << 20
	addr := func(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
	region.mu.Lock()
	region.next, region.end = nil, nil // start a fresh region
	region.mu.Unlock()
	sizes := []int{mb + 1, 3*mb + 5000, mb, 2 * mb}
	bufs := make([][]byte, len(sizes))
	for i, n := range sizes {
		b, _ := mapBytes(n)
		if len(b) != n || cap(b) != (n+4095)/4096*4096 {
			t.Fatalf("buffer %d: len %d cap %d, want %d and %d", i, len(b), cap(b), n, (n+4095)/4096*4096)
		}
		for j := range b {
			b[j] = byte(i + 1)
		}
		bufs[i] = b
	}
	if addr(bufs[0])%hugemem.Page != 0 {
		t.Fatalf("a fresh region starts at %#x, not on a huge page", addr(bufs[0]))
	}
	for i := 1; i < len(bufs); i++ {
		if addr(bufs[i]) != addr(bufs[i-1])+uintptr(cap(bufs[i-1])) {
			t.Fatalf("buffer %d at %#x does not follow buffer %d (%#x + %d)", i, addr(bufs[i]), i-1, addr(bufs[i-1]), cap(bufs[i-1]))
		}
	}
	if huge, ok := hugemem.SmapsKiB(addr(bufs[0]), "AnonHugePages"); ok && hugemem.MadviseOn() && huge == 0 {
		t.Errorf("transparent huge pages are on for madvised memory, but the region has none")
	}
	unmapBytes(bufs[1]) // a hole in the region: its neighbours keep their contents
	for _, i := range []int{0, 2, 3} {
		for j, v := range bufs[i] {
			if v != byte(i+1) {
				t.Fatalf("buffer %d byte %d is %d after its neighbour was freed", i, j, v)
			}
		}
	}
	big, _ := mapBytes(regionSize / 2)
	if addr(big)%hugemem.Page != 0 || len(big) != regionSize/2 {
		t.Fatalf("a large buffer at %#x, %d bytes", addr(big), len(big))
	}
	big[len(big)-1] = 1
	if next, _ := mapBytes(mb); addr(next) != addr(bufs[3])+uintptr(cap(bufs[3])) {
		t.Fatalf("a large buffer moved the region on")
	} else {
		unmapBytes(next)
	}
	for _, b := range [][]byte{bufs[0], bufs[2], bufs[3], big} {
		unmapBytes(b)
	}
}
