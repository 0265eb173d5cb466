package widgets

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// PytreeRows returns one row per array leaf of params — key, shape, dtype, "trainable" or
// "frozen", size — where a leaf is trainable when its key is in trainable (e.g.
// model.Parameters() and model.TrainableParameters()). Pass limit > 0 to keep only the
// first and last rows around a "…" row.
func PytreeRows(params, trainable any, limit int) [][]string {
	train := tree.FlattenMap(trainable)
	flat := tree.Flatten(params)
	var rows [][]string
	for i, p := range flat {
		if limit > 0 && len(flat) > limit && i >= limit/2 && i < len(flat)-limit/2 {
			if i == limit/2 {
				rows = append(rows, []string{fmt.Sprintf("… %d more", len(flat)-2*(limit/2)), "", "", "", ""})
			}
			continue
		}
		state := "frozen"
		if _, ok := train[p.Key]; ok {
			state = "trainable"
		}
		rows = append(rows, []string{p.Key, fmt.Sprint(p.Value.Shape()), p.Value.Dtype().String(), state, fmt.Sprint(p.Value.Size())})
	}
	return rows
}

// Pytree displays a parameter tree as a table: key, shape, dtype, trainable or frozen,
// size (see PytreeRows).
func Pytree(params, trainable any, limit int) {
	Table([]string{"key", "shape", "dtype", "state", "size"}, PytreeRows(params, trainable, limit))
}
