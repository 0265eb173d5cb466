package kernel

import (
	"fmt"
	"os"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// singleKey names the tensor of a file that stores one array rather than a tree.
const singleKey = "__array__"

// SaveArrays stores a pytree of arrays — one array, a model's Parameters(), an
// optimizer's State(), gradients — as NAME.safetensors in the state folder (evaluating it
// first), atomically.
func SaveArrays(name string, t any) error {
	if err := checkName(name); err != nil {
		return err
	}
	path, err := Path(name, "safetensors")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(Dir(), 0o755); err != nil {
		return err
	}
	flat := tree.FlattenMap(t)
	if a, ok := t.(*mx.Array); ok {
		flat = map[string]*mx.Array{singleKey: a}
	}
	return mx.SaveSafetensors(path, flat, map[string]string{"format": "mlx"})
}

// LoadArrays reads a pytree stored by SaveArrays: a single *mx.Array for an array, else
// a tree of map[string]any (lists where the keys were indices). The arrays are copied
// out of the file, so the name can be saved again while they are alive. ok is false
// when nothing is stored under name.
func LoadArrays(name string) (t any, ok bool, err error) {
	path, err := Path(name, "safetensors")
	if err != nil {
		return nil, false, err
	}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil, false, nil
	}
	w, _, err := mx.LoadSafetensors(path)
	if err != nil {
		return nil, false, fmt.Errorf("kernel: %w", err)
	}
	copied := make(map[string]*mx.Array, len(w))
	for k, a := range w {
		copied[k] = mx.FromBytes(a.Bytes(), a.Shape(), a.Dtype())
	}
	if a, ok := copied[singleKey]; ok && len(copied) == 1 {
		return a, true, nil
	}
	return tree.UnflattenMap(copied), true, nil
}
