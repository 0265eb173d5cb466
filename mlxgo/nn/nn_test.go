package nn_test

import (
	"bytes"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// block is a nested child module.
type block struct {
	nn.Base
	Proj *nn.Linear  `mx:"proj"`
	Norm *nn.RMSNorm `mx:"norm"`
}

func (b *block) Forward(x *mx.Array) *mx.Array { return b.Norm.Forward(b.Proj.Forward(x)) }

// toy exercises every kind of field the reflection walks: a nested child, a slice of
// modules, an interface holding a module, a parameter named by snake_case, a skipped
// `mx:"-"` array, a parameter-free child and an unexported field.
type toy struct {
	nn.Base
	Embed   *nn.Embedding `mx:"embed"`
	Blocks  []*block      `mx:"blocks"`
	Head    nn.Layer      `mx:"head"`
	OutGain *mx.Array     // no tag: key "out_gain"
	Cache   *mx.Array     `mx:"-"`
	Drop    *nn.Dropout   `mx:"drop"`
	Dims    int           `mx:"-"`
	scratch *mx.Array
}

// seq fills an array with distinct deterministic values so that tests can compare them.
func seq(start float32, shape ...int) *mx.Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = start + float32(i)*0.125
	}
	return mx.FromSlice(v, shape...)
}

func newToy() *toy {
	return &toy{
		Embed: &nn.Embedding{Weight: seq(0, 5, 3)},
		Blocks: []*block{
			{Proj: &nn.Linear{Weight: seq(1, 3, 3), Bias: seq(2, 3)}, Norm: &nn.RMSNorm{Weight: seq(3, 3), Eps: 1e-5}},
			{Proj: &nn.Linear{Weight: seq(4, 3, 3), Bias: seq(5, 3)}, Norm: &nn.RMSNorm{Weight: seq(6, 3), Eps: 1e-5}},
		},
		Head:    &nn.Linear{Weight: seq(7, 5, 3)}, // no bias
		OutGain: seq(8, 5),
		Cache:   seq(9, 100),
		Drop:    &nn.Dropout{P: 0.5},
		Dims:    3,
		scratch: seq(10, 7),
	}
}

// allKeys are the flattened parameter keys of newToy, sorted.
var allKeys = []string{
	"blocks.0.norm.weight", "blocks.0.proj.bias", "blocks.0.proj.weight",
	"blocks.1.norm.weight", "blocks.1.proj.bias", "blocks.1.proj.weight",
	"embed.weight", "head.weight", "out_gain",
}

func keysOf(t any) []string {
	var ks []string
	for _, p := range tree.Flatten(t) {
		ks = append(ks, p.Key)
	}
	sort.Strings(ks)
	return ks
}

func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: keys\n got %v\nwant %v", what, got, want)
	}
}

func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %g)", what, i, got[i], want[i], d)
		}
	}
}

