package mxtest

import (
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

// DeviceSim is an executor for tests of the seam itself: it computes with the CPU
// kernels but behaves as a device backend would — it takes the whole tape and reports
// every step done only at the end, and its outputs live in storage the CPU cannot
// address (backend.DeviceStorage: the host gets copies). Every op test passing on it
// shows that mx reaches array data only through the host path and frees intermediates
// correctly when an executor lowers a tape at once. Registered as "devicesim".
type DeviceSim struct{}

// Name returns "devicesim".
func (DeviceSim) Name() string { return "devicesim" }

// Run computes every step with the CPU kernels, moves each fresh output into device
// storage, then calls done for every step in order.
func (DeviceSim) Run(tape []backend.Step, done func(i int)) {
	for _, s := range tape {
		k, ok := cpu.Kernel(s.Op)
		if !ok {
			panic("devicesim: no kernel for " + s.Op.Name())
		}
		k(s.Op, s.Inputs, s.Out)
		if hs, ok := s.Out.Storage.(backend.HostStorage); ok {
			d := &deviceStorage{bytes: append([]byte(nil), hs.HostBytes()...)}
			d.refs.Store(1)
			s.Out.SetView(d, s.Out.Strides, s.Out.Offset)
		}
	}
	for i := range tape {
		done(i)
	}
}

// deviceStorage holds bytes the host may only copy.
type deviceStorage struct {
	bytes []byte
	refs  atomic.Int32
}

func (d *deviceStorage) Backend() string       { return "devicesim" }
func (d *deviceStorage) Len() int              { return len(d.bytes) }
func (d *deviceStorage) Retain()               { d.refs.Add(1) }
func (d *deviceStorage) CopyToHost(dst []byte) { copy(dst, d.bytes) }
func (d *deviceStorage) Release() {
	if d.refs.Add(-1) == 0 {
		d.bytes = nil
	}
}

func init() {
	backend.Register("devicesim", backend.Factory{Open: func() (backend.Executor, error) { return DeviceSim{}, nil }})
}
