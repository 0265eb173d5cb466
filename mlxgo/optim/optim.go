// Package optim holds mlxgo's optimizers, learning-rate schedules and gradient clipping,
// mirroring mlx.optimizers.
//
// An optimizer's Update is lazy, as in MLX: it builds the new parameters and state as
// graphs and installs them in the model, but nothing is computed — and the old values
// stay in place — until mx.Eval(model.Parameters(), opt.State()) runs.
package optim

import (
	"fmt"
	"math"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Schedule maps an optimizer step (0 for the first update) to a learning rate.
type Schedule func(step int) float64

// Constant is a schedule that always returns lr.
func Constant(lr float64) Schedule { return func(int) float64 { return lr } }

// Optimizer updates a model's trainable parameters from gradients.
type Optimizer interface {
	// Update applies one step: model parameters and optimizer state become lazy arrays.
	Update(model any, grads map[string]any)
	// State returns the optimizer state as a pytree (for mx.Eval and checkpoints).
	State() map[string]any
	// SetState restores a state returned by State (e.g. loaded from a checkpoint).
	SetState(state map[string]any) error
	// Step returns the number of updates applied.
	Step() int
	// LearningRate returns the rate the next update will use.
	LearningRate() float64
}

// rule is one optimizer's per-parameter update.
type rule interface {
	init(p *mx.Array) map[string]*mx.Array
	apply(g, p *mx.Array, s map[string]*mx.Array, lr float64, step int) *mx.Array
}

// base implements Optimizer for a rule: state is {"step": int32 scalar, "learning_rate":
// float32 scalar, "<param key>": {state arrays}}.
type base struct {
	r     rule
	lr    Schedule
	step  int
	state map[string]map[string]*mx.Array
	lrArr *mx.Array
}

func newBase(r rule, lr Schedule) *base {
	return &base{r: r, lr: lr, state: map[string]map[string]*mx.Array{}}
}

func (o *base) Step() int             { return o.step }
func (o *base) LearningRate() float64 { return o.lr(o.step) }

func (o *base) Update(model any, grads map[string]any) {
	params := tree.FlattenMap(nn.TrainableParameters(model))
	lr := o.lr(o.step)
	o.step++
	var updated []tree.Pair
	for _, g := range tree.Flatten(grads) {
		p, ok := params[g.Key]
		if !ok {
			panic(fmt.Sprintf("optim: gradient for %q, which is not a trainable parameter", g.Key))
		}
		s, ok := o.state[g.Key]
		if !ok {
			s = o.r.init(p)
			o.state[g.Key] = s
		}
		np := o.r.apply(g.Value, p, s, lr, o.step)
		updated = append(updated, tree.Pair{Key: g.Key, Value: mx.AsType(np, p.Dtype())})
	}
	o.lrArr = mx.Scalar(lr)
	if err := nn.Update(model, tree.Unflatten(updated).(map[string]any)); err != nil {
		panic(err)
	}
}

func (o *base) State() map[string]any {
	st := map[string]any{"step": mx.FromSlice([]int32{int32(o.step)}).Reshape()}
	if o.lrArr != nil {
		st["learning_rate"] = o.lrArr
	}
	for k, s := range o.state {
		m := map[string]any{}
		for n, a := range s {
			m[n] = a
		}
		st[k] = m
	}
	return st
}

func (o *base) SetState(state map[string]any) error {
	o.state = map[string]map[string]*mx.Array{}
	for k, v := range state {
		switch k {
		case "step":
			a, ok := v.(*mx.Array)
			if !ok {
				return fmt.Errorf("optim: state key %q must be an array", k)
			}
			o.step = int(a.Item())
		case "learning_rate":
			if a, ok := v.(*mx.Array); ok {
				o.lrArr = a
			}
		default:
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("optim: state key %q must be a map of arrays, got %T", k, v)
			}
			s := map[string]*mx.Array{}
			for n, a := range m {
				arr, ok := a.(*mx.Array)
				if !ok {
					return fmt.Errorf("optim: state %q.%q must be an array", k, n)
				}
				s[n] = arr
			}
			o.state[k] = s
		}
	}
	return nil
}

// --- SGD ---

type sgd struct {
	momentum, weightDecay, dampening float64
	nesterov                         bool
}

// NewSGD returns stochastic gradient descent with optional momentum, Nesterov momentum,
// dampening and weight decay (added to the gradient), as mlx.optimizers.SGD.
func NewSGD(lr Schedule, momentum, weightDecay, dampening float64, nesterov bool) Optimizer {
	return newBase(sgd{momentum, weightDecay, dampening, nesterov}, lr)
}

