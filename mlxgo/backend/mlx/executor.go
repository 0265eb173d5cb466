package mlx

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

// Executor runs mx's tapes on MLX: at Eval it lowers the pending steps to mlx-c
// operations, evaluates them with one mlx_eval and keeps the results as MLX arrays.
type Executor struct {
	lib *mlxc.Lib

	toMLX, toHost, uploads, downloads, evals, fallbacks atomic.Int64

	ropes []ropeConst // RoPE periods already in MLX (MLX goroutine only)

	live   atomic.Int64 // bytes of MLX storage not yet released
	lastGC int64        // live just after the last collection this executor asked for
}

// collectIfGrown runs the Go garbage collector when the MLX memory held by arrays has
// grown well past what survived the last collection. mx releases an array's storage
// when the garbage collector finds the array unreachable, but the collector only sees
// Go's heap, which MLX memory is not part of: without this, dropped arrays of a
// training loop would keep their MLX memory until some unrelated collection.
func (e *Executor) collectIfGrown() {
	const slack = 64 << 20
	if l := e.live.Load(); l > 2*e.lastGC+slack {
		runtime.GC()
		e.lastGC = e.live.Load()
	}
}

var (
	openOnce sync.Once
	opened   *Executor
	openErr  error
)

// Open loads mlx-c (see package mlxc for where it is looked for) and returns the
// process's MLX executor.
func Open() (*Executor, error) {
	openOnce.Do(func() {
		lib, err := mlxc.Load()
		if err != nil {
			openErr = err
			return
		}
		opened = &Executor{lib: lib}
	})
	return opened, openErr
}

// Name returns "mlx".
func (e *Executor) Name() string { return "mlx" }

// Lib returns the loaded mlx-c library.
func (e *Executor) Lib() *mlxc.Lib { return e.lib }

// String describes the executor, e.g. "mlx (mlx-c 0.6 (MLX 0.31.2), cpu, /path/libmlxc.so)".
func (e *Executor) String() string {
	return fmt.Sprintf("mlx (%s, %s, %s)", e.lib.Version(), e.lib.Device(), e.lib.Path())
}

// defaultHere reports whether MLX should run when MLXGO_BACKEND is unset: on macOS
// arm64 (Metal). mx then opens it, and when libmlxc is missing falls back to the CPU
// backend with Open's error (which says `brew install mlx-c`) as the reason.
func defaultHere() bool { return runtime.GOOS == "darwin" && runtime.GOARCH == "arm64" }

func init() {
	backend.Register("mlx", backend.Factory{
		Open:    func() (backend.Executor, error) { return Open() },
		Default: defaultHere,
	})
}

// Run lowers the tape to MLX, one segment of consecutive lowerable steps at a time: a
// segment is built as one MLX graph and evaluated with one mlx_eval. A step MLX cannot
// run runs the CPU backend's kernel between segments, its inputs copied out of MLX and
// its output copied in when a later step reads it. Inputs held in Go memory (arrays
// made from Go slices, loaded weights) are copied into MLX once: their nodes then hold
// the MLX copy.
func (e *Executor) Run(tape []backend.Step, done func(i int)) {
	e.collectIfGrown()
	lastUse := make(map[*backend.Node]int, len(tape))
	for i, s := range tape {
		for _, in := range s.Inputs {
			lastUse[in] = i
		}
	}
	for i := 0; i < len(tape); {
		if !canLower(tape[i].Op) {
			e.fallback(tape[i])
			done(i)
			i++
			continue
		}
		j := i + 1
		for j < len(tape) && canLower(tape[j].Op) {
			j++
		}
		// A segment materialises what is kept and what a later segment or CPU step reads.
		need := make([]bool, j-i)
		for k, s := range tape[i:j] {
			u, used := lastUse[s.Out]
			need[k] = s.Keep || used && u >= j
		}
		e.runSegment(tape[i:j], need)
		for k := i; k < j; k++ {
			done(k)
		}
		i = j
	}
}

// fallback runs one step with the CPU backend's kernel.
func (e *Executor) fallback(s backend.Step) {
	k, ok := cpu.Kernel(s.Op)
	if !ok {
		panic(fmt.Sprintf("mlx: no MLX lowering and no CPU kernel for op %s (%T)", s.Op.Name(), s.Op))
	}
	e.fallbacks.Add(1)
	k(s.Op, s.Inputs, s.Out)
}

// upload is a computed input that is not an MLX array yet: its row-major bytes.
type upload struct {
	bytes []byte
	shape []int
	dt    backend.Dtype
}