func TestParametersStructure(t *testing.T) {
	m := newToy()
	p := nn.Parameters(m)
	sameKeys(t, "Parameters", keysOf(p), allKeys)

	// The top level holds exactly the tagged/snake-cased fields; "-", unexported and
	// non-array fields are absent; the parameter-free Dropout child is an empty map.
	var top []string
	for k := range p {
		top = append(top, k)
	}
	sort.Strings(top)
	if want := []string{"blocks", "drop", "embed", "head", "out_gain"}; !reflect.DeepEqual(top, want) {
		t.Fatalf("top-level keys %v, want %v", top, want)
	}
	if d, ok := p["drop"].(map[string]any); !ok || len(d) != 0 {
		t.Fatalf(`p["drop"] = %#v, want an empty map`, p["drop"])
	}
	list, ok := p["blocks"].([]any)
	if !ok || len(list) != 2 {
		t.Fatalf(`p["blocks"] = %T (len %d), want a []any of 2`, p["blocks"], len(list))
	}
	b1, ok := list[1].(map[string]any)
	if !ok {
		t.Fatalf("blocks[1] is %T, want map[string]any", list[1])
	}
	if got := b1["proj"].(map[string]any)["weight"]; got != m.Blocks[1].Proj.Weight {
		t.Fatal("blocks.1.proj.weight is not the module's own array (identity lost)")
	}
	head := p["head"].(map[string]any)
	if _, has := head["bias"]; has {
		t.Fatal("a nil Bias must not appear in Parameters")
	}
	if head["weight"] != m.Head.(*nn.Linear).Weight {
		t.Fatal("the interface field's parameter is not the module's array")
	}
	if p["out_gain"] != m.OutGain {
		t.Fatal("out_gain is not the module's array")
	}

	// Module walks.
	var names []string
	for _, nm := range nn.NamedModules(m) {
		names = append(names, nm.Name)
	}
	wantNames := []string{"", "embed", "blocks.0", "blocks.0.proj", "blocks.0.norm", "blocks.1", "blocks.1.proj", "blocks.1.norm", "head", "drop"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("NamedModules %v, want %v (parents before children, field order)", names, wantNames)
	}
	var leaves []string
	for _, nm := range nn.LeafModules(m) {
		leaves = append(leaves, nm.Name)
	}
	wantLeaves := []string{"embed", "blocks.0.proj", "blocks.0.norm", "blocks.1.proj", "blocks.1.norm", "head", "drop"}
	if !reflect.DeepEqual(leaves, wantLeaves) {
		t.Fatalf("LeafModules %v, want %v", leaves, wantLeaves)
	}
	ch := nn.Children(m)
	var chk []string
	for k := range ch {
		chk = append(chk, k)
	}
	sort.Strings(chk)
	if want := []string{"blocks.0", "blocks.1", "drop", "embed", "head"}; !reflect.DeepEqual(chk, want) {
		t.Fatalf("Children keys %v, want %v", chk, want)
	}
	if ch["blocks.1"] != any(m.Blocks[1]) {
		t.Fatal(`Children["blocks.1"] is not the module itself`)
	}

	if got, want := nn.CountParams(p), 5*3+2*(9+3+3)+5*3+5; got != want {
		t.Fatalf("CountParams = %d, want %d", got, want)
	}
}

func TestNotAModulePanics(t *testing.T) {
	type plain struct{ W *mx.Array }
	for _, v := range []any{plain{}, &plain{}, 3, (*toy)(nil)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("Parameters(%T) did not panic", v)
				}
			}()
			nn.Parameters(v)
		}()
	}
}

func TestFreezeUnfreeze(t *testing.T) {
	type op struct {
		freeze           bool
		recurse, strict  bool
		keys             []string
		wantErrSubstring string
	}
	cases := []struct {
		name      string
		target    func(m *toy) any // module the ops act on (default: root)
		ops       []op
		trainable []string
	}{
		{"nothing frozen", nil, nil, allKeys},
		{"freeze all", nil, []op{{freeze: true, recurse: true}}, nil},
		{"freeze all, not recursive: only root's own", nil, []op{{freeze: true}},
			without(allKeys, "out_gain")},
		{"freeze by local name everywhere", nil, []op{{freeze: true, recurse: true, strict: true, keys: []string{"weight"}}},
			[]string{"blocks.0.proj.bias", "blocks.1.proj.bias", "out_gain"}},
		{"freeze by dotted paths", nil, []op{{freeze: true, recurse: true, strict: true, keys: []string{"blocks.1.proj.weight", "embed.weight"}}},
			without(allKeys, "blocks.1.proj.weight", "embed.weight")},
		{"freeze all then unfreeze one", nil, []op{{freeze: true, recurse: true}, {recurse: true, strict: true, keys: []string{"blocks.1.norm.weight"}}},
			[]string{"blocks.1.norm.weight"}},
		{"freeze all then unfreeze all", nil, []op{{freeze: true, recurse: true}, {recurse: true}}, allKeys},
		{"freeze one child", func(m *toy) any { return m.Blocks[0] }, []op{{freeze: true, recurse: true}},
			without(allKeys, "blocks.0.norm.weight", "blocks.0.proj.bias", "blocks.0.proj.weight")},
		{"paths are relative to the target", func(m *toy) any { return m.Blocks[1] }, []op{{freeze: true, recurse: true, strict: true, keys: []string{"proj.bias"}}},
			without(allKeys, "blocks.1.proj.bias")},
		{"strict unknown key", nil, []op{{freeze: true, recurse: true, strict: true, keys: []string{"blocks.0.proj.weight", "no_such_param"}, wantErrSubstring: `"no_such_param"`}},
			without(allKeys, "blocks.0.proj.weight")},
		{"strict: dotted key not reachable without recurse", nil, []op{{freeze: true, strict: true, keys: []string{"embed.weight"}, wantErrSubstring: `"embed.weight"`}},
			allKeys},
		{"non-strict unknown key is ignored", nil, []op{{freeze: true, recurse: true, keys: []string{"no_such_param"}}}, allKeys},
		{"strict unfreeze unknown key", nil, []op{{recurse: true, strict: true, keys: []string{"bogus"}, wantErrSubstring: `"bogus"`}}, allKeys},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newToy()
			var target any = m
			if c.target != nil {
				target = c.target(m)
			}
			for _, o := range c.ops {
				var err error
				if o.freeze {
					err = nn.Freeze(target, o.recurse, o.strict, o.keys...)
				} else {
					err = nn.Unfreeze(target, o.recurse, o.strict, o.keys...)
				}
				if o.wantErrSubstring == "" && err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if o.wantErrSubstring != "" && (err == nil || !strings.Contains(err.Error(), o.wantErrSubstring)) {
					t.Fatalf("error %v, want one containing %s", err, o.wantErrSubstring)
				}
			}
			tp := nn.TrainableParameters(m)
			sameKeys(t, "TrainableParameters", keysOf(tp), c.trainable)
			// Freezing never hides parameters from Parameters.
			sameKeys(t, "Parameters", keysOf(nn.Parameters(m)), allKeys)
			// The trainable tree keeps the module structure even where all is frozen.
			if _, ok := tp["blocks"].([]any); !ok {
				t.Fatalf(`TrainableParameters["blocks"] is %T, want []any`, tp["blocks"])
			}
		})
	}
}

