package distributed

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// AllSum returns the element-wise sum of x over all ranks of the world group (MLX's
// mx.distributed.all_sum). It is lazy: the reduction runs inside mx.Eval, when the graph
// reaches it, and every rank must evaluate its AllSums in the same order. Its VJP passes
// the cotangent through unchanged, as MLX's does.
// float32, int32 and int64 are summed as they are; other dtypes are summed in float32.
// In a group of one it returns x.
func AllSum(x *mx.Array) *mx.Array {
	g := mustWorld()
	if g.size == 1 {
		return x
	}
	switch x.Dtype() {
	case mx.Float32, mx.Int32, mx.Int64:
		return allSumArray(x)
	}
	return mx.AsType(AllSum(mx.AsType(x, mx.Float32)), x.Dtype())
}

// AllGather returns the arrays x of all ranks concatenated along the first axis, in rank
// order (MLX's mx.distributed.all_gather): shape (Size·d0, d1, ...). Every rank's x must
// have the same shape; a scalar is gathered as a vector. It is lazy, and its VJP is this
// rank's slice of the cotangent. In a group of one it returns x.
func AllGather(x *mx.Array) *mx.Array {
	g := mustWorld()
	if x.Ndim() == 0 {
		x = mx.Reshape(x, 1)
	}
	if g.size == 1 {
		return x
	}
	return allGatherArray(x, g.rank, g.size)
}

// mpiType returns the MPI datatype handle of a dtype that MPI sums directly.
func mpiType(m *mpi, dt mx.Dtype) uintptr {
	switch dt {
	case mx.Float32:
		return m.f32
	case mx.Int32:
		return m.i32
	case mx.Int64:
		return m.i64
	}
	panic(fmt.Sprintf("distributed: no MPI type for %s", dt))
}

// sumBytes sums the elements (of dtype dt) in send over all ranks into recv.
func sumBytes(send, recv []byte, dt mx.Dtype) {
	if len(send) > 0 {
		guard("AllSum", func() error { return world.mpi.allreduceSum(send, recv, mpiType(world.mpi, dt), dt.Size()) })
	}
}

// gatherBytes gathers send from every rank into recv, in rank order.
func gatherBytes(send, recv []byte) {
	if len(send) > 0 {
		guard("AllGather", func() error { return world.mpi.gather(send, recv) })
	}
}
