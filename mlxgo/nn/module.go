// Package nn holds mlxgo's neural-network modules, layers and losses, mirroring mlx.nn.
//
// A module is a Go struct that embeds [Base]. Its exported fields of type *mx.Array are
// parameters; fields holding modules (directly, through an interface, or in slices and
// maps) are children. Keys come from the `mx:"name"` struct tag, or the field name in
// snake_case, so they match Hugging Face checkpoint names:
//
//	type Attention struct {
//		nn.Base
//		QProj nn.Layer `mx:"q_proj"`
//	}
//
// [Parameters], [TrainableParameters], [Freeze], [Unfreeze], [Update], [LoadWeights] and
// friends work on any such struct through reflection (computed once per type).
package nn

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Base carries the state every module shares: which parameters are frozen and whether
// the module is in training mode. Embed it in every module struct.
type Base struct {
	frozen map[string]bool
	eval   bool
}

func (b *Base) base() *Base { return b }

// Training reports whether the module is in training mode (the default).
func (b *Base) Training() bool { return !b.eval }

type holder interface{ base() *Base }

// Layer is a module with a forward pass from one array to one array.
type Layer interface {
	Forward(x *mx.Array) *mx.Array
}

// field describes one exported field of a module type.
type field struct {
	index int
	name  string
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name := sf.Tag.Get("mx")
		if name == "-" {
			continue
		}
		if name == "" {
			name = snake(sf.Name)
		}
		fs = append(fs, field{i, name})
	}
	fieldCache.Store(t, fs)
	return fs
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

var arrayType = reflect.TypeOf((*mx.Array)(nil))

// moduleValue returns the struct behind v if v holds a module (pointer to a struct that
// embeds Base).
func moduleValue(v reflect.Value) (reflect.Value, bool) {
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return v, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return v, false
	}
	if _, ok := v.Interface().(holder); !ok {
		return v, false
	}
	return v.Elem(), true
}

func mustModule(m any) reflect.Value {
	v, ok := moduleValue(reflect.ValueOf(m))
	if !ok {
		panic(fmt.Sprintf("nn: %T is not a module (a pointer to a struct embedding nn.Base)", m))
	}
	return v
}

func baseOf(v reflect.Value) *Base { return v.Addr().Interface().(holder).base() }

// params builds the parameter tree of module v; keep decides which leaves to include.
func params(v reflect.Value, keep func(b *Base, name string) bool) map[string]any {
	out := map[string]any{}
	b := baseOf(v)
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if fv.Type() == arrayType {
			if !fv.IsNil() && keep(b, f.name) {
				out[f.name] = fv.Interface()
			}
			continue
		}
		if c := childTree(fv, keep); c != nil {
			out[f.name] = c
		}
	}
	return out
}

