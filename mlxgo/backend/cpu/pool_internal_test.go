package cpu

import (
	"testing"
)

// TestPoolNeverHoldsMoreThanItsPeak: a buffer of a new size frees cached buffers first,
// so active plus cached memory stays within 1.1× the highest active memory, dropping
// the smallest buffer that makes room; freed mapped memory is unmapped, and cached
// buffers are handed out again.
func TestPoolNeverHoldsMoreThanItsPeak(t *testing.T) {
	p := &allocator{free: map[int][][]byte{}, cacheLimit: 1 << 30}
	const mb = 1 << 20
	held := func() int64 { return p.active + p.cached }
	a, b := p.get(8*mb), p.get(4*mb)
	a.bytes[8*mb-1], b.bytes[0] = 1, 2 // mapped memory is writable to its end
	p.put(a.bytes)
	p.put(b.bytes)
	if p.active != 0 || p.cached != 12*mb || p.maxActive != 12*mb {
		t.Fatalf("after freeing: active %d, cached %d, max %d", p.active, p.cached, p.maxActive)
	}
	c := p.get(4 * mb) // from the cache
	if p.misses != 2 || p.missBytes != 12*mb || &c.bytes[0] != &b.bytes[0] {
		t.Fatalf("a cached 4 MiB buffer was not reused (%d misses)", p.misses)
	}
	d := p.get(6 * mb) // new size: 4 + 8 + 6 > 13.2, so the 8 MiB buffer goes
	if held() > p.maxActive || p.cached != 0 {
		t.Fatalf("active %d + cached %d exceeds the peak %d", p.active, p.cached, p.maxActive)
	}
	d.bytes[6*mb-1] = 3
	p.put(c.bytes)
	p.put(d.bytes)
	e := p.get(16 * mb) // beyond the old peak: the peak rises, the cache empties
	if p.maxActive != 16*mb || p.cached != 0 || held() != 16*mb {
		t.Fatalf("after a larger buffer: active %d, cached %d, max %d", p.active, p.cached, p.maxActive)
	}
	p.put(e.bytes)
	g := p.get(2 * mb) // 16 + 2 > 16: the cached 16 MiB buffer goes
	p.put(g.bytes)
	if p.cached != 2*mb || len(p.free[16*mb]) != 0 {
		t.Fatalf("cache %d after a 2 MiB buffer, want only that one", p.cached)
	}
	for _, bs := range p.evictLocked(mb) {
		freeBytes(bs)
	}
	if p.cached != 0 {
		t.Fatalf("cache %d after evicting down to 1 MiB", p.cached)
	}
	p.cacheLimit = 0
	f := p.get(mb)
	p.put(f.bytes) // over the limit: freed at once
	if p.cached != 0 || p.active != 0 {
		t.Fatalf("cache %d, active %d with limit 0", p.cached, p.active)
	}

	// Room for 12 MiB next to 106 MiB cached, with 116.6 MiB allowed: the 5 MiB buffer
	// goes, not the 100 MiB one.
	q := &allocator{free: map[int][][]byte{}, cacheLimit: -1}
	bufs := []*Buffer{q.get(100 * mb), q.get(5 * mb), q.get(mb)}
	for _, b := range bufs {
		q.put(b.bytes)
	}
	q.put(q.get(12 * mb).bytes)
	if len(q.free[100*mb]) != 1 || len(q.free[5*mb]) != 0 || q.cached != 113*mb {
		t.Fatalf("cache after a 12 MiB buffer: %d bytes, 100 MiB kept %v, 5 MiB kept %v", q.cached, len(q.free[100*mb]) == 1, len(q.free[5*mb]) == 1)
	}
}
