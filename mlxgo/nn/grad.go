package nn

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// ValueAndGrad transforms a loss function of a model into one that also returns the
// gradient with respect to the model's trainable parameters, shaped like
// TrainableParameters(model). Frozen parameters get no gradient and cost no backward
// work. Nothing is computed until the results are evaluated.
func ValueAndGrad[M any, B any](model M, lossFn func(M, B) *mx.Array) func(M, B) (*mx.Array, map[string]any) {
	return func(m M, batch B) (*mx.Array, map[string]any) {
		params := TrainableParameters(m)
		vg := mx.ValueAndGrad(func(...any) any { return lossFn(m, batch) })
		v, g := vg(params)
		return v.(*mx.Array), g.(map[string]any)
	}
}

// CountParams returns the number of elements in a parameter tree.
func CountParams(t any) int {
	n := 0
	for _, a := range tree.Leaves(t) {
		n += a.Size()
	}
	return n
}

// LoadWeights sets the module's parameters from a flat key → array map. With strict,
// every parameter must be present and every key used; all missing and unexpected keys
// are reported in one error. Shapes must match in any case.
func LoadWeights(m any, weights map[string]*mx.Array, strict bool) error {
	current := tree.FlattenMap(Parameters(m))
	var missing, unexpected, bad []string
	use := map[string]*mx.Array{}
	for k, w := range weights {
		cur, ok := current[k]
		if !ok {
			unexpected = append(unexpected, k)
			continue
		}
		if !slices.Equal(cur.Shape(), w.Shape()) {
			bad = append(bad, fmt.Sprintf("%s: expected shape %v, found %v", k, cur.Shape(), w.Shape()))
			continue
		}
		use[k] = w
	}
	for k := range current {
		if _, ok := weights[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	sort.Strings(bad)
	var problems []string
	if len(bad) > 0 {
		problems = append(problems, "wrong shapes: "+strings.Join(bad, "; "))
	}
	if strict && len(missing) > 0 {
		problems = append(problems, "missing: "+strings.Join(missing, ", "))
	}
	if strict && len(unexpected) > 0 {
		problems = append(problems, "unexpected: "+strings.Join(unexpected, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("nn: loading weights into %T: %s", m, strings.Join(problems, "; "))
	}
	return Update(m, tree.UnflattenMap(use).(map[string]any))
}

// SaveWeights writes the module's parameters to a .safetensors file (atomically).
func SaveWeights(m any, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return mx.SaveSafetensors(path, tree.FlattenMap(Parameters(m)), map[string]string{"format": "mlx"})
}
