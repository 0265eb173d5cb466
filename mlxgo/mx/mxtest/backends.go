package mxtest

import (
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	// Backends linked into every op test beyond those mx links itself (mx/backends.go).
	// Add one line per backend package, e.g.
	//	_ "github.com/mlxgo/mlxgo/mlxgo/backend/mlx"
)

// Backends returns the executors the op tests run on: every registered one.
func Backends() []string { return backend.Names() }

// ForEachBackend runs f once per backend, as a subtest named after it, with that backend
// set as mx's executor (restored afterwards). A backend that cannot open here (say, a
// library that is not installed) is skipped with the reason.
func ForEachBackend(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, name := range Backends() {
		t.Run(name, func(t *testing.T) {
			b, err := backend.Open(name)
			if err != nil {
				t.Skipf("backend %s is not available: %v", name, err)
			}
			old := mx.SetBackend(b)
			defer mx.SetBackend(old)
			f(t)
		})
	}
}
