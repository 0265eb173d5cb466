package mx

import (
	"reflect"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// backward returns d(sum of outs·cots)/d(wrt) as lazy arrays (nil where an entry of wrt
// does not influence the outputs). The wrt arrays are matched by identity and are
// treated as the graph's inputs: the walk does not go past them.
func backward(outs, cots, wrt []*Array) []*Array {
	target := make(map[*Array]bool, len(wrt))
	for _, w := range wrt {
		target[w] = true
	}
	// Post-order over nodes that depend on a target.
	dep := map[*Array]bool{}
	visited := map[*Array]bool{}
	var order []*Array
	type frame struct {
		a *Array
		i int
	}
	for _, o := range outs {
		if visited[o] {
			continue
		}
		visited[o] = true
		stack := []frame{{o, 0}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i == 0 {
				refuseInFlight("VJP", top.a)
			}
			if target[top.a] {
				dep[top.a] = true
				stack = stack[:len(stack)-1]
				continue
			}
			if top.i < len(top.a.inputs) {
				in := top.a.inputs[top.i]
				top.i++
				if !visited[in] {
					visited[in] = true
					stack = append(stack, frame{in, 0})
				}
				continue
			}
			for _, in := range top.a.inputs {
				if dep[in] {
					dep[top.a] = true
					break
				}
			}
			if dep[top.a] && !target[top.a] {
				order = append(order, top.a)
			}
			stack = stack[:len(stack)-1]
		}
	}
	grad := map[*Array]*Array{}
	accum := func(a, g *Array) {
		if g == nil {
			return
		}
		if !sameShape(g.shape, a.shape) {
			panicf("VJP", "internal: gradient of shape %v for an array of shape %v (op %s)", g.shape, a.shape, opName(a))
		}
		if g.dtype != a.dtype && a.dtype.IsFloat() {
			g = AsType(g, a.dtype)
		}
		if prev, ok := grad[a]; ok {
			grad[a] = Add(prev, g)
		} else {
			grad[a] = g
		}
	}
	for i, o := range outs {
		if dep[o] {
			c := cots[i]
			if c == nil {
				c = OnesLike(o)
			}
			accum(o, c)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		a := order[i]
		g, ok := grad[a]
		if !ok {
			continue
		}
		delete(grad, a)
		gs := a.prim.VJP(a.inputs, a, g)
		for j, in := range a.inputs {
			if j < len(gs) && dep[in] {
				accum(in, gs[j])
			}
		}
	}
	res := make([]*Array, len(wrt))
	for i, w := range wrt {
		res[i] = grad[w]
	}
	return res
}

func opName(a *Array) string {
	if a.prim == nil {
		return "leaf"
	}
	return a.prim.Op().Name()
}

// VJP evaluates f at primals lazily and returns its outputs and the vector-Jacobian
// products of the cotangents (one per output) with respect to each primal.
func VJP(f func(primals []*Array) []*Array, primals, cotangents []*Array) (outputs, vjps []*Array) {
	outs := f(primals)
	if len(cotangents) != len(outs) {
		panicf("VJP", "%d cotangents for %d outputs", len(cotangents), len(outs))
	}
	for i, c := range cotangents {
		if !sameShape(c.shape, outs[i].shape) {
			panicf("VJP", "cotangent %d has shape %v, output has shape %v", i, c.shape, outs[i].shape)
		}
	}
	g := backward(outs, cotangents, primals)
	for i := range g {
		if g[i] == nil {
			g[i] = ZerosLike(primals[i])
		}
	}
	return outs, g
}

// JVP evaluates f at primals and returns its outputs and the Jacobian-vector products
// with the tangents (one per primal). It differentiates the (linear) VJP once more.
func JVP(f func(primals []*Array) []*Array, primals, tangents []*Array) (outputs, jvps []*Array) {
	if len(tangents) != len(primals) {
		panicf("JVP", "%d tangents for %d primals", len(tangents), len(primals))
	}
	outs := f(primals)
	us := make([]*Array, len(outs))
	for i, o := range outs {
		us[i] = Zeros(o.shape, o.dtype)
	}
	lin := backward(outs, us, primals)
	var gs, ts []*Array
	for i, l := range lin {
		if l != nil {
			gs = append(gs, l)
			ts = append(ts, tangents[i])
		}
	}
	j := backward(gs, ts, us)
	for i := range j {
		if j[i] == nil {
			j[i] = ZerosLike(outs[i])
		}
	}
	return outs, j
}

// ValueAndGrad transforms f into a function that returns f's value and the gradient of
// its first output with respect to the arguments at argnums (default: argument 0).
//
// f may return an *Array (a scalar loss) or a []any / []*Array whose first element is
// the loss and whose other elements are auxiliary outputs that get no gradient. The
// arguments may be any pytrees of arrays; each gradient has the structure of its
// argument. With one argnum the gradient is returned as is, with several as []any.
func ValueAndGrad(f func(args ...any) any, argnums ...int) func(args ...any) (value any, grads any) {
	if len(argnums) == 0 {
		argnums = []int{0}
	}
	return func(args ...any) (any, any) {
		var wrt []*Array
		for _, n := range argnums {
			if n < 0 || n >= len(args) {
				panicf("ValueAndGrad", "argnum %d out of range for %d arguments", n, len(args))
			}
			wrt = append(wrt, collectArrays(args[n])...)
		}
		value := f(args...)
		loss := firstOutput(value)
		if loss.Size() != 1 {
			panicf("ValueAndGrad", "the function must return a scalar loss, got shape %v", loss.shape)
		}
		loss.keep = true
		g := backward([]*Array{loss}, []*Array{OnesLike(loss)}, wrt)
		byArr := map[*Array]*Array{}
		for i, w := range wrt {
			if g[i] == nil {
				g[i] = ZerosLike(w)
			}
			byArr[w] = g[i]
		}
		var out []any
		for _, n := range argnums {
			out = append(out, MapArrays(args[n], func(a *Array) *Array { return byArr[a] }))
		}
		if len(out) == 1 {
			return value, out[0]
		}
		return value, out
	}
}

func firstOutput(v any) *Array {
	switch x := v.(type) {
	case *Array:
		return x
	case []*Array:
		if len(x) > 0 {
			return x[0]
		}
	case []any:
		if len(x) > 0 {
			if a, ok := x[0].(*Array); ok {
				return a
			}
		}
	}
	panicf("ValueAndGrad", "the function must return an *Array or a slice whose first element is one, got %T", v)
	return nil
}

// Grad is ValueAndGrad without the value.
func Grad(f func(args ...any) any, argnums ...int) func(args ...any) any {
	vg := ValueAndGrad(f, argnums...)
	return func(args ...any) any { _, g := vg(args...); return g }
}

// ValueAndGradOf is the typed form of ValueAndGrad for a function of one pytree: the
// gradient comes back with the argument's own type.
func ValueAndGradOf[T any](f func(T) *Array) func(T) (*Array, T) {
	vg := ValueAndGrad(func(args ...any) any { return f(args[0].(T)) })
	return func(x T) (*Array, T) {
		v, g := vg(x)
		return v.(*Array), g.(T)
	}
}

// GradOf is the typed form of Grad for a function of one pytree.
func GradOf[T any](f func(T) *Array) func(T) T {
	vg := ValueAndGradOf(f)
	return func(x T) T { _, g := vg(x); return g }
}

// MapArrays returns a copy of the pytree v with every *Array leaf replaced by f(leaf).
// Maps, slices, arrays, pointers to structs and structs are rebuilt; other values are
// kept as they are. f sees the leaves in a stable order (map keys sorted).
func MapArrays(v any, f func(*Array) *Array) any {
	if v == nil {
		return nil
	}
	r := mapValue(reflect.ValueOf(v), f)
	return r.Interface()
}

func mapValue(v reflect.Value, f func(*Array) *Array) reflect.Value {
	if v.Type() == arrayType {
		if v.IsNil() {
			return v
		}
		return reflect.ValueOf(f(v.Interface().(*Array)))
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		inner := mapValue(v.Elem(), f)
		out := reflect.New(v.Type()).Elem()
		out.Set(inner)
		return out
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return v
		}
		out := reflect.New(v.Elem().Type())
		out.Elem().Set(mapValue(v.Elem(), f))
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(mapValue(v.Index(i), f))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(mapValue(v.Index(i), f))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		keys := v.MapKeys()
		sortValues(keys) // f is called in a stable order
		for _, k := range keys {
			out.SetMapIndex(k, mapValue(v.MapIndex(k), f))
		}
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				out.Field(i).Set(mapValue(v.Field(i), f))
			}
		}
		return out
	}
	return v
}

