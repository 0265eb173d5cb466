package mlx

import "github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"

// Stats counts the traffic between Go and MLX since the executor opened.
type Stats struct {
	ToMLX     int64 // bytes copied from Go memory into MLX arrays (inputs, constants)
	ToHost    int64 // bytes copied from MLX arrays to Go (Item, Float32s, saving...)
	Uploads   int64 // arrays copied into MLX
	Downloads int64 // arrays copied out of MLX
	Evals     int64 // mlx_eval calls
	Fallbacks int64 // steps run by the CPU backend's kernel instead of MLX
}

// Stats returns the counters of e.
func (e *Executor) Stats() Stats {
	return Stats{ToMLX: e.toMLX.Load(), ToHost: e.toHost.Load(), Uploads: e.uploads.Load(),
		Downloads: e.downloads.Load(), Evals: e.evals.Load(), Fallbacks: e.fallbacks.Load()}
}

// Sub returns s - t, the traffic between two readings.
func (s Stats) Sub(t Stats) Stats {
	return Stats{s.ToMLX - t.ToMLX, s.ToHost - t.ToHost, s.Uploads - t.Uploads,
		s.Downloads - t.Downloads, s.Evals - t.Evals, s.Fallbacks - t.Fallbacks}
}

// memory runs f with a context and panics with MLX's error.
func (e *Executor) memory(f func(c *mlxc.Ctx)) {
	if err := e.lib.Do(f); err != nil {
		panic(err)
	}
}

// ActiveMemory is the number of bytes MLX has allocated for arrays.
func (e *Executor) ActiveMemory() int64 {
	var a int
	e.memory(func(c *mlxc.Ctx) { a, _, _ = c.Memory() })
	return int64(a)
}

// PeakMemory is the most bytes MLX has had allocated since the last ResetPeakMemory.
func (e *Executor) PeakMemory() int64 {
	var p int
	e.memory(func(c *mlxc.Ctx) { _, p, _ = c.Memory() })
	return int64(p)
}

// CacheMemory is the number of bytes MLX keeps cached for reuse.
func (e *Executor) CacheMemory() int64 {
	var k int
	e.memory(func(c *mlxc.Ctx) { _, _, k = c.Memory() })
	return int64(k)
}

// ResetPeakMemory starts peak accounting afresh.
func (e *Executor) ResetPeakMemory() { e.memory(func(c *mlxc.Ctx) { c.ResetPeakMemory() }) }

// ClearCache releases MLX's cached buffers.
func (e *Executor) ClearCache() { e.memory(func(c *mlxc.Ctx) { c.ClearCache() }) }

// SetCacheLimit bounds MLX's cache and returns the previous bound.
func (e *Executor) SetCacheLimit(limit int64) int64 {
	var old int
	e.memory(func(c *mlxc.Ctx) { old = c.SetCacheLimit(int(limit)) })
	return int64(old)
}
