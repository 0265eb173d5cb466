//go:build linux

package hugemem

import (
	"testing"
	"unsafe"
)

// TestMap: the memory starts on a huge-page boundary, is writable to its end, reads
// back through smaps (resident once touched; on huge pages where Linux gives them to
// madvised memory), and a part of it can be unmapped on its own.
func TestMap(t *testing.T) {
	const size = 4 << 20
	p, err := Map(size)
	if err != nil {
		t.Fatal(err)
	}
	if uintptr(p)%Page != 0 {
		t.Fatalf("mapped at %p, not on a huge page", p)
	}
	b := unsafe.Slice((*byte)(p), size)
	for i := range b {
		b[i] = byte(i)
	}
	rss, ok := SmapsKiB(uintptr(p), "Rss")
	if !ok || rss < size/1024 {
		t.Fatalf("Rss %d KiB (read %v), want at least %d", rss, ok, size/1024)
	}
	if huge, ok := SmapsKiB(uintptr(p), "AnonHugePages"); ok && MadviseOn() && huge == 0 {
		t.Error("transparent huge pages are on for madvised memory, but the mapping has none")
	}
	if err := Unmap(unsafe.Add(p, Page), Page); err != nil { // the second half alone
		t.Fatal(err)
	}
	if last := Page - 1; b[last] != byte(last) {
		t.Fatal("the first half changed when the second was unmapped")
	}
	if err := Unmap(p, Page); err != nil {
		t.Fatal(err)
	}
	if _, ok := SmapsKiB(uintptr(p), "Rss"); ok {
		t.Fatal("the mapping is still listed after Unmap")
	}
}
