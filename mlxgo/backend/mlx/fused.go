package mlx

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

func init() { Register(lowerFused) }

// lowerFused lowers a fused chain (mx.Compile) to the MLX ops of its steps, each step's
// result converted to its dtype as a separate op's would be.
func lowerFused(c *mlxc.Ctx, op backend.Fused, in []mlxc.Array, _ []*backend.Node, out *backend.Node) mlxc.Array {
	l := &lowerer{c: c}
	regs := append([]mlxc.Array(nil), in...)
	for _, st := range op.Steps {
		var r mlxc.Array
		if f, ok := st.Op.(backend.Full); ok {
			r = l.scalar(f.Value)
		} else {
			args := make([]mlxc.Array, len(st.Args))
			for k, a := range st.Args {
				args[k] = regs[a]
			}
			r = l.lower(st.Op, args, nil, &backend.Node{Shape: out.Shape, Dtype: st.Dtype})
		}
		if want := dtypeOf(st.Dtype); c.Dtype(r) != want {
			r = c.AsType(r, want)
		}
		regs = append(regs, r)
	}
	return regs[len(regs)-1]
}
