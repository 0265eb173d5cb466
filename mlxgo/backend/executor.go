package backend

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Op is an operation descriptor: the op's name and its parameters as exported fields,
// with no kernel and no derivative. mx's primitives return one from Op(); executors
// switch on its dynamic type.
type Op interface {
	// Name is the op's name as printed in errors and graph dumps.
	Name() string
}

// IsView reports whether op's output shares its first input's storage (reshape,
// transpose, slices, broadcasts...). A descriptor declares it with an IsView method;
// the scheduler counts a view as allocating nothing.
func IsView(op Op) bool {
	v, ok := op.(interface{ IsView() bool })
	return ok && v.IsView()
}

// Step is one entry of a tape: compute Out from Inputs with Op. Every input is either
// computed already or the Out of an earlier step of the same tape (the same *Node).
type Step struct {
	Op     Op
	Inputs []*Node
	Out    *Node
	// Keep is set when Out is needed after the tape (the caller asked for it or
	// retained it). Other outputs are released by mx once their last consumer in the
	// tape is done, so an executor that lowers the whole tape need only materialise the
	// kept ones: the storage it gives the others may stay an unevaluated handle.
	Keep bool
	// Donate[j] is set when this step is the last reader of Inputs[j] and the input is
	// not kept: the executor may mark it as a donor (Node.Donor) while the step runs.
	// nil when no input may be donated.
	Donate []bool
}

// Executor runs tapes. Run executes the steps in order (or lowers the whole tape and
// runs it at once) and calls done(i) once tape[i].Out holds its storage: from then on
// mx may release inputs no later step needs, so an executor that lowers the whole tape
// retains what it still reads before calling done. Run must call done for every step,
// in order, before it returns; kernel errors panic. An executor may replace a computed
// input's storage with an equivalent one of its own (same values and layout, through
// Node.SetView, which releases the old one) — to move weights to its device once rather
// than copy them at every Eval.
type Executor interface {
	Name() string
	Run(tape []Step, done func(i int))
}

// Factory opens a registered executor.
type Factory struct {
	// Open returns the executor, or an error saying why it cannot run here (for
	// example, a library that is not installed).
	Open func() (Executor, error)
	// Default, when non-nil, reports whether this executor should run when
	// MLXGO_BACKEND is unset (for MLX: on macOS arm64 with libmlxc found).
	Default func() bool
}

var (
	regMu    sync.Mutex
	registry = map[string]Factory{}
)

// Register makes an executor available under name (MLXGO_BACKEND=name). A backend
// package calls it from init; registering a name twice panics.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("backend: %q registered twice", name))
	}
	registry[name] = f
}

// Names returns the registered executors: "cpu" first, then the others sorted.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "cpu") != (names[j] == "cpu") {
			return names[i] == "cpu"
		}
		return names[i] < names[j]
	})
	return names
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	f, ok := registry[name]
	return f, ok
}

// Open opens the executor registered under name.
func Open(name string) (Executor, error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("backend %q is not linked into this program (registered: %v)", name, Names())
	}
	return f.Open()
}

// Defaults returns the registered executors whose Default reports true, sorted.
func Defaults() []string {
	var out []string
	for _, n := range Names() {
		if f, _ := Lookup(n); f.Default != nil && f.Default() {
			out = append(out, n)
		}
	}
	return slices.Clip(out)
}
