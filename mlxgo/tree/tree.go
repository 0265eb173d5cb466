// Package tree works with pytrees: nested map[string]any, []any and *mx.Array leaves, the
// shape of a model's parameters, gradients and optimizer state. Keys use MLX's dotted
// format, e.g. "model.layers.0.self_attn.q_proj.weight", which is also the Hugging Face
// safetensors naming.
package tree

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// Pair is one leaf of a flattened tree.
type Pair struct {
	Key   string
	Value *mx.Array
}

// Flatten returns the array leaves of t with their dotted keys, maps in sorted key order
// and lists in index order.
func Flatten(t any) []Pair {
	var out []Pair
	walk(reflect.ValueOf(t), "", func(k string, a *mx.Array) { out = append(out, Pair{k, a}) })
	return out
}

// FlattenMap is Flatten as a map from key to array.
func FlattenMap(t any) map[string]*mx.Array {
	m := map[string]*mx.Array{}
	for _, p := range Flatten(t) {
		m[p.Key] = p.Value
	}
	return m
}

// Leaves returns the array leaves of t in Flatten's order.
func Leaves(t any) []*mx.Array {
	var out []*mx.Array
	walk(reflect.ValueOf(t), "", func(_ string, a *mx.Array) { out = append(out, a) })
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

var arrayType = reflect.TypeOf((*mx.Array)(nil))

func walk(v reflect.Value, prefix string, f func(string, *mx.Array)) {
	if !v.IsValid() {
		return
	}
	if v.Type() == arrayType {
		if !v.IsNil() {
			f(prefix, v.Interface().(*mx.Array))
		}
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), prefix, f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), join(prefix, strconv.Itoa(i)), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			walk(v.MapIndex(k), join(prefix, fmt.Sprint(k.Interface())), f)
		}
	}
}

// Unflatten rebuilds a tree of map[string]any from dotted keys; a level whose keys are
// all integers 0..n-1 becomes a []any list.
func Unflatten(pairs []Pair) any {
	root := map[string]any{}
	for _, p := range pairs {
		parts := strings.Split(p.Key, ".")
		node := root
		for _, part := range parts[:len(parts)-1] {
			child, ok := node[part].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[part] = child
			}
			node = child
		}
		node[parts[len(parts)-1]] = p.Value
	}
	return listify(root)
}

// UnflattenMap is Unflatten for a key → array map.
func UnflattenMap(m map[string]*mx.Array) any {
	pairs := make([]Pair, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, Pair{k, v})
	}
	return Unflatten(pairs)
}

func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, c := range m {
		m[k] = listify(c)
	}
	if len(m) == 0 {
		return m
	}
	list := make([]any, len(m))
	for k, c := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) || strconv.Itoa(i) != k {
			return m
		}
		list[i] = c
	}
	return list
}

// Map returns a copy of t with every array leaf replaced by f(leaf).
func Map(t any, f func(*mx.Array) *mx.Array) any { return mx.MapArrays(t, f) }

// MapWithPath is Map with each leaf's dotted key passed to f.
func MapWithPath(t any, f func(key string, a *mx.Array) *mx.Array) any {
	keys := map[*mx.Array]string{}
	for _, p := range Flatten(t) {
		keys[p.Value] = p.Key
	}
	return mx.MapArrays(t, func(a *mx.Array) *mx.Array { return f(keys[a], a) })
}

// Map2 combines two trees of the same structure leaf by leaf (e.g. parameters and
// gradients); leaves of a missing from b are passed with a nil second argument.
func Map2(a, b any, f func(x, y *mx.Array) *mx.Array) any {
	other := FlattenMap(b)
	return MapWithPath(a, func(k string, x *mx.Array) *mx.Array { return f(x, other[k]) })
}

// Reduce folds f over the leaves of t in Flatten's order, starting from init.
func Reduce[T any](t any, f func(acc T, a *mx.Array) T, init T) T {
	acc := init
	for _, a := range Leaves(t) {
		acc = f(acc, a)
	}
	return acc
}
