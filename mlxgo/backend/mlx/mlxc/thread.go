package mlxc

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Ctx gives access to MLX operations. It exists only inside a function run by
// [Lib.Do], on the goroutine that owns MLX's thread; it must not be kept.
type Ctx struct {
	l     *Lib
	scope *[]Array // arrays made since Scope began, when one is open
}

// made records a new array in the open scope and returns it.
func (c *Ctx) made(r uintptr) Array {
	if c.scope != nil {
		*c.scope = append(*c.scope, Array(r))
	}
	return Array(r)
}

// Scope runs f and frees every array made during it except the one f returns, so a
// composition of operations leaves only its result (MLX's graph keeps what the result
// needs alive). If f panics, everything it made is freed.
func (c *Ctx) Scope(f func() Array) Array {
	outer := c.scope
	var made []Array
	c.scope = &made
	keep := Array(0)
	defer func() {
		c.scope = outer
		for _, a := range made {
			if a != keep {
				c.l.f.arrayFree(uintptr(a))
			}
		}
		if outer != nil && keep != 0 {
			*outer = append(*outer, keep)
		}
	}()
	keep = f()
	return keep
}

// Unscoped runs f outside any open Scope: arrays it makes are the caller's to free.
func (c *Ctx) Unscoped(f func()) {
	outer := c.scope
	c.scope = nil
	defer func() { c.scope = outer }()
	f()
}

// FreeLater releases a from any goroutine without waiting: it is freed on the MLX
// goroutine before the next function given to Do runs. (Storage finalizers and
// reference counts drop arrays from goroutines that may be inside Do themselves.)
func (l *Lib) FreeLater(a Array) {
	if a == 0 {
		return
	}
	l.freeMu.Lock()
	l.toFree = append(l.toFree, a)
	l.freeMu.Unlock()
}

// freePending frees what FreeLater queued (MLX goroutine only).
func (l *Lib) freePending() {
	l.freeMu.Lock()
	q := l.toFree
	l.toFree = nil
	l.freeMu.Unlock()
	for _, a := range q {
		l.f.arrayFree(uintptr(a))
	}
}

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
		f(&Ctx{l: l})
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
		l.freePending()
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
	c := &Ctx{l: l}
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
