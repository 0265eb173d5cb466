package optim_test

import (
	"math"
	"reflect"
	"sort"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/optim"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// scalar is a model with one parameter of one element.
type scalar struct {
	nn.Base
	W *mx.Array `mx:"w"`
}

func newScalar(w float64) *scalar { return &scalar{W: mx.FromSlice([]float32{float32(w)})} }

func (m *scalar) value() float64 { return float64(m.W.Float32s()[0]) }

func gradTree(g float64) map[string]any {
	return map[string]any{"w": mx.FromSlice([]float32{float32(g)})}
}

// refState is the float64 state a reference update keeps between steps.
type refState struct{ m, v float64 }

const (
	p0 = 0.8
	lr = 0.05
)

// grads are the gradients of the three steps; a gradient that depends on p (as a real
// loss's does) is added through gradOf.
var grads = []float64{0.5, -1.25, 2.0}

// lionGrads make Lion's update direction depend on its momentum: the second step's
// sign(β1·m + (1-β1)·g) differs from sign(g) and from what a wrong m would give.
var lionGrads = []float64{1.0, -0.5, 0.3}

func gradOf(step int, p float64) float64 { return gradFrom(grads, step, p) }

func gradFrom(seq []float64, step int, p float64) float64 { return seq[step] + 0.3*p }

func TestFirstThreeUpdates(t *testing.T) {
	sgdRef := func(mom, wd, damp float64, nesterov bool) func(p, g float64, s *refState, step int) float64 {
		return func(p, g float64, s *refState, _ int) float64 {
			g += wd * p
			if mom == 0 {
				return p - lr*g
			}
			s.v = mom*s.v + (1-damp)*g
			u := s.v
			if nesterov {
				u = g + mom*s.v
			}
			return p - lr*u
		}
	}
	adamRef := func(b1, b2, eps, wd float64, bc bool) func(p, g float64, s *refState, step int) float64 {
		return func(p, g float64, s *refState, step int) float64 {
			p *= 1 - lr*wd
			s.m = b1*s.m + (1-b1)*g
			s.v = b2*s.v + (1-b2)*g*g
			m, v := s.m, s.v
			if bc {
				m /= 1 - math.Pow(b1, float64(step))
				v /= 1 - math.Pow(b2, float64(step))
			}
			return p - lr*m/(math.Sqrt(v)+eps)
		}
	}
	lionRef := func(b1, b2, wd float64) func(p, g float64, s *refState, step int) float64 {
		return func(p, g float64, s *refState, _ int) float64 {
			c := b1*s.m + (1-b1)*g
			s.m = b2*s.m + (1-b2)*g
			p *= 1 - lr*wd
			sign := 0.0
			if c > 0 {
				sign = 1
			} else if c < 0 {
				sign = -1
			}
			return p - lr*sign
		}
	}
	k := optim.Constant(lr)
	cases := []struct {
		name string
		opt  func() optim.Optimizer
		ref  func(p, g float64, s *refState, step int) float64
		keys []string  // state keys of the parameter
		gs   []float64 // gradient sequence (default grads)
	}{
		{"sgd", func() optim.Optimizer { return optim.NewSGD(k, 0, 0, 0, false) }, sgdRef(0, 0, 0, false), []string{"v"}, nil},
		{"sgd weight decay", func() optim.Optimizer { return optim.NewSGD(k, 0, 0.1, 0, false) }, sgdRef(0, 0.1, 0, false), []string{"v"}, nil},
		{"sgd momentum", func() optim.Optimizer { return optim.NewSGD(k, 0.9, 0, 0, false) }, sgdRef(0.9, 0, 0, false), []string{"v"}, nil},
		{"sgd momentum dampening", func() optim.Optimizer { return optim.NewSGD(k, 0.9, 0, 0.3, false) }, sgdRef(0.9, 0, 0.3, false), []string{"v"}, nil},
		{"sgd nesterov weight decay", func() optim.Optimizer { return optim.NewSGD(k, 0.8, 0.05, 0, true) }, sgdRef(0.8, 0.05, 0, true), []string{"v"}, nil},
		{"adam (no bias correction)", func() optim.Optimizer { return optim.NewAdam(k, optim.AdamConfig{}) }, adamRef(0.9, 0.999, 1e-8, 0, false), []string{"m", "v"}, nil},
		{"adam bias correction", func() optim.Optimizer { return optim.NewAdam(k, optim.AdamConfig{BiasCorrection: true}) }, adamRef(0.9, 0.999, 1e-8, 0, true), []string{"m", "v"}, nil},
		{"adam custom betas eps", func() optim.Optimizer {
			return optim.NewAdam(k, optim.AdamConfig{Betas: [2]float64{0.8, 0.95}, Eps: 0.1, BiasCorrection: true})
		}, adamRef(0.8, 0.95, 0.1, 0, true), []string{"m", "v"}, nil},
		{"adam ignores weight decay", func() optim.Optimizer { return optim.NewAdam(k, optim.AdamConfig{WeightDecay: 0.5}) }, adamRef(0.9, 0.999, 1e-8, 0, false), []string{"m", "v"}, nil},
		{"adamw decoupled decay", func() optim.Optimizer { return optim.NewAdamW(k, optim.AdamConfig{WeightDecay: 0.5}) }, adamRef(0.9, 0.999, 1e-8, 0.5, false), []string{"m", "v"}, nil},
		{"adamw decay + bias correction", func() optim.Optimizer {
			return optim.NewAdamW(k, optim.AdamConfig{Betas: [2]float64{0.9, 0.95}, WeightDecay: 0.1, BiasCorrection: true})
		}, adamRef(0.9, 0.95, 1e-8, 0.1, true), []string{"m", "v"}, nil},
		{"lion defaults", func() optim.Optimizer { return optim.NewLion(k, 0, 0, 0) }, lionRef(0.9, 0.99, 0), []string{"m"}, lionGrads},
		{"lion weight decay", func() optim.Optimizer { return optim.NewLion(k, 0.5, 0.9, 0.2) }, lionRef(0.5, 0.9, 0.2), []string{"m"}, lionGrads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, opt := newScalar(p0), c.opt()
			want, s := p0, &refState{}
			gs := grads
			if c.gs != nil {
				gs = c.gs
			}
			for step := 0; step < len(gs); step++ {
				g := gradFrom(gs, step, want)
				opt.Update(m, gradTree(g))
				mx.Eval(nn.Parameters(m), opt.State())
				want = c.ref(want, g, s, step+1)
				got := m.value()
				if math.Abs(got-want) > 2e-6*(1+math.Abs(want)) {
					t.Fatalf("step %d: w = %.9g, hand-computed %.9g", step+1, got, want)
				}
				if opt.Step() != step+1 {
					t.Fatalf("Step() = %d after %d updates", opt.Step(), step+1)
				}
				if m.W.Dtype() != mx.Float32 || !reflect.DeepEqual(m.W.Shape(), []int{1}) {
					t.Fatalf("parameter became %v%v", m.W.Dtype(), m.W.Shape())
				}
			}
			st, ok := opt.State()["w"].(map[string]any)
			if !ok {
				t.Fatalf(`State()["w"] is %T`, opt.State()["w"])
			}
			var ks []string
			for k := range st {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			if !reflect.DeepEqual(ks, c.keys) {
				t.Fatalf("state keys %v, want %v", ks, c.keys)
			}
		})
	}
}

func TestAdafactorVector(t *testing.T) {
	// Unfactored (1-D) Adafactor: v = β2 v + (1-β2)(g²+ε1), β2 = 1 - t^-0.8,
	// u = g/sqrt(v), u /= max(rms(u)/1, 1), p -= lr u.
	m, opt := newScalar(p0), optim.NewAdafactor(optim.Constant(lr))
	want, v := p0, 0.0
	for step := 1; step <= 3; step++ {
		g := gradOf(step-1, want)
		opt.Update(m, gradTree(g))
		mx.Eval(nn.Parameters(m), opt.State())
		b2 := 1 - math.Pow(float64(step), -0.8)
		v = b2*v + (1-b2)*(g*g+1e-30)
		u := g / math.Sqrt(v)
		u /= math.Max(math.Abs(u), 1)
		want -= lr * u
		if got := m.value(); math.Abs(got-want) > 2e-6 {
			t.Fatalf("step %d: w = %.9g, hand-computed %.9g", step, got, want)
		}
	}
}

// matrix is a model with one 2×3 parameter, for Adafactor's factored moments.
type matrix struct {
	nn.Base
	W *mx.Array `mx:"w"`
}

func TestAdafactorMatrix(t *testing.T) {
	// Factored: R = β2 R + (1-β2) mean_col(g²+ε1), C = β2 C + (1-β2) mean_row(g²+ε1),
	// u = g / sqrt((R / mean(R)) ⊗ C), u /= max(rms(u), 1), p -= lr u.
	const rows, cols = 2, 3
	p := []float64{0.5, -0.25, 1, 2, 0, -1.5}
	p32 := make([]float32, len(p))
	for i, v := range p {
		p32[i] = float32(v)
	}
	m := &matrix{W: mx.FromSlice(p32, rows, cols)}
	opt := optim.NewAdafactor(optim.Constant(lr))
	R, C := make([]float64, rows), make([]float64, cols)
	for step := 1; step <= 3; step++ {
		g := make([]float64, len(p))
		g32 := make([]float32, len(p))
		for i := range g {
			g[i] = float64(float32(math.Sin(float64(3*step+i)) + 0.2*p[i]))
			g32[i] = float32(g[i])
		}
		opt.Update(m, map[string]any{"w": mx.FromSlice(g32, rows, cols)})
		mx.Eval(nn.Parameters(m), opt.State())
		b2 := 1 - math.Pow(float64(step), -0.8)
		for r := 0; r < rows; r++ {
			s := 0.0
			for c := 0; c < cols; c++ {
				s += (g[r*cols+c]*g[r*cols+c] + 1e-30) / cols
			}
			R[r] = b2*R[r] + (1-b2)*s
		}
		for c := 0; c < cols; c++ {
			s := 0.0
			for r := 0; r < rows; r++ {
				s += (g[r*cols+c]*g[r*cols+c] + 1e-30) / rows
			}
			C[c] = b2*C[c] + (1-b2)*s
		}
		meanR := (R[0] + R[1]) / 2
		u := make([]float64, len(p))
		sq := 0.0
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				u[r*cols+c] = g[r*cols+c] / math.Sqrt(R[r]/meanR*C[c])
				sq += u[r*cols+c] * u[r*cols+c]
			}
		}
		div := math.Max(math.Sqrt(sq/float64(len(u))), 1)
		got := m.W.Float32s()
		for i := range p {
			p[i] -= lr * u[i] / div
			if math.Abs(float64(got[i])-p[i]) > 1e-5 {
				t.Fatalf("step %d: w[%d] = %.7g, hand-computed %.7g", step, i, got[i], p[i])
			}
		}
		st := opt.State()["w"].(map[string]any)
		if r, c := st["exp_avg_sq_row"].(*mx.Array), st["exp_avg_sq_col"].(*mx.Array); !reflect.DeepEqual(r.Shape(), []int{rows}) || !reflect.DeepEqual(c.Shape(), []int{cols}) {
			t.Fatalf("factored state shapes %v %v, want [%d] [%d]", r.Shape(), c.Shape(), rows, cols)
		}
	}
}

