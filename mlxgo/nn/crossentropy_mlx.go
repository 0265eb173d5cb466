package nn

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

// The fused cross-entropy's and SwiGLU's MLX lowerings, so that on the MLX backend the logits never
// leave MLX: composed from MLX ops with the CPU kernels' semantics.

func init() {
	mlx.Register(crossEntropyMLX)
	mlx.Register(crossEntropyGradMLX)
	mlx.Register(swigluMLX)
	mlx.Register(swigluGradMLX)
}

// targetsMLX returns targets (N) as an int32 column (N, 1), clamped into [0, V), and
// whether each was in range.
func targetsMLX(c *mlxc.Ctx, t mlxc.Array, n, V int) (idx, valid mlxc.Array) {
	t = c.Reshape(c.AsType(t, mlxc.Int32), []int{n, 1})
	zero, v := c.AsType(c.Scalar(0), mlxc.Int32), c.AsType(c.Scalar(float32(V)), mlxc.Int32)
	valid = c.Binary("logical_and", c.Binary("greater_equal", t, zero), c.Binary("less", t, v))
	return c.Where(valid, t, zero), valid
}

// crossEntropyMLX is logsumexp(row) − row[target], NaN for a target outside [0, V).
func crossEntropyMLX(c *mlxc.Ctx, _ CrossEntropyOp, in []mlxc.Array, nodes []*backend.Node, _ *backend.Node) mlxc.Array {
	n, V := nodes[0].Shape[0], nodes[0].Shape[1]
	x := c.AsType(in[0], mlxc.Float32)
	idx, valid := targetsMLX(c, in[1], n, V)
	ce := c.Binary("subtract", c.Reduce("logsumexp", x, []int{1}, true), c.TakeAlongAxis(x, idx, 1))
	ce = c.Where(valid, ce, c.Scalar(float32(math.NaN())))
	return c.Reshape(ce, []int{n})
}

// crossEntropyGradMLX is g[:, None]·(softmax(row) − onehot(target)).
func crossEntropyGradMLX(c *mlxc.Ctx, _ CrossEntropyGradOp, in []mlxc.Array, nodes []*backend.Node, _ *backend.Node) mlxc.Array {
	n, V := nodes[0].Shape[0], nodes[0].Shape[1]
	x := c.AsType(in[0], mlxc.Float32)
	idx, valid := targetsMLX(c, in[1], n, V)
	g := c.Reshape(c.AsType(in[2], mlxc.Float32), []int{n, 1})
	cols := c.Reshape(c.Arange(0, float64(V), 1, mlxc.Int32), []int{1, V})
	hot := c.AsType(c.Binary("logical_and", c.Binary("equal", cols, idx), valid), mlxc.Float32)
	return c.Binary("multiply", c.Binary("subtract", c.Softmax(x, []int{1}, true), hot), g)
}

// swigluMLX is silu(gate)·up, composed as MLX's nn.silu does.
func swigluMLX(c *mlxc.Ctx, _ SwiGLUOp, in []mlxc.Array, _ []*backend.Node, _ *backend.Node) mlxc.Array {
	return c.Binary("multiply", c.Binary("multiply", in[0], c.Unary("sigmoid", in[0])), in[1])
}

// swigluGradMLX stacks g·up·σ(gate)·(1 + gate·(1 − σ(gate))) and g·silu(gate).
func swigluGradMLX(c *mlxc.Ctx, _ SwiGLUGradOp, in []mlxc.Array, nodes []*backend.Node, _ *backend.Node) mlxc.Array {
	gate, up, g := in[0], in[1], in[2]
	s := c.Unary("sigmoid", gate)
	one := c.AsType(c.Scalar(1), c.Dtype(gate))
	dsilu := c.Binary("multiply", s, c.Binary("add", one, c.Binary("multiply", gate, c.Binary("subtract", one, s))))
	dgate := c.Binary("multiply", c.Binary("multiply", g, up), dsilu)
	dup := c.Binary("multiply", g, c.Binary("multiply", gate, s))
	shape := append([]int{1}, nodes[0].Shape...)
	return c.Concatenate([]mlxc.Array{c.Reshape(dgate, shape), c.Reshape(dup, shape)}, 0)
}
