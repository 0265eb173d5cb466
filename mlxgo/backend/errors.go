package backend

import "fmt"

// OpError is what a kernel panics with when its inputs are wrong in a way only the data
// shows (an index out of range). mx re-panics it as its own error naming the caller's
// file:line; other executors should do the same for their runtime's errors.
type OpError struct {
	Op  string // the op's name, e.g. "Take"
	Msg string // what is wrong
}

// Error formats the op and the problem.
func (e *OpError) Error() string { return e.Op + ": " + e.Msg }

// Panicf panics with an *OpError for op.
func Panicf(op, format string, args ...any) {
	panic(&OpError{Op: op, Msg: fmt.Sprintf(format, args...)})
}