// childTree returns the tree under a field holding modules, or nil if it holds none.
func childTree(fv reflect.Value, keep func(*Base, string) bool) any {
	if m, ok := moduleValue(fv); ok {
		return params(m, keep)
	}
	switch fv.Kind() {
	case reflect.Slice, reflect.Array:
		var list []any
		found := false
		for i := 0; i < fv.Len(); i++ {
			if m, ok := moduleValue(fv.Index(i)); ok {
				list = append(list, params(m, keep))
				found = true
			} else {
				list = append(list, map[string]any{})
			}
		}
		if found {
			return list
		}
	case reflect.Map:
		if fv.Type().Key().Kind() != reflect.String {
			return nil
		}
		out := map[string]any{}
		iter := fv.MapRange()
		for iter.Next() {
			if m, ok := moduleValue(iter.Value()); ok {
				out[iter.Key().String()] = params(m, keep)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// Parameters returns the module's parameter tree: a map[string]any of arrays, nested
// maps for child modules and []any for lists of modules.
func Parameters(m any) map[string]any {
	return params(mustModule(m), func(*Base, string) bool { return true })
}

// TrainableParameters returns the parameters that are not frozen.
func TrainableParameters(m any) map[string]any {
	return params(mustModule(m), func(b *Base, name string) bool { return !b.frozen[name] })
}

// NamedModule is a module with its dotted path in the tree ("" for the root).
type NamedModule struct {
	Name   string
	Module any
}

// NamedModules returns the module and all its descendants, parents before children.
func NamedModules(m any) []NamedModule {
	var out []NamedModule
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		out = append(out, NamedModule{prefix, v.Addr().Interface()})
		forChildren(v, func(name string, c reflect.Value) { walk(joinKey(prefix, name), c) })
	}
	walk("", mustModule(m))
	return out
}

// forChildren calls f for each direct child module of v with its relative key.
func forChildren(v reflect.Value, f func(name string, c reflect.Value)) {
	for _, fl := range fieldsOf(v.Type()) {
		fv := v.Field(fl.index)
		if c, ok := moduleValue(fv); ok {
			f(fl.name, c)
			continue
		}
		switch fv.Kind() {
		case reflect.Slice, reflect.Array:
			for i := 0; i < fv.Len(); i++ {
				if c, ok := moduleValue(fv.Index(i)); ok {
					f(fl.name+"."+strconv.Itoa(i), c)
				}
			}
		case reflect.Map:
			keys := fv.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				if c, ok := moduleValue(fv.MapIndex(k)); ok {
					f(fl.name+"."+k.String(), c)
				}
			}
		}
	}
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// Children returns the direct child modules by key.
func Children(m any) map[string]any {
	out := map[string]any{}
	forChildren(mustModule(m), func(name string, c reflect.Value) { out[name] = c.Addr().Interface() })
	return out
}

// LeafModules returns the modules that have no child modules.
func LeafModules(m any) []NamedModule {
	var out []NamedModule
	for _, nm := range NamedModules(m) {
		if len(Children(nm.Module)) == 0 {
			out = append(out, nm)
		}
	}
	return out
}

// ApplyToModules calls f on every module with its dotted path, parents first.
func ApplyToModules(m any, f func(name string, module any)) {
	for _, nm := range NamedModules(m) {
		f(nm.Name, nm.Module)
	}
}

// localParams lists the names of v's own array fields that are set.
func localParams(v reflect.Value) []string {
	var names []string
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if fv.Type() == arrayType && !fv.IsNil() {
			names = append(names, f.name)
		}
	}
	return names
}

// Freeze stops gradients for the given parameter names (all when none are given) of
// the module and, with recurse, of all its descendants; keys may be local names such as
// "weight" or dotted paths relative to m. Strict reports keys that match nothing.
func Freeze(m any, recurse, strict bool, keys ...string) error {
	return setFrozen(m, true, recurse, strict, keys)
}

// Unfreeze is the inverse of Freeze.
func Unfreeze(m any, recurse, strict bool, keys ...string) error {
	return setFrozen(m, false, recurse, strict, keys)
}

func setFrozen(m any, frozen, recurse, strict bool, keys []string) error {
	mods := []NamedModule{{"", m}}
	if recurse {
		mods = NamedModules(m)
	}
	matched := map[string]bool{}
	for _, nm := range mods {
		v := mustModule(nm.Module)
		b := baseOf(v)
		if b.frozen == nil {
			b.frozen = map[string]bool{}
		}
		for _, p := range localParams(v) {
			full := joinKey(nm.Name, p)
			sel := len(keys) == 0
			for _, k := range keys {
				if k == p || k == full {
					sel = true
					matched[k] = true
				}
			}
			if sel {
				if frozen {
					b.frozen[p] = true
				} else {
					delete(b.frozen, p)
				}
			}
		}
	}
	if strict {
		for _, k := range keys {
			if !matched[k] {
				return fmt.Errorf("nn: no parameter %q to (un)freeze in %T", k, m)
			}
		}
	}
	return nil
}

// SetTraining puts the module and its descendants in training (true) or evaluation mode.
func SetTraining(m any, training bool) {
	for _, nm := range NamedModules(m) {
		baseOf(mustModule(nm.Module)).eval = !training
	}
}

// Update sets the module's parameters from a tree shaped like Parameters (a subset is
// fine, e.g. an optimizer's update of the trainable ones). Unknown keys are an error.
func Update(m any, tree map[string]any) error {
	return update(mustModule(m), tree, "")
}

func update(v reflect.Value, tree map[string]any, prefix string) error {
	byName := map[string]field{}
	for _, f := range fieldsOf(v.Type()) {
		byName[f.name] = f
	}
	for k, val := range tree {
		f, ok := byName[k]
		if !ok {
			return fmt.Errorf("nn: %T has no parameter or child %q", v.Addr().Interface(), joinKey(prefix, k))
		}
		fv := v.Field(f.index)
		if fv.Type() == arrayType {
			a, ok := val.(*mx.Array)
			if !ok {
				return fmt.Errorf("nn: %s must be an array, got %T", joinKey(prefix, k), val)
			}
			fv.Set(reflect.ValueOf(a))
			continue
		}
		if err := updateChild(fv, val, joinKey(prefix, k)); err != nil {
			return err
		}
	}
	return nil
}

func updateChild(fv reflect.Value, val any, path string) error {
	if c, ok := moduleValue(fv); ok {
		sub, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("nn: %s must be a map of parameters, got %T", path, val)
		}
		return update(c, sub, path)
	}
	switch fv.Kind() {
	case reflect.Slice, reflect.Array:
		list, ok := val.([]any)
		if m, isMap := val.(map[string]any); isMap {
			// A partial list arrives as a map with integer keys.
			list, ok = make([]any, fv.Len()), true
			for k, item := range m {
				n, err := strconv.Atoi(k)
				if err != nil || n < 0 || n >= fv.Len() {
					return fmt.Errorf("nn: %s has no entry %q", path, k)
				}
				list[n] = item
			}
		}
		if !ok {
			return fmt.Errorf("nn: %s must be a list, got %T", path, val)
		}
		if len(list) > fv.Len() {
			return fmt.Errorf("nn: %s has %d entries, the module %d", path, len(list), fv.Len())
		}
		for i, item := range list {
			c, ok := moduleValue(fv.Index(i))
			if item == nil {
				continue
			}
			sub, ok2 := item.(map[string]any)
			if !ok || !ok2 {
				if ok2 && len(sub) == 0 {
					continue
				}
				return fmt.Errorf("nn: %s.%d is not a module", path, i)
			}
			if err := update(c, sub, path+"."+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		sub, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("nn: %s must be a map, got %T", path, val)
		}
		for k, item := range sub {
			c, ok := moduleValue(fv.MapIndex(reflect.ValueOf(k)))
			im, ok2 := item.(map[string]any)
			if !ok || !ok2 {
				return fmt.Errorf("nn: %s.%s is not a module", path, k)
			}
			if err := update(c, im, path+"."+k); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("nn: %s is not a parameter or module", path)
}

// UpdateModules replaces child modules by dotted path (e.g. "layers.3.self_attn.q_proj")
// with new ones, as LoRA injection does. The field must be able to hold the new value
// (an interface type such as Layer).
func UpdateModules(m any, replace map[string]any) error {
	for path, nm := range replace {
		if err := replaceModule(mustModule(m), path, nm); err != nil {
			return fmt.Errorf("nn: UpdateModules %q: %w", path, err)
		}
	}
	return nil
}

func replaceModule(cur reflect.Value, path string, nm any) error {
	parts := strings.Split(path, ".")
	for i, part := range parts {
		var slot reflect.Value
		switch cur.Kind() {
		case reflect.Struct:
			for _, f := range fieldsOf(cur.Type()) {
				if f.name == part {
					slot = cur.Field(f.index)
				}
			}
		case reflect.Slice, reflect.Array:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= cur.Len() {
				return fmt.Errorf("bad list index %q", part)
			}
			slot = cur.Index(n)
		}
		if !slot.IsValid() {
			return fmt.Errorf("no field %q in %s", part, cur.Type())
		}
		if i == len(parts)-1 {
			nv := reflect.ValueOf(nm)
			if !nv.Type().AssignableTo(slot.Type()) {
				return fmt.Errorf("%T does not fit a field of type %s", nm, slot.Type())
			}
			slot.Set(nv)
			return nil
		}
		if c, ok := moduleValue(slot); ok {
			cur = c
		} else if k := slot.Kind(); k == reflect.Slice || k == reflect.Array {
			cur = slot
		} else {
			return fmt.Errorf("%q is not a module or list", part)
		}
	}
	return nil
}
