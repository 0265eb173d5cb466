package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() { Register(fused) }

// fusedBlock is how many output elements a fused chain computes at a time: every
// register of a block stays in the first-level cache while the chain runs over it.
const fusedBlock = 1024

// fusedInput is how a block reads one input of a fused chain.
type fusedInput struct {
	data    []float32
	dense   bool  // one value per output element: the block is a sub-slice
	scalar  bool  // one value for every element
	strides []int // broadcast strides over the output shape otherwise
}

// fused runs a backend.Fused chain block by block: the inputs of a block are loaded (or
// sliced) once, every step runs over the block in turn, and only the last step's result
// goes to memory. Each step does the same float32 operations as its own kernel.
func fused(op backend.Fused, in []*node, out *node) {
	n := out.Size()
	ins := make([]fusedInput, len(in))
	for i, x := range in {
		ins[i].data = floats(x)
		switch x.Size() {
		case n:
			ins[i].dense = true
		case 1:
			ins[i].scalar = true
		default:
			ins[i].strides = bcastStrides(x.Shape, out.Shape)
		}
	}
	o, commit := fusedOut(op, in, out)
	steps := op.Steps
	nb := (n + fusedBlock - 1) / fusedBlock
	parallelFor(nb, max(1, 1<<15/fusedBlock), func(lo, hi int) {
		regs := make([][]float32, len(in)+len(steps))
		for i := range regs {
			regs[i] = make([]float32, fusedBlock)
		}
		for i, x := range ins {
			if x.scalar {
				fill(regs[i], x.data[0])
			}
		}
		for j, st := range steps {
			if f, ok := st.Op.(backend.Full); ok {
				fill(regs[len(in)+j], constValue(f.Value, st.Dtype))
			}
		}
		r := make([][]float32, len(regs)) // a block's registers, reset for each block
		for b := lo; b < hi; b++ {
			s, e := b*fusedBlock, min(n, (b+1)*fusedBlock)
			for i := range regs {
				r[i] = regs[i][:e-s]
			}
			for i, x := range ins {
				switch {
				case x.dense:
					r[i] = x.data[s:e]
				case !x.scalar:
					gatherBcast(r[i], x.data, out.Shape, x.strides, s)
				}
			}
			last := len(in) + len(steps) - 1
			r[last] = o[s:e] // the last step writes the output directly
			for j, st := range steps {
				runStep(st, r, r[len(in)+j])
			}
		}
	})
	commit()
}

// fusedOut allocates the output of a chain, or takes over the memory of a dense input
// that may be donated: a block's inputs are all read before its last step writes,
// except by a tanh-GELU step (two passes over its block), so chains with one do not.
func fusedOut(op backend.Fused, in []*node, out *node) ([]float32, func()) {
	for _, st := range op.Steps {
		if u, ok := st.Op.(backend.Unary); ok && u.Kind == backend.GeluApprox {
			return outFloats(out)
		}
	}
	if out.Dtype == backend.Float32 {
		for _, x := range in {
			if donate(out, x) {
				return viewAs[float32](raw(out)), func() {}
			}
		}
	}
	return outFloats(out)
}

func fill(dst []float32, v float32) {
	for i := range dst {
		dst[i] = v
	}
}

// constValue is the float32 a Full kernel's output of dtype dt reads back as.
func constValue(v float64, dt backend.Dtype) float32 {
	switch {
	case dt == backend.Bool:
		return b2f(int64(v) != 0)
	case dt.IsFloat():
		if r := roundTo(dt); r != nil {
			return r(float32(v))
		}
		return float32(v)
	}
	return float32(int64(v))
}

// runStep computes one step of a chain over a block into dst.
func runStep(st backend.FusedStep, r [][]float32, dst []float32) {
	switch op := st.Op.(type) {
	case backend.Full:
		return // filled once per worker
	case backend.Unary:
		unaryBlock(op.Kind, dst, r[st.Args[0]])
	case backend.Binary:
		floatVV(op.Kind, dst, r[st.Args[0]], r[st.Args[1]])
	case backend.AsType:
		copy(dst, r[st.Args[0]])
	case backend.Where:
		c, x, y := r[st.Args[0]], r[st.Args[1]], r[st.Args[2]]
		for i := range dst {
			// the Where kernel tests the condition as an integer
			if float32(math.Trunc(float64(c[i]))) != 0 {
				dst[i] = x[i]
			} else {
				dst[i] = y[i]
			}
		}
	default:
		panicf("Fused", "step %s is not elementwise", st.Op.Name())
	}
	if r := roundTo(st.Dtype); r != nil { // as storing the step's result and reading it back
		for i, v := range dst {
			dst[i] = r(v)
		}
	}
}

// unaryBlock applies a unary kind to a block exactly as the Unary kernel does (the same
// vector kernels), so a fused chain gives bit-identical results. dst is never x.
func unaryBlock(k backend.UnaryKind, dst, x []float32) { unaryFloats(k, dst, x) }

// gatherBcast fills dst with the elements at output positions start, start+1, ... of src
// broadcast to shape with the given strides.
func gatherBcast(dst, src []float32, shape, strides []int, start int) {
	nd := len(shape)
	idx := make([]int, nd)
	off := 0
	for d, rem := nd-1, start; d >= 0; d-- {
		idx[d] = rem % shape[d]
		rem /= shape[d]
		off += idx[d] * strides[d]
	}
	inner, is := shape[nd-1], strides[nd-1]
	for j := 0; j < len(dst); {
		run := min(inner-idx[nd-1], len(dst)-j)
		p := off
		for k := 0; k < run; k++ {
			dst[j+k] = src[p]
			p += is
		}
		j += run
		off += run * is
		idx[nd-1] += run
		for d := nd - 1; d > 0 && idx[d] == shape[d]; d-- {
			off -= idx[d] * strides[d]
			idx[d] = 0
			idx[d-1]++
			off += strides[d-1]
		}
	}
}
