package cpu

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// KernelFunc computes out from its computed inputs for one op descriptor: it sets out's
// storage (a fresh Alloc, or a view of an input's storage, retained).
type KernelFunc func(op backend.Op, in []*backend.Node, out *backend.Node)

var (
	kernelsMu sync.RWMutex
	kernels   = map[reflect.Type]KernelFunc{}
)

// Register installs the CPU kernel of descriptor type T; a second registration of the
// same type panics. Ops defined outside mx call it from their package's init:
//
//	cpu.Register(func(op MyOp, in []*backend.Node, out *backend.Node) { ... })
func Register[T backend.Op](k func(op T, in []*backend.Node, out *backend.Node)) {
	t := reflect.TypeFor[T]()
	kernelsMu.Lock()
	defer kernelsMu.Unlock()
	if _, dup := kernels[t]; dup {
		panic(fmt.Sprintf("cpu: kernel for %v registered twice", t))
	}
	kernels[t] = func(op backend.Op, in []*backend.Node, out *backend.Node) { k(op.(T), in, out) }
}

// Kernel returns the kernel registered for op's type.
func Kernel(op backend.Op) (KernelFunc, bool) {
	kernelsMu.RLock()
	defer kernelsMu.RUnlock()
	k, ok := kernels[reflect.TypeOf(op)]
	return k, ok
}

// Executor runs a tape. With one stream (Streams) it runs the steps in order on the
// calling goroutine; with more, steps that do not depend on each other run side by
// side, each kernel still splitting its own work across cores.
type Executor struct{ Pool }

// Name returns "cpu".
func (Executor) Name() string { return "cpu" }

// Run executes every step and calls done after each. The inputs a step may donate
// (Step.Donate) are marked as donors (Node.Donor) while its kernel runs.
func (Executor) Run(tape []backend.Step, done func(i int)) {
	if s := Streams(); s > 1 && len(tape) > 1 {
		runStreams(tape, done, s)
		return
	}
	for i, s := range tape {
		execStep(s, s.Donate)
		done(i)
	}
}

// execStep runs one step's kernel, marking the inputs that donate says as donors.
func execStep(s backend.Step, donate []bool) {
	k, ok := Kernel(s.Op)
	if !ok {
		panic(fmt.Sprintf("cpu: no kernel registered for op %s (%T)", s.Op.Name(), s.Op))
	}
	for j, d := range donate {
		s.Inputs[j].Donor = d
	}
	k(s.Op, s.Inputs, s.Out)
	for j, d := range donate {
		if d {
			s.Inputs[j].Donor = false
		}
	}
}

func init() {
	backend.Register("cpu", backend.Factory{Open: func() (backend.Executor, error) { return Executor{}, nil }})
}
