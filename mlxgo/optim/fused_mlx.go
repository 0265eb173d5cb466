package optim

import (
	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
	"github.com/mlxgo/mlxgo/mlxgo/backend/mlx/mlxc"
)

// AdamStep's MLX lowering: the composite rule's operations, in MLX.

func init() { mlx.Register(adamStepMLX) }

func adamStepMLX(c *mlxc.Ctx, op AdamStepOp, in []mlxc.Array, nodes []*backend.Node, _ *backend.Node) mlxc.Array {
	g, p, m, v := in[0], in[1], in[2], in[3]
	mul := func(a mlxc.Array, s float32) mlxc.Array { return c.Binary("multiply", a, c.Scalar(s)) }
	nm := c.Binary("add", mul(m, op.Beta1), mul(g, op.OneMinusBeta1))
	nv := c.Binary("add", mul(v, op.Beta2), mul(c.Binary("multiply", g, g), op.OneMinusBeta2))
	r := c.Unary("sqrt", nv)
	if op.SqrtC2 != 1 {
		r = c.Binary("divide", r, c.Scalar(op.SqrtC2))
	}
	if op.Decay != 1 {
		p = mul(p, op.Decay)
	}
	np := c.Binary("subtract", p, mul(c.Binary("divide", nm, c.Binary("add", r, c.Scalar(op.Eps))), op.Rate))
	shape := append([]int{1}, nodes[0].Shape...)
	return c.Concatenate([]mlxc.Array{c.Reshape(np, shape), c.Reshape(nm, shape), c.Reshape(nv, shape)}, 0)
}
