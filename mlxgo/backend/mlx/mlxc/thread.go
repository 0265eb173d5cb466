package mlxc

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Ctx gives access to MLX operations. It exists only inside a function run by
// [Lib.Do], on the goroutine that owns MLX's thread; it must not be kept.
type Ctx struct{ l *Lib }

// Lib returns the library c belongs to.
func (c *Ctx) Lib() *Lib { return c.l }

// Do runs f on the MLX goroutine and waits for it. An error raised inside MLX stops f
// and is returned as an [*Error]; any other panic in f is re-raised in the caller.
// f must not call Do (it would wait for itself).
func (l *Lib) Do(f func(c *Ctx)) error {
	done := make(chan any, 1)
	l.calls <- func() {
		defer func() {
			r := recover()
			if _, ok := r.(*Error); !ok && r != nil {
				r = fmt.Errorf("%v\n%s", r, debug.Stack())
			}
			done <- r
		}()
		f(&Ctx{l})
	}
	switch r := (<-done).(type) {
	case nil:
		return nil
	case *Error:
		return r
	default:
		panic(r)
	}
}

// loop is the MLX goroutine: locked to one OS thread, where the error handler is
// installed before any other call and the default stream is taken.
func (l *Lib) loop(started chan<- error) {
	runtime.LockOSThread()
	err := l.start()
	started <- err
	if err != nil {
		return
	}
	for f := range l.calls {
		f()
	}
}

// start installs the error handler, reads MLX's version and takes the default device's
// stream.
func (l *Lib) start() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	l.f.setErrorHandler(handler(), 0, 0)
	c := &Ctx{l}
	s := l.f.stringNew()
	c.check(l.f.version(&s), "mlx_version")
	l.version = goString(l.f.stringData(s))
	l.f.stringFree(s)
	var dev uintptr
	c.check(l.f.getDefaultDevice(&dev), "mlx_get_default_device")
	var typ int32
	c.check(l.f.deviceGetType(&typ, dev), "mlx_device_get_type")
	l.device = "cpu"
	if typ == 1 {
		l.device = "gpu"
	}
	c.check(l.f.getDefaultStream(&l.stream, dev), "mlx_get_default_stream")
	l.f.deviceFree(dev)
	return nil
}

// check panics with an [*Error] when an mlx-c call failed (rc != 0) or raised an error.
func (c *Ctx) check(rc int32, fn string) {
	msg := takeError()
	if rc != 0 || msg != "" {
		if msg == "" {
			msg = fmt.Sprintf("failed (code %d)", rc)
		}
		panic(&Error{Func: fn, Msg: msg})
	}
}