func (r sgd) init(p *mx.Array) map[string]*mx.Array {
	return map[string]*mx.Array{"v": mx.ZerosLike(p)}
}

func (r sgd) apply(g, p *mx.Array, s map[string]*mx.Array, lr float64, step int) *mx.Array {
	if r.weightDecay != 0 {
		g = mx.Add(g, mx.Multiply(p, r.weightDecay))
	}
	if r.momentum == 0 {
		return mx.Subtract(p, mx.Multiply(g, lr))
	}
	v := mx.Multiply(s["v"], r.momentum)
	if r.dampening > 0 {
		v = mx.Add(v, mx.Multiply(g, 1-r.dampening))
	} else {
		v = mx.Add(v, g)
	}
	s["v"] = v
	upd := v
	if r.nesterov {
		upd = mx.Add(g, mx.Multiply(v, r.momentum))
	}
	return mx.Subtract(p, mx.Multiply(upd, lr))
}

// --- Adam / AdamW ---

// AdamConfig holds Adam's hyper-parameters.
type AdamConfig struct {
	Betas          [2]float64 // default 0.9, 0.999
	Eps            float64    // default 1e-8
	WeightDecay    float64    // AdamW only (decoupled); default 0.01 for NewAdamW
	BiasCorrection bool       // MLX defaults it off; PyTorch always applies it
}

type adam struct {
	c     AdamConfig
	decay bool
}

// NewAdam returns Adam with MLX's defaults (betas 0.9/0.999, eps 1e-8, no bias
// correction unless cfg asks for it). A zero cfg takes the defaults.
func NewAdam(lr Schedule, cfg AdamConfig) Optimizer { return newBase(adam{fill(cfg), false}, lr) }

// NewAdamW returns AdamW (decoupled weight decay). Set cfg.BiasCorrection to match
// PyTorch's AdamW.
func NewAdamW(lr Schedule, cfg AdamConfig) Optimizer { return newBase(adam{fill(cfg), true}, lr) }