func without(keys []string, drop ...string) []string {
	var out []string
	for _, k := range keys {
		keep := true
		for _, d := range drop {
			keep = keep && k != d
		}
		if keep {
			out = append(out, k)
		}
	}
	return out
}

func TestUpdate(t *testing.T) {
	w := func() *mx.Array { return mx.Zeros([]int{3, 3}, mx.Float32) }
	cases := []struct {
		name    string
		tree    func() map[string]any
		changed []string // keys whose array must be replaced
		wantErr string   // substring
	}{
		{"top-level array", func() map[string]any { return map[string]any{"out_gain": mx.Zeros([]int{5}, mx.Float32)} }, []string{"out_gain"}, ""},
		{"nested through interface", func() map[string]any {
			return map[string]any{"head": map[string]any{"weight": mx.Zeros([]int{5, 3}, mx.Float32)}}
		}, []string{"head.weight"}, ""},
		{"full list", func() map[string]any {
			return map[string]any{"blocks": []any{
				map[string]any{"proj": map[string]any{"weight": w()}},
				map[string]any{"norm": map[string]any{"weight": mx.Zeros([]int{3}, mx.Float32)}},
			}}
		}, []string{"blocks.0.proj.weight", "blocks.1.norm.weight"}, ""},
		{"partial list with nil and empty entries", func() map[string]any {
			return map[string]any{"blocks": []any{nil, map[string]any{"proj": map[string]any{"bias": mx.Zeros([]int{3}, mx.Float32)}}}}
		}, []string{"blocks.1.proj.bias"}, ""},
		{"short list", func() map[string]any {
			return map[string]any{"blocks": []any{map[string]any{"proj": map[string]any{"bias": mx.Zeros([]int{3}, mx.Float32)}}}}
		}, []string{"blocks.0.proj.bias"}, ""},
		{"partial list as a map with integer keys", func() map[string]any {
			return map[string]any{"blocks": map[string]any{"1": map[string]any{"proj": map[string]any{"weight": w()}}}}
		}, []string{"blocks.1.proj.weight"}, ""},
		{"empty tree", func() map[string]any { return map[string]any{} }, nil, ""},
		{"unknown top-level key", func() map[string]any { return map[string]any{"nope": w()} }, nil, `"nope"`},
		{"unknown nested key", func() map[string]any {
			return map[string]any{"blocks": map[string]any{"1": map[string]any{"proj": map[string]any{"wieght": w()}}}}
		}, nil, `"blocks.1.proj.wieght"`},
		{"list index out of range (map form)", func() map[string]any {
			return map[string]any{"blocks": map[string]any{"2": map[string]any{}}}
		}, nil, `"2"`},
		{"non-integer list key", func() map[string]any {
			return map[string]any{"blocks": map[string]any{"x": map[string]any{}}}
		}, nil, `"x"`},
		{"list too long", func() map[string]any {
			return map[string]any{"blocks": []any{nil, nil, map[string]any{}}}
		}, nil, "blocks has 3 entries"},
		{"array where a module is", func() map[string]any { return map[string]any{"embed": w()} }, nil, "embed must be a map"},
		{"map where an array is", func() map[string]any { return map[string]any{"out_gain": map[string]any{}} }, nil, "out_gain must be an array"},
		{"skipped field is not settable", func() map[string]any { return map[string]any{"cache": w()} }, nil, `"cache"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newToy()
			before := tree.FlattenMap(nn.Parameters(m))
			err := nn.Update(m, c.tree())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after := tree.FlattenMap(nn.Parameters(m))
			sameKeys(t, "after Update", keysOf(nn.Parameters(m)), allKeys)
			changed := map[string]bool{}
			for _, k := range c.changed {
				changed[k] = true
			}
			for k, a := range after {
				if changed[k] {
					if a == before[k] {
						t.Errorf("%s was not replaced", k)
					}
					if got := a.Float32s(); got[0] != 0 {
						t.Errorf("%s = %v, want the zeros given", k, got)
					}
				} else if a != before[k] {
					t.Errorf("%s was replaced but not in the update", k)
				}
			}
		})
	}
}

// halfLayer is a Layer of another type, to replace an interface field with.
type halfLayer struct {
	nn.Base
	Gain *mx.Array `mx:"gain"`
}

func (h *halfLayer) Forward(x *mx.Array) *mx.Array { return mx.Multiply(x, h.Gain) }

func TestUpdateModules(t *testing.T) {
	cases := []struct {
		name    string
		replace func() map[string]any
		check   func(t *testing.T, m *toy)
		wantErr string
	}{
		{"nested module through a list index", func() map[string]any {
			return map[string]any{"blocks.1.proj": &nn.Linear{Weight: mx.Ones([]int{3, 3}, mx.Float32)}}
		}, func(t *testing.T, m *toy) {
			if m.Blocks[1].Proj.Bias != nil || m.Blocks[1].Proj.Weight.Float32s()[0] != 1 {
				t.Fatal("blocks.1.proj was not replaced")
			}
			if m.Blocks[0].Proj.Bias == nil {
				t.Fatal("blocks.0.proj changed")
			}
			want := without(allKeys, "blocks.1.proj.bias")
			sameKeys(t, "Parameters", keysOf(nn.Parameters(m)), want)
		}, ""},
		{"whole list entry", func() map[string]any {
			return map[string]any{"blocks.0": &block{Proj: &nn.Linear{Weight: mx.Ones([]int{3, 3}, mx.Float32)}, Norm: nn.NewRMSNorm(3, 1e-5)}}
		}, func(t *testing.T, m *toy) {
			sameKeys(t, "Parameters", keysOf(nn.Parameters(m)), without(allKeys, "blocks.0.proj.bias"))
		}, ""},
		{"interface field takes another Layer type", func() map[string]any {
			return map[string]any{"head": &halfLayer{Gain: mx.Ones([]int{3}, mx.Float32)}}
		}, func(t *testing.T, m *toy) {
			if _, ok := m.Head.(*halfLayer); !ok {
				t.Fatalf("head is %T", m.Head)
			}
			want := append(without(allKeys, "head.weight"), "head.gain")
			sort.Strings(want)
			sameKeys(t, "Parameters", keysOf(nn.Parameters(m)), want)
		}, ""},
		{"type that does not fit", func() map[string]any {
			return map[string]any{"blocks.1.proj": nn.NewRMSNorm(3, 1e-5)}
		}, nil, "does not fit"},
		{"non-Layer into the interface field", func() map[string]any {
			return map[string]any{"head": &nn.RoPE{Dims: 4}} // a module without Forward
		}, nil, "does not fit"},
		{"list index out of range", func() map[string]any {
			return map[string]any{"blocks.5.proj": nn.NewLinear(3, 3, true)}
		}, nil, `bad list index "5"`},
		{"unknown field", func() map[string]any {
			return map[string]any{"blocks.0.mlp": nn.NewLinear(3, 3, true)}
		}, nil, `no field "mlp"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newToy()
			err := nn.UpdateModules(m, c.replace())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, m)
		})
	}
}