func TestUpdateIsLazy(t *testing.T) {
	m := newScalar(p0)
	mx.Eval(m.W)
	old := m.W
	opt := optim.NewAdam(optim.Constant(lr), optim.AdamConfig{})
	opt.Update(m, gradTree(1))
	if m.W == old {
		t.Fatal("Update did not install a new parameter array")
	}
	if m.W.Evaluated() {
		t.Fatal("the new parameter was computed by Update; it must stay lazy until mx.Eval")
	}
	if got := old.Float32s()[0]; got != float32(p0) {
		t.Fatalf("the old parameter changed to %v", got)
	}
	st := opt.State()
	step, ok := st["step"].(*mx.Array)
	if !ok {
		t.Fatalf(`State()["step"] is %T, want *mx.Array`, st["step"])
	}
	if step.Dtype() != mx.Int32 || step.Ndim() != 0 || step.Item() != 1 {
		t.Fatalf(`State()["step"] = %v %v %v, want int32 scalar 1`, step.Dtype(), step.Shape(), step.Item())
	}
	if lrA, ok := st["learning_rate"].(*mx.Array); !ok || math.Abs(lrA.Item()-lr) > 1e-9 {
		t.Fatalf(`State()["learning_rate"] = %v`, st["learning_rate"])
	}
	ws := st["w"].(map[string]any)
	if ws["m"].(*mx.Array).Evaluated() || ws["v"].(*mx.Array).Evaluated() {
		t.Fatal("optimizer state was computed by Update; it must stay lazy")
	}
	mx.Eval(nn.Parameters(m), opt.State())
	if !m.W.Evaluated() || !ws["m"].(*mx.Array).Evaluated() {
		t.Fatal("mx.Eval(params, state) did not compute the parameter and the state")
	}
	// First Adam step without bias correction: m=0.1, v=0.001 → step lr·0.1/sqrt(0.001).
	want := p0 - lr*0.1/(math.Sqrt(0.001)+1e-8)
	if got := m.value(); math.Abs(got-want) > 1e-6 {
		t.Fatalf("w = %v after Eval, want %v", got, want)
	}
}

