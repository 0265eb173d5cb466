package mx

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

// memory returns the current backend's memory accounting, the CPU pool's when it has none.
func memory() backend.Memory {
	if m, ok := current().(backend.Memory); ok {
		return m
	}
	return cpu.Pool{}
}

// ActiveMemory returns the bytes held by live array buffers (not counting the cache or
// memory-mapped weights).
func ActiveMemory() int64 { return memory().ActiveMemory() }

// PeakMemory returns the highest ActiveMemory since the start or the last ResetPeakMemory.
func PeakMemory() int64 { return memory().PeakMemory() }

// CacheMemory returns the bytes of freed buffers kept for reuse.
func CacheMemory() int64 { return memory().CacheMemory() }

// ResetPeakMemory sets the peak to the current active memory.
func ResetPeakMemory() { memory().ResetPeakMemory() }

// ClearCache drops every cached buffer so the memory can be reclaimed.
func ClearCache() { memory().ClearCache() }

// SetCacheLimit bounds the bytes the buffer cache may hold (negative: unbounded) and
// returns the previous limit. A limit of 0 disables caching.
func SetCacheLimit(limit int64) int64 { return memory().SetCacheLimit(limit) }