// runSegment builds the segment's graph and evaluates it with one mlx_eval. Only the
// outputs flagged in need are evaluated and kept; the others are dropped before
// mlx_eval, so MLX frees each intermediate as soon as its consumers ran, and their nodes
// get a placeholder storage (mx releases them without reading them).
func (e *Executor) runSegment(seg []backend.Step, need []bool) {
	outs := make(map[*backend.Node]bool, len(seg))
	for _, s := range seg {
		outs[s.Out] = true
	}
	// Host bytes are gathered before entering the MLX goroutine: reading another
	// backend's storage may itself need it.
	ups := map[*backend.Node]upload{}
	for _, s := range seg {
		for _, in := range s.Inputs {
			if outs[in] || in.Storage == nil {
				continue
			}
			if _, mine := in.Storage.(*storage); mine {
				continue
			}
			if _, ok := ups[in]; !ok {
				b, _ := cpu.HostBytes(in)
				ups[in] = upload{b, in.Shape, in.Dtype}
			}
		}
	}
	e.checkSizes(seg)
	results := make([]mlxc.Array, len(seg))
	moved := map[*backend.Node]mlxc.Array{} // uploaded inputs, which become MLX storage
	var failed string
	err := e.lib.Do(func(c *mlxc.Ctx) {
		arrays := make(map[*backend.Node]mlxc.Array, len(seg)+len(ups))
		var temps []mlxc.Array // inputs made for this segment only
		ok := false
		defer func() {
			for _, t := range temps {
				c.Free(t)
			}
			if !ok {
				for _, r := range results {
					c.Free(r)
				}
				for _, a := range moved {
					c.Free(a)
				}
			}
		}()
		for n, u := range ups {
			a := c.FromBytes(u.bytes, u.shape, dtypeOf(u.dt))
			moved[n] = a
			arrays[n] = a
			e.toMLX.Add(int64(len(u.bytes)))
			e.uploads.Add(1)
		}
		l := &lowerer{c: c, e: e}
		for i, s := range seg {
			ins := make([]mlxc.Array, len(s.Inputs))
			for k, in := range s.Inputs {
				a, ok := arrays[in]
				if !ok {
					a = l.input(in)
					temps = append(temps, a)
					arrays[in] = a
				}
				ins[k] = a
			}
			failed = s.Op.Name()
			results[i] = c.Scope(func() mlxc.Array { return l.step(s, ins) })
			arrays[s.Out] = results[i]
		}
		failed = ""
		var kept []mlxc.Array
		for i, r := range results {
			if need[i] {
				kept = append(kept, r)
			} else {
				c.Free(r)
				results[i] = 0
			}
		}
		c.Eval(kept...)
		e.evals.Add(1)
		ok = true
	})
	if err != nil {
		// mx re-raises an OpError as its own error, naming the caller's line.
		if failed == "" {
			failed = "Eval"
		}
		panic(&backend.OpError{Op: failed, Msg: err.Error()})
	}
	for i, s := range seg {
		if need[i] {
			s.Out.Set(newStorage(e, results[i], s.Out.NBytes()))
		} else {
			s.Out.Set(dropped{s.Out.NBytes()})
		}
	}
	// An input copied in stays in MLX: the next step reads it there (frozen weights
	// are copied once, not at every step). Reading it from Go copies it back.
	for n, a := range moved {
		n.Set(newStorage(e, a, n.NBytes()))
	}
}

// checkSizes refuses, on MLX's CPU device, a step whose output alone exceeds the
// machine's memory: MLX's CPU allocator does not report a failed allocation (the
// process would crash), while its Metal and CUDA allocators raise "[malloc] Unable to
// allocate", which arrives as MLX's error like any other.
func (e *Executor) checkSizes(seg []backend.Step) {
	if e.lib.Device() != "cpu" {
		return
	}
	ram := physicalMemory()
	if ram == 0 {
		return
	}
	for _, s := range seg {
		if n := int64(s.Out.Size()) * int64(s.Out.Dtype.Size()); n > ram {
			panic(&backend.OpError{Op: s.Op.Name(), Msg: fmt.Sprintf(
				"mlx: out of memory: the result of shape %v %s needs %d bytes, the machine has %d", s.Out.Shape, s.Out.Dtype, n, ram)})
		}
	}
}

// Lowering builds the MLX array of one step of a descriptor type defined outside
// package backend, from the MLX arrays of its inputs (see [Register]).
type Lowering func(c *mlxc.Ctx, op backend.Op, in []mlxc.Array, inNodes []*backend.Node, out *backend.Node) mlxc.Array

var (
	externMu sync.RWMutex
	extern   = map[reflect.Type]Lowering{}
)

// Register installs the MLX lowering of descriptor type T, for ops defined outside
// package backend (a fused loss in nn, say). Arrays it makes besides its result are
// freed after it returns. Without one, such an op runs its CPU kernel.
func Register[T backend.Op](f func(c *mlxc.Ctx, op T, in []mlxc.Array, inNodes []*backend.Node, out *backend.Node) mlxc.Array) {
	t := reflect.TypeFor[T]()
	externMu.Lock()
	defer externMu.Unlock()
	if _, dup := extern[t]; dup {
		panic(fmt.Sprintf("mlx: lowering for %v registered twice", t))
	}
	extern[t] = func(c *mlxc.Ctx, op backend.Op, in []mlxc.Array, nodes []*backend.Node, out *backend.Node) mlxc.Array {
		return f(c, op.(T), in, nodes, out)
	}
}

// externLowering returns the registered lowering of op's type.
func externLowering(op backend.Op) (Lowering, bool) {
	externMu.RLock()
	defer externMu.RUnlock()
	f, ok := extern[reflect.TypeOf(op)]
	return f, ok
}

// ropeConst is one RoPE frequency table uploaded once: every layer and step reuses it.
type ropeConst struct {
	invFreq []float32 // a copy, compared on lookup
	periods mlxc.Array
}

// periods returns 1/invFreq as an MLX array owned by the executor, uploading a table
// only the first time it is seen.
func (e *Executor) periods(c *mlxc.Ctx, invFreq []float32) mlxc.Array {
	for _, r := range e.ropes {
		if slices.Equal(r.invFreq, invFreq) {
			return r.periods
		}
	}
	p := make([]float32, len(invFreq))
	for i, f := range invFreq {
		p[i] = 1 / f
	}
	b := make([]byte, 4*len(p))
	for i, x := range p {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	e.toMLX.Add(int64(len(b)))
	var arr mlxc.Array
	c.Unscoped(func() { arr = c.FromBytes(b, []int{len(p)}, mlxc.Float32) })
	if len(e.ropes) >= 64 { // a bound for programs that build many different tables
		c.Free(e.ropes[0].periods)
		e.ropes = e.ropes[1:]
	}
	e.ropes = append(e.ropes, ropeConst{slices.Clone(invFreq), arr})
	return arr
}