func TestUpdateRejectsUnknownGradient(t *testing.T) {
	m := newScalar(1)
	if err := nn.Freeze(m, true, true, "w"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a gradient for a frozen parameter did not panic")
		}
	}()
	optim.NewSGD(optim.Constant(lr), 0, 0, 0, false).Update(m, gradTree(1))
}

func TestSetStateRoundTrip(t *testing.T) {
	mk := []struct {
		name string
		opt  func() optim.Optimizer
	}{
		{"sgd momentum", func() optim.Optimizer { return optim.NewSGD(optim.Constant(lr), 0.9, 0, 0, true) }},
		{"adamw", func() optim.Optimizer {
			return optim.NewAdamW(optim.CosineDecay(lr, 10, 0), optim.AdamConfig{WeightDecay: 0.1, BiasCorrection: true})
		}},
		{"lion", func() optim.Optimizer { return optim.NewLion(optim.Constant(lr), 0, 0, 0.1) }},
		{"adafactor", func() optim.Optimizer { return optim.NewAdafactor(optim.Constant(lr)) }},
	}
	for _, c := range mk {
		t.Run(c.name, func(t *testing.T) {
			a := newScalar(p0)
			oa := c.opt()
			for step := 0; step < 2; step++ {
				oa.Update(a, gradTree(gradOf(step, a.value())))
				mx.Eval(nn.Parameters(a), oa.State())
			}
			b := newScalar(a.value())
			ob := c.opt()
			if err := ob.SetState(oa.State()); err != nil {
				t.Fatal(err)
			}
			if ob.Step() != 2 || ob.LearningRate() != oa.LearningRate() {
				t.Fatalf("after SetState: step %d lr %v, want 2 and %v", ob.Step(), ob.LearningRate(), oa.LearningRate())
			}
			if got, want := keys(ob.State()), keys(oa.State()); !reflect.DeepEqual(got, want) {
				t.Fatalf("State keys %v after SetState, want %v", got, want)
			}
			g := gradTree(gradOf(2, a.value()))
			oa.Update(a, g)
			ob.Update(b, g)
			mx.Eval(nn.Parameters(a), oa.State(), nn.Parameters(b), ob.State())
			if a.value() != b.value() {
				t.Fatalf("third step diverges after SetState: %v vs %v", a.value(), b.value())
			}
			// The state after the third step matches too, so it continued from the
			// restored moments (a fresh state would give step 1 and other moments).
			sa, sb := tree.FlattenMap(oa.State()), tree.FlattenMap(ob.State())
			for k, x := range sa {
				y, ok := sb[k]
				if !ok || !reflect.DeepEqual(x.Float32s(), y.Float32s()) {
					t.Fatalf("state %s after the third step: %v vs %v", k, x, y)
				}
			}
			if st := sb["step"].Item(); st != 3 {
				t.Fatalf("step %v after SetState and one update, want 3", st)
			}
		})
	}
	t.Run("bad state", func(t *testing.T) {
		o := optim.NewSGD(optim.Constant(lr), 0.9, 0, 0, false)
		for _, st := range []map[string]any{
			{"step": 3},
			{"w": mx.Zeros([]int{1}, mx.Float32)},
			{"w": map[string]any{"v": 1.0}},
		} {
			if err := o.SetState(st); err == nil {
				t.Fatalf("SetState(%v) accepted", st)
			}
		}
	})
}