func fullWeights(m any, fill float64) map[string]*mx.Array {
	out := map[string]*mx.Array{}
	for k, a := range tree.FlattenMap(nn.Parameters(m)) {
		out[k] = mx.Full(a.Shape(), fill, a.Dtype())
	}
	return out
}

func TestLoadWeights(t *testing.T) {
	t.Run("strict reports everything at once", func(t *testing.T) {
		m := newToy()
		w := fullWeights(m, 1)
		delete(w, "blocks.1.norm.weight")
		delete(w, "out_gain")
		w["blocks.7.proj.weight"] = mx.Zeros([]int{3, 3}, mx.Float32)
		w["extra"] = mx.Zeros([]int{1}, mx.Float32)
		w["embed.weight"] = mx.Zeros([]int{4, 3}, mx.Float32)
		before := tree.FlattenMap(nn.Parameters(m))
		err := nn.LoadWeights(m, w, true)
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range []string{"missing: blocks.1.norm.weight, out_gain", "unexpected: blocks.7.proj.weight, extra", "embed.weight: expected shape [5 3], found [4 3]"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %q", err, s)
			}
		}
		for k, a := range tree.FlattenMap(nn.Parameters(m)) {
			if a != before[k] {
				t.Errorf("%s changed although loading failed", k)
			}
		}
	})
	t.Run("non-strict wrong shape still fails", func(t *testing.T) {
		m := newToy()
		err := nn.LoadWeights(m, map[string]*mx.Array{"head.weight": mx.Zeros([]int{3, 5}, mx.Float32)}, false)
		if err == nil || !strings.Contains(err.Error(), "head.weight") {
			t.Fatalf("error %v, want one naming head.weight", err)
		}
	})
	t.Run("strict complete load", func(t *testing.T) {
		m := newToy()
		if err := nn.LoadWeights(m, fullWeights(m, 2), true); err != nil {
			t.Fatal(err)
		}
		for k, a := range tree.FlattenMap(nn.Parameters(m)) {
			for i, v := range a.Float32s() {
				if v != 2 {
					t.Fatalf("%s[%d] = %v, want 2", k, i, v)
				}
			}
		}
	})
	t.Run("non-strict partial load", func(t *testing.T) {
		for _, keys := range [][]string{
			{"blocks.1.proj.weight"}, // a list level with only index 1: arrives as a map
			{"blocks.0.norm.weight", "head.weight"},
			{"out_gain", "blocks.0.proj.bias", "blocks.1.proj.bias"},
		} {
			m := newToy()
			before := tree.FlattenMap(nn.Parameters(m))
			w := map[string]*mx.Array{"not_a_param": mx.Zeros([]int{2}, mx.Float32)}
			for _, k := range keys {
				w[k] = mx.Full(before[k].Shape(), -1, mx.Float32)
			}
			if err := nn.LoadWeights(m, w, false); err != nil {
				t.Fatalf("%v: %v", keys, err)
			}
			for k, a := range tree.FlattenMap(nn.Parameters(m)) {
				if w[k] != nil {
					if a != w[k] {
						t.Errorf("%v: %s not loaded", keys, k)
					}
				} else if a != before[k] {
					t.Errorf("%v: %s changed but was not given", keys, k)
				}
			}
		}
	})
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src := newToy()
	// Mixed dtypes must survive too.
	src.OutGain = mx.FromSlice([]float32{1.5, -2.25, 3e-3, 65504, -0.1}).AsType(mx.Bfloat16)
	src.Blocks[1].Norm.Weight = mx.FromSlice([]float32{0.1, 0.2, 0.3}).AsType(mx.Float16)
	path := filepath.Join(t.TempDir(), "sub", "w.safetensors")
	if err := nn.SaveWeights(src, path); err != nil {
		t.Fatal(err)
	}
	w, meta, err := mx.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "mlx" {
		t.Errorf("metadata %v, want format=mlx", meta)
	}
	dst := newToy()
	dst.OutGain = mx.Zeros([]int{5}, mx.Bfloat16)
	if err := nn.LoadWeights(dst, w, true); err != nil {
		t.Fatal(err)
	}
	sp, dp := tree.FlattenMap(nn.Parameters(src)), tree.FlattenMap(nn.Parameters(dst))
	sameKeys(t, "loaded", keysOf(dp), allKeys)
	for k, a := range sp {
		b := dp[k]
		if a.Dtype() != b.Dtype() || !reflect.DeepEqual(a.Shape(), b.Shape()) {
			t.Fatalf("%s: %v%v after round trip, want %v%v", k, b.Dtype(), b.Shape(), a.Dtype(), a.Shape())
		}
		mx.Eval(a, b)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%s differs after round trip", k)
		}
	}
}