func fill(c AdamConfig) AdamConfig {
	if c.Betas == [2]float64{} {
		c.Betas = [2]float64{0.9, 0.999}
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

func (r adam) init(p *mx.Array) map[string]*mx.Array {
	return map[string]*mx.Array{"m": mx.ZerosLike(p), "v": mx.ZerosLike(p)}
}

func (r adam) apply(g, p *mx.Array, s map[string]*mx.Array, lr float64, step int) *mx.Array {
	b1, b2 := r.c.Betas[0], r.c.Betas[1]
	op := AdamStepOp{Beta1: float32(b1), OneMinusBeta1: float32(1 - b1), Beta2: float32(b2),
		OneMinusBeta2: float32(1 - b2), Eps: float32(r.c.Eps), Decay: 1, SqrtC2: 1, Rate: float32(lr)}
	if r.decay && r.c.WeightDecay != 0 {
		op.Decay = float32(1 - lr*r.c.WeightDecay)
	}
	if r.c.BiasCorrection {
		op.SqrtC2 = float32(math.Sqrt(1 - math.Pow(b2, float64(step))))
		op.Rate = float32(lr / (1 - math.Pow(b1, float64(step))))
	}
	if np, m, v, ok := fusedAdam(op, g, p, s["m"], s["v"]); ok && fuseAdam {
		s["m"], s["v"] = m, v
		return np
	}
	if r.decay && r.c.WeightDecay != 0 {
		p = mx.Multiply(p, 1-lr*r.c.WeightDecay)
	}
	m := mx.Add(mx.Multiply(s["m"], b1), mx.Multiply(g, 1-b1))
	v := mx.Add(mx.Multiply(s["v"], b2), mx.Multiply(mx.Square(g), 1-b2))
	s["m"], s["v"] = m, v
	if r.c.BiasCorrection {
		c1 := 1 - math.Pow(b1, float64(step))
		c2 := 1 - math.Pow(b2, float64(step))
		den := mx.Add(mx.Divide(mx.Sqrt(v), math.Sqrt(c2)), r.c.Eps)
		return mx.Subtract(p, mx.Multiply(mx.Divide(m, den), lr/c1))
	}
	return mx.Subtract(p, mx.Multiply(mx.Divide(m, mx.Add(mx.Sqrt(v), r.c.Eps)), lr))
}

// --- Lion ---

type lion struct{ b1, b2, wd float64 }

// NewLion returns the Lion optimizer (betas default 0.9/0.99).
func NewLion(lr Schedule, b1, b2, weightDecay float64) Optimizer {
	if b1 == 0 && b2 == 0 {
		b1, b2 = 0.9, 0.99
	}
	return newBase(lion{b1, b2, weightDecay}, lr)
}

func (r lion) init(p *mx.Array) map[string]*mx.Array {
	return map[string]*mx.Array{"m": mx.ZerosLike(p)}
}

func (r lion) apply(g, p *mx.Array, s map[string]*mx.Array, lr float64, _ int) *mx.Array {
	c := mx.Add(mx.Multiply(s["m"], r.b1), mx.Multiply(g, 1-r.b1))
	s["m"] = mx.Add(mx.Multiply(s["m"], r.b2), mx.Multiply(g, 1-r.b2))
	if r.wd > 0 {
		p = mx.Multiply(p, 1-lr*r.wd)
	}
	return mx.Subtract(p, mx.Multiply(mx.Sign(c), lr))
}

// --- Adafactor ---

type adafactor struct{ eps1, clip, decay, beta1 float64 }

// NewAdafactor returns Adafactor with factored second moments for matrices (no
// relative step; lr from the schedule), eps 1e-30, clipping threshold 1, decay rate -0.8.
func NewAdafactor(lr Schedule) Optimizer {
	return newBase(adafactor{1e-30, 1.0, -0.8, 0}, lr)
}

func (r adafactor) init(p *mx.Array) map[string]*mx.Array {
	if p.Ndim() >= 2 {
		sh := p.Shape()
		row := append([]int(nil), sh[:len(sh)-1]...)
		col := append(append([]int(nil), sh[:len(sh)-2]...), sh[len(sh)-1])
		return map[string]*mx.Array{"exp_avg_sq_row": mx.Zeros(row, mx.Float32), "exp_avg_sq_col": mx.Zeros(col, mx.Float32)}
	}
	return map[string]*mx.Array{"exp_avg_sq": mx.ZerosLike(p)}
}

func (r adafactor) apply(g, p *mx.Array, s map[string]*mx.Array, lr float64, step int) *mx.Array {
	beta2 := 1 - math.Pow(float64(step), r.decay)
	g2 := mx.Add(mx.Square(g), r.eps1)
	var u *mx.Array
	if p.Ndim() >= 2 {
		row := mx.Add(mx.Multiply(s["exp_avg_sq_row"], beta2), mx.Multiply(mx.Mean(g2, []int{-1}, false), 1-beta2))
		col := mx.Add(mx.Multiply(s["exp_avg_sq_col"], beta2), mx.Multiply(mx.Mean(g2, []int{-2}, false), 1-beta2))
		s["exp_avg_sq_row"], s["exp_avg_sq_col"] = row, col
		rf := mx.Rsqrt(mx.Divide(row, mx.Mean(row, []int{-1}, true)))
		cf := mx.Rsqrt(col)
		u = mx.Multiply(mx.Multiply(mx.ExpandDims(rf, -1), mx.ExpandDims(cf, -2)), g)
	} else {
		v := mx.Add(mx.Multiply(s["exp_avg_sq"], beta2), mx.Multiply(g2, 1-beta2))
		s["exp_avg_sq"] = v
		u = mx.Multiply(mx.Rsqrt(v), g)
	}
	rms := mx.Sqrt(mx.Mean(mx.Square(u), nil, false))
	u = mx.Divide(u, mx.Maximum(mx.Divide(rms, r.clip), 1.0))
	return mx.Subtract(p, mx.Multiply(u, lr))
}

// ClipGradNorm scales the gradient tree so its global L2 norm is at most maxNorm and
// returns the clipped tree and the norm before clipping (both lazy).
func ClipGradNorm(grads map[string]any, maxNorm float64) (map[string]any, *mx.Array) {
	var sq *mx.Array
	for _, g := range tree.Leaves(grads) {
		s := mx.Sum(mx.Square(mx.AsType(g, mx.Float32)), nil, false)
		if sq == nil {
			sq = s
		} else {
			sq = mx.Add(sq, s)
		}
	}
	if sq == nil {
		return grads, mx.Scalar(0)
	}
	norm := mx.Sqrt(sq)
	scale := mx.Minimum(mx.Divide(maxNorm, mx.Add(norm, 1e-6)), 1.0)
	clipped := tree.Map(grads, func(g *mx.Array) *mx.Array { return mx.AsType(mx.Multiply(g, scale), g.Dtype()) })
	return clipped.(map[string]any), norm
}
