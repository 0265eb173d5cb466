package distributed_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Averaging gradients over the ranks of a job: each rank computed grad on its shard of the
// batch. Run as a plain process, the group has one rank and the average is grad itself;
// under `mpirun -np 2` both ranks print the mean of their gradients.
func ExampleAllSum() {
	g, err := distributed.Init()
	if err != nil {
		panic(err)
	}
	grad := mx.FromSlice([]float32{0.5, -1, 2})
	avg := mx.Divide(distributed.AllSum(grad), float64(g.Size()))
	fmt.Println(g.Rank(), g.Size(), avg)
	// Output: 0 1 array([0.5, -1, 2], dtype=float32)
}
