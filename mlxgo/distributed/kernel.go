package distributed

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// The collectives are ops defined outside mx, as MLX's distributed primitives are: a
// descriptor (pure data, so that another backend can lower it or fall back to the CPU
// kernel), a CPU kernel that calls MPI on the host bytes of its input, and an
// mx.Primitive with the VJP. They are lazy: MPI runs inside mx.Eval, when the tape
// reaches them.

// AllSumOp sums its input over the ranks of the world group (MPI_Allreduce); float32,
// int32 and int64.
type AllSumOp struct{}

// Name returns "AllSum".
func (AllSumOp) Name() string { return "AllSum" }

// Ordered reports true: collectives run alone and in the tape's order on the CPU
// backend's streams, so that every rank issues them in the same order.
func (AllSumOp) Ordered() bool { return true }

// AllGatherOp concatenates its input (at least one dimension) of every rank of the world
// group along the first axis, in rank order (MPI_Allgather).
type AllGatherOp struct{}

// Name returns "AllGather".
func (AllGatherOp) Name() string { return "AllGather" }

// Ordered reports true, as AllSumOp's.
func (AllGatherOp) Ordered() bool { return true }

func init() {
	cpu.Register(allSumKernel)
	cpu.Register(allGatherKernel)
}

func allSumKernel(_ AllSumOp, in []*backend.Node, out *backend.Node) {
	send, _ := cpu.HostBytes(in[0])
	buf := cpu.Alloc(out.NBytes())
	sumBytes(send, buf.HostBytes(), out.Dtype)
	out.Set(buf)
}

func allGatherKernel(_ AllGatherOp, in []*backend.Node, out *backend.Node) {
	send, _ := cpu.HostBytes(in[0])
	buf := cpu.Alloc(out.NBytes())
	gatherBytes(send, buf.HostBytes())
	out.Set(buf)
}

type allSumPrim struct{}

func (allSumPrim) Op() backend.Op { return AllSumOp{} }

// VJP passes the cotangent through, as MLX's AllReduce does.
func (allSumPrim) VJP(_ []*mx.Array, _, g *mx.Array) []*mx.Array { return []*mx.Array{g} }

type allGatherPrim struct{ rank, size int }

func (allGatherPrim) Op() backend.Op { return AllGatherOp{} }

// VJP is this rank's slice of the cotangent.
func (p allGatherPrim) VJP(in []*mx.Array, _, g *mx.Array) []*mx.Array {
	d := in[0].Dim(0)
	return []*mx.Array{mx.SliceAxis(g, 0, p.rank*d, (p.rank+1)*d)}
}

// allSumArray is AllSum of a float32, int32 or int64 array in a group of several ranks.
func allSumArray(x *mx.Array) *mx.Array {
	return mx.NewArray(append([]int(nil), x.Shape()...), x.Dtype(), allSumPrim{}, x)
}

// allGatherArray is AllGather of an array of at least one dimension in a group of several
// ranks.
func allGatherArray(x *mx.Array, rank, size int) *mx.Array {
	shape := append([]int{x.Dim(0) * size}, x.Shape()[1:]...)
	return mx.NewArray(shape, x.Dtype(), allGatherPrim{rank, size}, x)
}