func keys(m map[string]any) []string {
	var ks []string
	for _, p := range tree.Flatten(m) {
		ks = append(ks, p.Key)
	}
	return ks
}

func TestSchedules(t *testing.T) {
	warmCos := optim.JoinSchedules([]optim.Schedule{optim.LinearSchedule(0, 1e-3, 10), optim.CosineDecay(1e-3, 100, 1e-5)}, []int{10})
	three := optim.JoinSchedules([]optim.Schedule{optim.Constant(1), optim.Constant(2), optim.ExponentialDecay(4, 0.5)}, []int{5, 8})
	cases := []struct {
		name  string
		s     optim.Schedule
		steps []int
		want  []float64
	}{
		{"constant", optim.Constant(0.3), []int{0, 1000}, []float64{0.3, 0.3}},
		{"cosine", optim.CosineDecay(1, 100, 0.1), []int{0, 25, 50, 75, 100, 250},
			[]float64{1, 0.1 + 0.9*0.5*(1+math.Sqrt(0.5)), 0.55, 0.1 + 0.9*0.5*(1-math.Sqrt(0.5)), 0.1, 0.1}},
		{"cosine to zero", optim.CosineDecay(2e-4, 10, 0), []int{5, 10}, []float64{1e-4, 0}},
		{"linear", optim.LinearSchedule(0, 1, 10), []int{0, 1, 5, 9, 10, 11, 100}, []float64{0, 0.1, 0.5, 0.9, 1, 1, 1}},
		{"linear down", optim.LinearSchedule(1, 0.5, 4), []int{0, 2, 4, 8}, []float64{1, 0.75, 0.5, 0.5}},
		{"step decay", optim.StepDecay(1, 0.5, 10), []int{0, 9, 10, 19, 20, 35}, []float64{1, 1, 0.5, 0.5, 0.25, 0.125}},
		{"exponential", optim.ExponentialDecay(2, 0.9), []int{0, 1, 3}, []float64{2, 1.8, 2 * 0.729}},
		{"warm-up then cosine", warmCos, []int{0, 1, 5, 9, 10, 60, 110, 500},
			[]float64{0, 1e-4, 5e-4, 9e-4, 1e-3, 1e-5 + (1e-3-1e-5)*0.5, 1e-5, 1e-5}},
		{"three pieces, each from its own start", three, []int{0, 4, 5, 7, 8, 9, 10}, []float64{1, 1, 2, 2, 4, 2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, st := range c.steps {
				if got := c.s(st); math.Abs(got-c.want[i]) > 1e-12*(1+math.Abs(c.want[i])) {
					t.Fatalf("step %d: %.15g, want %.15g", st, got, c.want[i])
				}
			}
		})
	}
}

