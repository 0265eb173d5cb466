package tree_test

import (
	"fmt"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

func sampleTree() map[string]any {
	return map[string]any{
		"model": map[string]any{
			"embed_tokens": map[string]any{"weight": mx.Zeros([]int{4, 2}, mx.Float32)},
			"layers": []any{
				map[string]any{"self_attn": map[string]any{"q_proj": map[string]any{"weight": mx.Ones([]int{2, 2}, mx.Float32)}}},
				map[string]any{"self_attn": map[string]any{"q_proj": map[string]any{"weight": mx.Ones([]int{2, 3}, mx.Float32)}}},
			},
		},
	}
}

func TestFlattenUnflattenRoundTrip(t *testing.T) {
	flat := tree.Flatten(sampleTree())
	var keys []string
	for _, p := range flat {
		keys = append(keys, p.Key)
	}
	want := "[model.embed_tokens.weight model.layers.0.self_attn.q_proj.weight model.layers.1.self_attn.q_proj.weight]"
	if fmt.Sprint(keys) != want {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	back := tree.Unflatten(flat)
	layers, ok := back.(map[string]any)["model"].(map[string]any)["layers"].([]any)
	if !ok || len(layers) != 2 {
		t.Fatalf("integer keys did not become a list: %#v", back)
	}
	again := tree.Flatten(back)
	for i := range flat {
		if again[i].Key != flat[i].Key || again[i].Value != flat[i].Value {
			t.Fatalf("round trip changed leaf %d: %v", i, again[i])
		}
	}
}

func TestMapReduce(t *testing.T) {
	tr := sampleTree()
	doubled := tree.Map(tr, func(a *mx.Array) *mx.Array { return a.Add(1) })
	total := tree.Reduce(doubled, func(acc float64, a *mx.Array) float64 { return acc + a.Sum().Item() }, 0)
	if total != 8+4*2+6*2 {
		t.Fatalf("sum after map = %v", total)
	}
	var seen []string
	tree.MapWithPath(tr, func(k string, a *mx.Array) *mx.Array { seen = append(seen, k); return a })
	if len(seen) != 3 || seen[0] != "model.embed_tokens.weight" {
		t.Fatalf("paths %v", seen)
	}
	if len(tree.Leaves(tr)) != 3 {
		t.Fatal("Leaves")
	}
}

func ExampleFlatten() {
	params := map[string]any{
		"layers": []any{map[string]any{"weight": mx.Zeros([]int{2, 2}, mx.Float32)}},
		"bias":   mx.Zeros([]int{2}, mx.Float32),
	}
	for _, p := range tree.Flatten(params) {
		fmt.Println(p.Key, p.Value.Shape())
	}
	// Output:
	// bias [2]
	// layers.0.weight [2 2]
}
