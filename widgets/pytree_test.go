package widgets

import (
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

func TestPytreeRows(t *testing.T) {
	params := map[string]any{
		"a": mx.Zeros([]int{2, 3}, mx.Float32),
		"b": []any{map[string]any{"w": mx.Zeros([]int{4}, mx.Bfloat16)}},
		"c": mx.Zeros([]int{1}, mx.Float32),
	}
	trainable := map[string]any{"b": []any{map[string]any{"w": params["b"].([]any)[0].(map[string]any)["w"]}}}
	rows := PytreeRows(params, trainable, 0)
	want := [][]string{
		{"a", "[2 3]", "float32", "frozen", "6"},
		{"b.0.w", "[4]", "bfloat16", "trainable", "4"},
		{"c", "[1]", "float32", "frozen", "1"},
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Fatalf("row %d = %v, want %v", i, rows[i], want[i])
			}
		}
	}
	if r := PytreeRows(params, trainable, 2); len(r) != 3 || r[1][0] != "… 1 more" {
		t.Fatalf("limited rows %v", r)
	}
}
