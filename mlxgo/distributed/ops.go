package distributed

import (
	"fmt"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// AllSum returns the element-wise sum of x over all ranks of the world group (MLX's
// mx.distributed.all_sum). It is lazy: the reduction runs when the result is evaluated,
// as part of mx.Eval. Its VJP passes the cotangent through unchanged, as MLX's does.
// float32, int32 and int64 are summed as they are; other dtypes are summed in float32.
// In a group of one it returns x.
func AllSum(x *mx.Array) *mx.Array {
	g := mustWorld()
	if g.size == 1 {
		return x
	}
	switch x.Dtype() {
	case mx.Float32, mx.Int32, mx.Int64:
		return collective(x, hostAllSum, func(x *mx.Array) *mx.Array { return x })
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
	// The differentiable stand-in: x in this rank's slot, zeros elsewhere, so the
	// gradient of the gathered array with respect to x is this rank's slice.
	diff := func(x *mx.Array) *mx.Array {
		parts := make([]*mx.Array, g.size)
		for i := range parts {
			parts[i] = mx.ZerosLike(x)
		}
		parts[g.rank] = x
		return mx.Concatenate(parts, 0)
	}
	return collective(x, hostAllGather, diff)
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

// hostAllSum sums an evaluated array across ranks through MPI_Allreduce.
func hostAllSum(x *mx.Array) *mx.Array {
	send := x.Bytes()
	recv := make([]byte, len(send))
	if len(send) > 0 {
		guard("AllSum", func() error {
			return world.mpi.allreduceSum(send, recv, mpiType(world.mpi, x.Dtype()), x.Dtype().Size())
		})
	}
	return mx.FromBytes(recv, x.Shape(), x.Dtype())
}

// hostAllGather gathers an evaluated array from every rank through MPI_Allgather.
func hostAllGather(x *mx.Array) *mx.Array {
	send := x.Bytes()
	recv := make([]byte, len(send)*world.size)
	if len(send) > 0 {
		guard("AllGather", func() error { return world.mpi.gather(send, recv) })
	}
	shape := append([]int{x.Dim(0) * world.size}, x.Shape()[1:]...)
	return mx.FromBytes(recv, shape, x.Dtype())
}
