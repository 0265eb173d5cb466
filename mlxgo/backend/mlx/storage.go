package mlx

import (
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

// storage is an MLX array holding one node's elements (row-major, the node's shape):
// the MLX backend's backend.DeviceStorage. Its bytes reach Go only by an explicit copy,
// counted in [Stats].
type storage struct {
	e    *Executor
	arr  mlxc.Array
	n    int // bytes
	refs atomic.Int32
}

func newStorage(e *Executor, arr mlxc.Array, n int) *storage {
	s := &storage{e: e, arr: arr, n: n}
	s.refs.Store(1)
	e.live.Add(int64(n))
	return s
}

// Backend returns "mlx".
func (s *storage) Backend() string { return "mlx" }

// Len returns the size in bytes.
func (s *storage) Len() int { return s.n }

// Retain takes one more reference.
func (s *storage) Retain() { s.refs.Add(1) }

// Release drops a reference; the last one frees the MLX array (on the MLX goroutine,
// without waiting for it).
func (s *storage) Release() {
	if s.refs.Add(-1) == 0 {
		s.e.live.Add(-int64(s.n))
		s.e.lib.FreeLater(s.arr)
		s.arr = 0
	}
}

// CopyToHost evaluates the array if needed and copies its bytes into dst.
func (s *storage) CopyToHost(dst []byte) {
	var n int
	if err := s.e.lib.Do(func(c *mlxc.Ctx) { n = c.CopyTo(dst, s.arr) }); err != nil {
		panic(err)
	}
	s.e.toHost.Add(int64(n))
	s.e.downloads.Add(1)
}

var _ backend.DeviceStorage = (*storage)(nil)

// dropped is the storage of an intermediate the tape did not keep (Step.Keep false):
// MLX computed it inside one mlx_eval and freed it; mx releases it without reading it.
type dropped struct{ n int }

func (d dropped) Backend() string { return "mlx" }
func (d dropped) Len() int        { return d.n }
func (d dropped) Retain()         {}
func (d dropped) Release()        {}

// CopyToHost panics: the values were not kept.
func (d dropped) CopyToHost([]byte) {
	panic("mlx: reading an intermediate that the tape did not keep (Step.Keep false): an mx bug")
}