// --- Checkpoint ---

// checkpointPrim is f's output (input 0, computed by the forward graph f built) passed
// through as a view; inputs 1.. are f's inputs, from which the VJP recomputes f.
type checkpointPrim struct {
	f func([]*Array) *Array
}

func (checkpointPrim) Op() backend.Op { return backend.Checkpoint{} }

func (p checkpointPrim) VJP(in []*Array, _, g *Array) []*Array {
	// Recompute from inputs that depend on the cotangent, so the recomputation is
	// scheduled when the backward pass reaches this point, not earlier: only one
	// checkpointed segment's intermediates are alive at a time. The forward graph
	// (input 0) gets no gradient, so nothing of it is kept for the backward pass.
	args := in[1:]
	tied := make([]*Array, len(args))
	for i, x := range args {
		tied[i] = newArray(cloneInts(x.shape), x.dtype, dependsPrim{}, x, g)
	}
	inner := p.f(tied)
	return append([]*Array{nil}, backward([]*Array{inner}, []*Array{g}, tied)...)
}

// dependsPrim returns its first input unchanged; the other inputs only order the graph.
type dependsPrim struct{}

func (dependsPrim) Op() backend.Op { return backend.Depends{} }
func (dependsPrim) VJP(in []*Array, _, g *Array) []*Array {
	out := make([]*Array, len(in))
	out[0] = g
	return out
}

// Checkpoint returns f wrapped for gradient checkpointing: the forward pass keeps only
// f's output, and the backward pass recomputes f's intermediates from its inputs when the
// gradient reaches it. f must compute only from the inputs it is given: every array it
// reads that needs a gradient (parameters included) must be among them.
func Checkpoint(f func(inputs []*Array) *Array) func(inputs []*Array) *Array {
	return func(inputs []*Array) *Array {
		out := f(inputs)
		return newArray(cloneInts(out.shape), out.dtype, checkpointPrim{f}, append([]*Array{out}, inputs...)...)
	}
}
