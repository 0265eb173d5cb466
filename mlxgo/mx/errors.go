package mx

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

const modulePrefix = "github.com/mlxgo/mlxgo/mlxgo/mx"

// Error is the value mlxgo panics with on shape and dtype mistakes in array code.
type Error struct {
	Op     string // the operation, e.g. "Matmul"
	Msg    string // what is wrong, with the shapes involved
	Caller string // file:line of the first caller outside mlxgo's array packages
}

// Error formats the op, the problem and the caller.
func (e *Error) Error() string {
	if e.Caller != "" {
		return fmt.Sprintf("mx.%s: %s (at %s)", e.Op, e.Msg, e.Caller)
	}
	return fmt.Sprintf("mx.%s: %s", e.Op, e.Msg)
}

// panicf panics with an *Error for op, locating the user's call site.
func panicf(op, format string, args ...any) {
	panic(&Error{Op: op, Msg: fmt.Sprintf(format, args...), Caller: callerOutside()})
}

// Panicf panics with an *Error for op the way mx's own ops do, for ops defined in other
// packages (see NewArray): the error names the first caller outside mx and outside the
// package that calls Panicf.
func Panicf(op, format string, args ...any) {
	pkg := ""
	if pc, _, _, ok := runtime.Caller(1); ok {
		fn := runtime.FuncForPC(pc).Name()
		slash := strings.LastIndex(fn, "/")
		if dot := strings.Index(fn[slash+1:], "."); dot >= 0 {
			pkg = fn[:slash+1+dot]
		}
	}
	panic(&Error{Op: op, Msg: fmt.Sprintf(format, args...), Caller: callerOutside(pkg)})
}

// mxDir is the directory of mx's sources.
var mxDir = func() string { _, f, _, _ := runtime.Caller(0); return filepath.Dir(f) }()

// callerOutside returns the file:line of the first stack frame that is not in mlxgo's
// own array packages nor in package also (tests of those packages count as callers).
func callerOutside(also ...string) string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		fn := f.Function
		internal := strings.HasPrefix(fn, modulePrefix+".") || strings.HasPrefix(fn, modulePrefix+"/")
		// A closure of mx inlined into its caller carries the caller's name but mx's file.
		internal = internal || filepath.Dir(f.File) == mxDir
		for _, p := range also {
			internal = internal || (p != "" && strings.HasPrefix(fn, p+"."))
		}
		if internal && strings.Contains(f.File, "_test.go") {
			internal = false
		}
		if !internal && !strings.HasPrefix(fn, "runtime.") {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return ""
		}
	}
}

func normAxis(op string, ax, ndim int) int {
	if ax < -ndim || ax >= ndim || (ndim == 0 && ax != 0 && ax != -1) {
		panicf(op, "axis %d is out of range for an array with %d dimensions", ax, ndim)
	}
	if ax < 0 {
		ax += ndim
	}
	return ax
}
