package cpu

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// Buffer is reference-counted host memory holding an array's elements: the CPU
// backend's backend.HostStorage. Views (reshape, transpose, slices, broadcasts) share
// their input's Buffer.
type Buffer struct {
	bytes    []byte
	refs     atomic.Int32
	external bool // memory not owned by the pool (a memory-mapped file, scratch memory)
	keep     any  // keeps the owner of external memory alive
}

// Backend returns "cpu".
func (b *Buffer) Backend() string { return "cpu" }

// Len returns the size in bytes.
func (b *Buffer) Len() int { return len(b.bytes) }

// HostBytes returns the memory itself.
func (b *Buffer) HostBytes() []byte { return b.bytes }

// Retain takes one more reference.
func (b *Buffer) Retain() { b.refs.Add(1) }

// Release drops a reference; the last one returns pool memory to the pool.
func (b *Buffer) Release() {
	if b.refs.Add(-1) == 0 && !b.external {
		pool.put(b.bytes)
		b.bytes = nil
	}
}

var _ backend.HostStorage = (*Buffer)(nil)

// Alloc returns a pool buffer of n bytes with one reference; its contents are undefined.
func Alloc(n int) *Buffer { return pool.get(n) }

// External wraps memory the pool does not own (a memory-mapped file): it is never
// counted as active memory, and keep stays reachable as long as the buffer is.
func External(bytes []byte, keep any) *Buffer {
	b := &Buffer{bytes: bytes, external: true, keep: keep}
	b.refs.Store(1)
	return b
}

// allocator is the buffer pool: freed buffers are cached by size and handed out again,
// so a training loop that allocates the same shapes every step stops calling the Go
// allocator after its first step.
type allocator struct {
	mu         sync.Mutex
	free       map[int][][]byte
	active     int64
	peak       int64
	cached     int64
	cacheLimit int64
}

// The cache keeps at most 1 GiB of freed buffers by default (SetCacheLimit changes it),
// so batches of ever-new shapes cannot grow it without bound.
var pool = &allocator{free: map[int][][]byte{}, cacheLimit: 1 << 30}

// words returns n bytes backed by 8-byte words, so every dtype view is aligned.
func words(n int) []byte {
	w := make([]uint64, (n+7)/8)
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

func (p *allocator) get(n int) *Buffer {
	p.mu.Lock()
	var bs []byte
	if l := p.free[n]; len(l) > 0 {
		bs = l[len(l)-1]
		p.free[n] = l[:len(l)-1]
		p.cached -= int64(n)
	}
	p.active += int64(n)
	if p.active > p.peak {
		p.peak = p.active
	}
	p.mu.Unlock()
	if bs == nil {
		bs = words(n)
	}
	b := &Buffer{bytes: bs}
	b.refs.Store(1)
	return b
}

func (p *allocator) put(bs []byte) {
	n := len(bs)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active -= int64(n)
	if p.cacheLimit >= 0 && p.cached+int64(n) > p.cacheLimit {
		return
	}
	p.free[n] = append(p.free[n], bs)
	p.cached += int64(n)
}

// Pool is the CPU backend's memory accounting (backend.Memory).
type Pool struct{}

// ActiveMemory returns the bytes held by live pool buffers (not the cache, not
// external memory such as memory-mapped weights).
func (Pool) ActiveMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.active }

// PeakMemory returns the highest ActiveMemory since the start or the last ResetPeakMemory.
func (Pool) PeakMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.peak }

// CacheMemory returns the bytes of freed buffers kept for reuse.
func (Pool) CacheMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.cached }

// ResetPeakMemory sets the peak to the current active memory.
func (Pool) ResetPeakMemory() { pool.mu.Lock(); pool.peak = pool.active; pool.mu.Unlock() }

// ClearCache drops every cached buffer so the Go runtime can reclaim it.
func (Pool) ClearCache() {
	pool.mu.Lock()
	pool.free = map[int][][]byte{}
	pool.cached = 0
	pool.mu.Unlock()
}

// SetCacheLimit bounds the bytes the cache may hold (negative: unbounded; 0 disables
// caching) and returns the previous limit.
func (Pool) SetCacheLimit(limit int64) int64 {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	old := pool.cacheLimit
	pool.cacheLimit = limit
	for n, l := range pool.free {
		for len(l) > 0 && limit >= 0 && pool.cached > limit {
			l = l[:len(l)-1]
			pool.cached -= int64(n)
		}
		pool.free[n] = l
	}
	return old
}

var _ backend.Memory = Pool{}