func TestDropout(t *testing.T) {
	mx.Seed(7)
	const n = 20000
	x := mx.Ones([]int{n}, mx.Float32)
	for _, p := range []float64{0.1, 0.25, 0.5} {
		d := &nn.Dropout{P: p}
		m := &toy{Drop: d, Embed: nn.NewEmbedding(2, 2)}
		nn.SetTraining(m, false)
		if d.Training() {
			t.Fatal("SetTraining(false) did not reach the child")
		}
		if y := d.Forward(x); y != x {
			t.Fatalf("p=%v eval mode: Forward is not the identity", p)
		}
		nn.SetTraining(m, true)
		if !d.Training() {
			t.Fatal("SetTraining(true) did not reach the child")
		}
		y := d.Forward(x).Float32s()
		zeros := 0
		scale := float32(1 / (1 - p))
		for i, v := range y {
			switch v {
			case 0:
				zeros++
			case scale:
			default:
				t.Fatalf("p=%v: y[%d] = %v, want 0 or %v", p, i, v, scale)
			}
		}
		frac := float64(zeros) / n
		sd := math.Sqrt(p * (1 - p) / n)
		if math.Abs(frac-p) > 5*sd {
			t.Fatalf("p=%v: zero fraction %.4f (more than 5σ=%.4f away)", p, frac, 5*sd)
		}
	}
	if y := (&nn.Dropout{P: 0}).Forward(x); y != x {
		t.Fatal("p=0 must be the identity in training mode")
	}
}