func TestScheduleDrivesUpdates(t *testing.T) {
	// SGD's step i uses schedule(i), counting from 0; LearningRate reports the next one.
	sched := optim.LinearSchedule(0.1, 0.4, 3)
	m, opt := newScalar(0), optim.NewSGD(sched, 0, 0, 0, false)
	want := 0.0
	for i := 0; i < 5; i++ {
		if got := opt.LearningRate(); math.Abs(got-sched(i)) > 1e-12 {
			t.Fatalf("LearningRate before update %d = %v, want %v", i, got, sched(i))
		}
		opt.Update(m, gradTree(1))
		mx.Eval(nn.Parameters(m), opt.State())
		want -= sched(i)
		if got := m.value(); math.Abs(got-want) > 1e-6 {
			t.Fatalf("after update %d: w = %v, want %v", i, got, want)
		}
		if got := opt.State()["learning_rate"].(*mx.Array).Item(); math.Abs(got-sched(i)) > 1e-7 {
			t.Fatalf(`State()["learning_rate"] after update %d = %v, want %v`, i, got, sched(i))
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	mk := func() map[string]any {
		return map[string]any{
			"a": mx.FromSlice([]float32{3, 4}),
			"b": map[string]any{"c": mx.FromSlice([]float32{0, 12}, 1, 2)},
			"l": []any{mx.FromSlice([]float32{0}).AsType(mx.Bfloat16)},
		}
	}
	const norm = 13.0 // sqrt(9 + 16 + 144)
	cases := []struct {
		name    string
		maxNorm float64
		scale   float64
	}{
		{"clipped to max", 1, 1 / (norm + 1e-6)},
		{"clipped to 6.5", 6.5, 6.5 / (norm + 1e-6)},
		{"small gradients unchanged", 100, 1},
		{"exactly at the norm is (almost) unchanged", norm, norm / (norm + 1e-6)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := mk()
			clipped, n := optim.ClipGradNorm(g, c.maxNorm)
			if got := n.Item(); math.Abs(got-norm) > 1e-5 {
				t.Fatalf("returned norm %v, want the pre-clip %v", got, norm)
			}
			orig, out := tree.FlattenMap(g), tree.FlattenMap(clipped)
			if !reflect.DeepEqual(keys(clipped), keys(g)) {
				t.Fatalf("clipped tree keys %v, want %v", keys(clipped), keys(g))
			}
			sq := 0.0
			for k, a := range out {
				o := orig[k]
				if a.Dtype() != o.Dtype() || !reflect.DeepEqual(a.Shape(), o.Shape()) {
					t.Fatalf("%s: %v%v, want %v%v", k, a.Dtype(), a.Shape(), o.Dtype(), o.Shape())
				}
				ov, av := o.Float32s(), a.Float32s()
				for i := range ov {
					want := float64(ov[i]) * c.scale
					if c.scale == 1 && av[i] != ov[i] {
						t.Fatalf("%s[%d] = %v, want unchanged %v", k, i, av[i], ov[i])
					}
					if math.Abs(float64(av[i])-want) > 1e-6*(1+math.Abs(want)) {
						t.Fatalf("%s[%d] = %v, want %v", k, i, av[i], want)
					}
					sq += float64(av[i]) * float64(av[i])
				}
			}
			if got := math.Sqrt(sq); got > c.maxNorm*(1+1e-6) {
				t.Fatalf("clipped norm %v exceeds max %v", got, c.maxNorm)
			}
		})
	}
	t.Run("empty tree", func(t *testing.T) {
		out, n := optim.ClipGradNorm(map[string]any{}, 1)
		if len(out) != 0 || n.Item() != 0 {
			t.Fatalf("got %v, norm %v", out, n.Item())
		}
	})
}
