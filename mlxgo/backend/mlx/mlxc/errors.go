package mlxc

import (
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Error is an error raised inside MLX: the mlx-c function that failed and MLX's message.
type Error struct {
	Func string // the mlx-c function, e.g. "mlx_matmul"
	Msg  string // MLX's message, e.g. "[matmul] Last dimension of first input ..."
}

func (e *Error) Error() string { return "mlx: " + e.Func + ": " + e.Msg }

// The error handler is process-wide in mlx-c: one callback, created once (purego
// callbacks are never freed), records the message for the call that raised it.
var (
	errMu      sync.Mutex
	errPending string
	errHandler uintptr
	errOnce    sync.Once
)

// onError is mlx-c's error handler: it records msg. It must not panic into C.
func onError(msg *byte, _ uintptr) {
	defer func() { _ = recover() }()
	s := goString(msg)
	if s == "" {
		s = "unknown MLX error"
	}
	errMu.Lock()
	errPending = s
	errMu.Unlock()
}

// handler returns the C pointer of onError.
func handler() uintptr {
	errOnce.Do(func() { errHandler = purego.NewCallback(onError) })
	return errHandler
}

// takeError returns and clears the message recorded since the last call.
func takeError() string {
	errMu.Lock()
	defer errMu.Unlock()
	s := errPending
	errPending = ""
	return s
}

// goString copies the NUL-terminated C string at p.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// cString returns s NUL-terminated, for const char* parameters.
func cString(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}