func TestLayerForward(t *testing.T) {
	xv := []float64{1, -2, 0.5, 3, 0.25, -1}
	x := mx.FromSlice([]float32{1, -2, 0.5, 3, 0.25, -1}, 2, 3)
	wv := []float64{0.5, -1, 2, 1.5, 0, -0.25}
	w := mx.FromSlice([]float32{0.5, -1, 2, 1.5, 0, -0.25}, 2, 3)
	bv := []float64{0.1, -0.2}
	linRef := func(bias bool) []float64 {
		var out []float64
		for r := 0; r < 2; r++ {
			for o := 0; o < 2; o++ {
				s := 0.0
				for i := 0; i < 3; i++ {
					s += xv[r*3+i] * wv[o*3+i]
				}
				if bias {
					s += bv[o]
				}
				out = append(out, s)
			}
		}
		return out
	}
	gamma := []float64{1, 0.5, 2}
	beta := []float64{0, 1, -1}
	norm := func(rms bool, affine bool, eps float64) []float64 {
		var out []float64
		for r := 0; r < 2; r++ {
			row := xv[r*3 : r*3+3]
			mean, sq := 0.0, 0.0
			for _, v := range row {
				mean += v / 3
				sq += v * v / 3
			}
			for i, v := range row {
				var y float64
				if rms {
					y = v / math.Sqrt(sq+eps) * gamma[i]
				} else {
					vr := sq - mean*mean
					y = (v - mean) / math.Sqrt(vr+eps)
					if affine {
						y = y*gamma[i] + beta[i]
					}
				}
				out = append(out, y)
			}
		}
		return out
	}
	g32 := mx.FromSlice([]float32{1, 0.5, 2})
	b32 := mx.FromSlice([]float32{0, 1, -1})
	emb := mx.FromSlice([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8}, 3, 3)
	cases := []struct {
		name  string
		got   func() *mx.Array
		shape []int
		want  []float64
	}{
		{"linear with bias", func() *mx.Array {
			return (&nn.Linear{Weight: w, Bias: mx.FromSlice([]float32{0.1, -0.2})}).Forward(x)
		}, []int{2, 2}, linRef(true)},
		{"linear without bias", func() *mx.Array { return (&nn.Linear{Weight: w}).Forward(x) }, []int{2, 2}, linRef(false)},
		{"embedding lookup", func() *mx.Array {
			return (&nn.Embedding{Weight: emb}).Forward(mx.FromSlice([]int32{2, 0, 2, 1}, 2, 2))
		}, []int{2, 2, 3}, []float64{6, 7, 8, 0, 1, 2, 6, 7, 8, 3, 4, 5}},
		{"embedding as linear (tied head)", func() *mx.Array {
			return (&nn.Embedding{Weight: emb}).AsLinear(mx.FromSlice([]float32{1, 0, -1}, 1, 3))
		}, []int{1, 3}, []float64{-2, -2, -2}},
		{"rmsnorm", func() *mx.Array { return (&nn.RMSNorm{Weight: g32, Eps: 1e-5}).Forward(x) }, []int{2, 3}, norm(true, true, 1e-5)},
		{"layernorm affine", func() *mx.Array {
			return (&nn.LayerNorm{Weight: g32, Bias: b32, Eps: 1e-5}).Forward(x)
		}, []int{2, 3}, norm(false, true, 1e-5)},
		{"layernorm plain", func() *mx.Array { return nn.NewLayerNorm(3, 1e-3, false).Forward(x) }, []int{2, 3}, norm(false, false, 1e-3)},
		{"new layernorm affine is identity-affine", func() *mx.Array { return nn.NewLayerNorm(3, 1e-5, true).Forward(x) }, []int{2, 3}, norm(false, false, 1e-5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := c.got()
			if !reflect.DeepEqual(y.Shape(), c.shape) {
				t.Fatalf("shape %v, want %v", y.Shape(), c.shape)
			}
			near(t, c.name, y.Float32s(), c.want, 1e-5)
		})
	}
	l := nn.NewLinear(7, 4, true)
	if in, out := l.Dims(); in != 7 || out != 4 || !reflect.DeepEqual(l.Bias.Shape(), []int{4}) {
		t.Fatalf("NewLinear(7,4) dims %d,%d bias %v", in, out, l.Bias.Shape())
	}
	bound := 1 / math.Sqrt(7)
	for _, v := range l.Weight.Float32s() {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("NewLinear weight %v outside ±1/sqrt(in)", v)
		}
	}
	if nn.NewLinear(7, 4, false).Bias != nil {
		t.Fatal("NewLinear without bias has a bias")
	}
}

