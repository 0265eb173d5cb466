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
// so a training loop that allocates the same shapes every step stops allocating after
// its first step. Buffers of at least mapMin bytes live outside the Go heap (mapped
// memory, mem_unix.go) and are returned to the system as soon as the cache drops them,
// so the process holds no garbage waiting for a collection: its memory is the active
// buffers plus the cache. The cache never makes the pool hold more than 1.1× the
// highest active memory seen: a new buffer that would take the pool's total past that
// first frees cached buffers of other sizes. (At exactly 1× a training step found its
// largest buffer, the logits, dropped to make room for a small one, and mapped 436
// MiB anew every step at batch 16×128; at 1.1× it maps 2.6 MiB, for 10–30 MiB more.)
type allocator struct {
	mu         sync.Mutex
	free       map[int][][]byte
	active     int64
	peak       int64
	maxActive  int64 // the highest active memory since the start (not reset)
	cached     int64
	cacheLimit int64
	misses     int64 // buffers allocated anew rather than taken from the cache
	missBytes  int64 // and their bytes
}

// The cache has no limit of its own by default (SetCacheLimit sets one): the pool's total
// stays within 1.1× the highest active memory, so batches of ever-new shapes cannot grow it
// beyond what one step needed, and a step that frees more than a fixed limit (the
// activations of a long sequence) finds its buffers again in the next step.
var pool = &allocator{free: map[int][][]byte{}, cacheLimit: -1}

// mapMin is the smallest buffer kept outside the Go heap.
const mapMin = 1 << 20

// words returns n bytes of the Go heap backed by 8-byte words, so every dtype view is
// aligned.
func words(n int) []byte {
	w := make([]uint64, (n+7)/8)
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// newBytes allocates n bytes: mapped memory from mapMin on where the system has it.
func newBytes(n int) []byte {
	if n >= mapMin {
		if b, ok := mapBytes(n); ok {
			return b
		}
	}
	return words(n)
}

// freeBytes returns a buffer that left the cache: mapped memory goes back to the
// system at once, heap memory to the garbage collector.
func freeBytes(b []byte) {
	if len(b) >= mapMin {
		unmapBytes(b)
	}
}

func (p *allocator) get(n int) *Buffer {
	p.mu.Lock()
	var bs []byte
	if l := p.free[n]; len(l) > 0 {
		bs = l[len(l)-1]
		p.take(n, l)
	}
	p.active += int64(n)
	p.peak = max(p.peak, p.active)
	p.maxActive = max(p.maxActive, p.active)
	var evicted [][]byte
	if bs == nil {
		p.misses++
		p.missBytes += int64(n)
		evicted = p.evictLocked(p.maxActive + p.maxActive/10 - p.active)
	}
	p.mu.Unlock()
	for _, b := range evicted {
		freeBytes(b)
	}
	if bs == nil {
		bs = newBytes(n)
	}
	b := &Buffer{bytes: bs}
	b.refs.Store(1)
	return b
}

// evictLocked drops cached buffers until the cache holds at most limit bytes and
// returns them for freeBytes (called without the lock). It drops the smallest buffer
// that covers what is over the limit, or else the largest one and looks again: a
// large buffer that the next step needs again (the logits) is not dropped to make
// room for a small one.
func (p *allocator) evictLocked(limit int64) [][]byte {
	limit = max(limit, 0)
	var out [][]byte
	for p.cached > limit {
		over := p.cached - limit
		pick, largest := 0, 0
		for n := range p.free {
			if int64(n) >= over && (pick == 0 || n < pick) {
				pick = n
			}
			largest = max(largest, n)
		}
		if pick == 0 {
			pick = largest
		}
		l := p.free[pick]
		out = append(out, l[len(l)-1])
		p.take(pick, l)
	}
	return out
}

// take removes the last cached buffer of size n (l is p.free[n]); a size with no
// buffers left leaves the map, so the eviction's scan stays short.
func (p *allocator) take(n int, l [][]byte) {
	l[len(l)-1] = nil
	if len(l) == 1 {
		delete(p.free, n)
	} else {
		p.free[n] = l[:len(l)-1]
	}
	p.cached -= int64(n)
}

func (p *allocator) put(bs []byte) {
	n := len(bs)
	p.mu.Lock()
	p.active -= int64(n)
	if p.cacheLimit >= 0 && p.cached+int64(n) > p.cacheLimit {
		p.mu.Unlock()
		freeBytes(bs)
		return
	}
	p.free[n] = append(p.free[n], bs)
	p.cached += int64(n)
	p.mu.Unlock()
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

// ClearCache frees every cached buffer.
func (Pool) ClearCache() {
	pool.mu.Lock()
	evicted := pool.evictLocked(0)
	pool.mu.Unlock()
	for _, b := range evicted {
		freeBytes(b)
	}
}

// SetCacheLimit bounds the bytes the cache may hold (negative: unbounded; 0 disables
// caching) and returns the previous limit.
func (Pool) SetCacheLimit(limit int64) int64 {
	pool.mu.Lock()
	old := pool.cacheLimit
	pool.cacheLimit = limit
	var evicted [][]byte
	if limit >= 0 {
		evicted = pool.evictLocked(limit)
	}
	pool.mu.Unlock()
	for _, b := range evicted {
		freeBytes(b)
	}
	return old
}

// Misses returns how many buffers, and bytes, the pool has allocated anew (not taken
// from its cache) since the start.
func (Pool) Misses() (buffers, bytes int64) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return pool.misses, pool.missBytes
}

var _ backend.Memory = Pool{}
