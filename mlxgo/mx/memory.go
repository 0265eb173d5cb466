package mx

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// buffer is a reference-counted block of memory holding an array's elements. Views
// (reshape, transpose, slices, broadcasts) share their input's buffer.
type buffer struct {
	bytes    []byte
	refs     atomic.Int32
	external bool // memory not owned by the pool (e.g. a memory-mapped file)
	keep     any  // keeps the owner of external memory alive
}

func (b *buffer) retain() { b.refs.Add(1) }

func (b *buffer) release() {
	if b.refs.Add(-1) == 0 && !b.external {
		pool.put(b.bytes)
		b.bytes = nil
	}
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

func (p *allocator) get(n int) *buffer {
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
		// Allocate in 8-byte words so every dtype view is aligned.
		words := make([]uint64, (n+7)/8)
		if n > 0 {
			bs = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
		} else {
			bs = []byte{}
		}
	}
	b := &buffer{bytes: bs}
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

// ActiveMemory returns the bytes held by live array buffers (not counting the cache or
// memory-mapped weights).
func ActiveMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.active }

// PeakMemory returns the highest ActiveMemory since the start or the last ResetPeakMemory.
func PeakMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.peak }

// CacheMemory returns the bytes of freed buffers kept for reuse.
func CacheMemory() int64 { pool.mu.Lock(); defer pool.mu.Unlock(); return pool.cached }

// ResetPeakMemory sets the peak to the current active memory.
func ResetPeakMemory() { pool.mu.Lock(); pool.peak = pool.active; pool.mu.Unlock() }

// ClearCache drops every cached buffer so the Go runtime can reclaim it.
func ClearCache() {
	pool.mu.Lock()
	pool.free = map[int][][]byte{}
	pool.cached = 0
	pool.mu.Unlock()
}

// SetCacheLimit bounds the bytes the buffer cache may hold (negative: unbounded) and
// returns the previous limit. A limit of 0 disables caching.
func SetCacheLimit(limit int64) int64 {
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