func TestLosses(t *testing.T) {
	// logits (2, 3, 4), targets (2, 3), mask (2, 3)
	lv := []float64{
		0.1, 2, -1, 0.5, 3, 0, 0, -2, -0.5, 0.25, 1.75, 1,
		5, -5, 0, 1, 0, 0, 0, 0, -3, 2, 2.5, -1,
	}
	l32 := make([]float32, len(lv))
	for i, v := range lv {
		l32[i] = float32(v)
	}
	tv := []int32{1, 0, 3, 2, 1, 2}
	mv := []float32{1, 1, 0, 1, 0, 1}
	ref := make([]float64, 6)
	for p := 0; p < 6; p++ {
		row := lv[p*4 : p*4+4]
		mxv := math.Inf(-1)
		for _, v := range row {
			mxv = math.Max(mxv, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - mxv)
		}
		ref[p] = mxv + math.Log(s) - row[tv[p]]
	}
	masked := make([]float64, 6)
	sum, msum, kept := 0.0, 0.0, 0.0
	for p := range ref {
		masked[p] = ref[p] * float64(mv[p])
		sum += ref[p]
		msum += masked[p]
		kept += float64(mv[p])
	}
	logits := mx.FromSlice(l32, 2, 3, 4)
	targets := mx.FromSlice(tv, 2, 3)
	mask := mx.FromSlice(mv, 2, 3)
	boolMask := mx.FromSlice([]int32{1, 1, 0, 1, 0, 1}, 2, 3).AsType(mx.Bool)

	pv := []float32{1, 2, 3, -1}
	qv := []float32{0.5, 2, 5, 1}
	pred, target := mx.FromSlice(pv, 2, 2), mx.FromSlice(qv, 2, 2)
	sq := []float64{0.25, 0, 4, 4}

	cases := []struct {
		name  string
		got   *mx.Array
		shape []int
		want  []float64
	}{
		{"ce none", nn.CrossEntropy(logits, targets, nil, nn.ReduceNone), []int{2, 3}, ref},
		{"ce none masked", nn.CrossEntropy(logits, targets, mask, nn.ReduceNone), []int{2, 3}, masked},
		{"ce sum", nn.CrossEntropy(logits, targets, nil, nn.ReduceSum), []int{}, []float64{sum}},
		{"ce sum masked", nn.CrossEntropy(logits, targets, mask, nn.ReduceSum), []int{}, []float64{msum}},
		{"ce mean", nn.CrossEntropy(logits, targets, nil, nn.ReduceMean), []int{}, []float64{sum / 6}},
		{"ce mean masked (over kept positions)", nn.CrossEntropy(logits, targets, mask, nn.ReduceMean), []int{}, []float64{msum / kept}},
		{"ce mean bool mask", nn.CrossEntropy(logits, targets, boolMask, nn.ReduceMean), []int{}, []float64{msum / kept}},
		{"mse none", nn.MSE(pred, target, nn.ReduceNone), []int{2, 2}, sq},
		{"mse sum", nn.MSE(pred, target, nn.ReduceSum), []int{}, []float64{8.25}},
		{"mse mean", nn.MSE(pred, target, nn.ReduceMean), []int{}, []float64{8.25 / 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got.Shape(), c.shape) && !(len(c.shape) == 0 && len(c.got.Shape()) == 0) {
				t.Fatalf("shape %v, want %v", c.got.Shape(), c.shape)
			}
			near(t, c.name, c.got.Float32s(), c.want, 2e-6)
		})
	}
}

