package mxtest

import (
	"math"
	"slices"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// AssertClose fails the test unless got has want's shape and every element satisfies
// |got − want| ≤ tol·(1 + |want|) (tol 0: bit for bit; NaN never matches).
func AssertClose(t testing.TB, name string, got, want *mx.Array, tol float64) {
	t.Helper()
	if !slices.Equal(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
	}
	g, w := got.Float64s(), want.Float64s()
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= tol*(1+math.Abs(w[i]))) {
			t.Fatalf("%s: element %d = %v, want %v (diff %.3g)", name, i, g[i], w[i], d)
		}
	}
}