func toyLoss(m *toy, ids *mx.Array) *mx.Array {
	h := m.Embed.Forward(ids)
	for _, b := range m.Blocks {
		h = b.Forward(h)
	}
	out := mx.Multiply(m.Head.Forward(h), m.OutGain)
	return mx.Mean(mx.Square(out), nil, false)
}

func TestValueAndGrad(t *testing.T) {
	ids := mx.FromSlice([]int32{0, 3, 4, 1}, 2, 2)
	cases := []struct {
		name   string
		freeze func(m *toy) error
		frozen []string
	}{
		{"all trainable", func(*toy) error { return nil }, nil},
		{"frozen child", func(m *toy) error { return nn.Freeze(m.Blocks[0], true, false) }, []string{"blocks.0.norm.weight", "blocks.0.proj.bias", "blocks.0.proj.weight"}},
		{"frozen leaves", func(m *toy) error {
			return nn.Freeze(m, true, true, "embed.weight", "out_gain", "head.weight")
		}, []string{"embed.weight", "head.weight", "out_gain"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newToy()
			// Smaller values keep the loss well scaled.
			if err := nn.Update(m, tree.Map(nn.Parameters(m), func(a *mx.Array) *mx.Array { return mx.Multiply(a, 0.1) }).(map[string]any)); err != nil {
				t.Fatal(err)
			}
			mx.Eval(nn.Parameters(m))
			if err := c.freeze(m); err != nil {
				t.Fatal(err)
			}
			before := tree.FlattenMap(nn.Parameters(m))
			vg := nn.ValueAndGrad(m, toyLoss)
			loss, grads := vg(m, ids)
			mx.Eval(loss, grads)
			want := without(allKeys, c.frozen...)
			sameKeys(t, "gradient keys", keysOf(grads), want)
			sameKeys(t, "TrainableParameters keys", keysOf(nn.TrainableParameters(m)), want)
			if l := loss.Item(); math.Abs(l-toyLoss(m, ids).Item()) > 1e-6*math.Abs(l) {
				t.Fatalf("loss %v differs from a plain forward", l)
			}
			gf := tree.FlattenMap(grads)
			for k, g := range gf {
				p := before[k]
				if !reflect.DeepEqual(g.Shape(), p.Shape()) || g.Dtype() != p.Dtype() {
					t.Fatalf("grad %s is %v%v, param %v%v", k, g.Dtype(), g.Shape(), p.Dtype(), p.Shape())
				}
				nz := false
				for _, v := range g.Float32s() {
					if math.IsNaN(float64(v)) {
						t.Fatalf("grad %s has NaN", k)
					}
					nz = nz || v != 0
				}
				// Every parameter influences the loss, so every gradient is non-zero.
				if !nz {
					t.Fatalf("grad %s is all zeros", k)
				}
			}
			for k, a := range tree.FlattenMap(nn.Parameters(m)) {
				if a != before[k] {
					t.Fatalf("ValueAndGrad replaced parameter %s", k)
				}
			}
			// Finite-difference check of one gradient entry that is trainable.
			k := "blocks.1.proj.bias"
			if g, ok := gf[k]; ok {
				b := m.Blocks[1].Proj.Bias
				vals := b.Float32s()
				const h = 1e-2
				plus, minus := append([]float32(nil), vals...), append([]float32(nil), vals...)
				plus[1] += h
				minus[1] -= h
				m.Blocks[1].Proj.Bias = mx.FromSlice(plus)
				lp := toyLoss(m, ids).Item()
				m.Blocks[1].Proj.Bias = mx.FromSlice(minus)
				lm := toyLoss(m, ids).Item()
				m.Blocks[1].Proj.Bias = b
				fd := (lp - lm) / (2 * h)
				if got := float64(g.Float32s()[1]); math.Abs(got-fd) > 1e-3+2e-2*math.Abs(fd) {
					t.Fatalf("d loss/d %s[1] = %v, finite difference %v", k, got, fd)
				}
			}
		})
	}
}
