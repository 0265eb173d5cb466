package backend_test

import (
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	_ "github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

func TestRegistryListsCPUFirstAndExplainsMissing(t *testing.T) {
	if n := backend.Names(); len(n) == 0 || n[0] != "cpu" {
		t.Fatalf("Names() = %v, want cpu first", n)
	}
	if e, err := backend.Open("cpu"); err != nil || e.Name() != "cpu" {
		t.Fatalf("Open(cpu) = %v, %v", e, err)
	}
	_, err := backend.Open("nosuch")
	if err == nil || !strings.Contains(err.Error(), `"nosuch" is not linked`) || !strings.Contains(err.Error(), "cpu") {
		t.Fatalf("Open(nosuch) error = %v, want one naming it and the registered backends", err)
	}
}

func TestViewsAreDeclaredByDescriptors(t *testing.T) {
	views := []backend.Op{backend.Reshape{}, backend.Transpose{}, backend.BroadcastTo{}, backend.Slice{},
		backend.StopGradient{}, backend.Depends{}, backend.Checkpoint{}}
	for _, op := range views {
		if !backend.IsView(op) {
			t.Errorf("%s is a view", op.Name())
		}
	}
	for _, op := range []backend.Op{backend.SliceUpdate{}, backend.Binary{Kind: backend.Add}, backend.Matmul{}, backend.Full{}} {
		if backend.IsView(op) {
			t.Errorf("%s is not a view", op.Name())
		}
	}
	if got := (backend.Reduce{Kind: backend.LogSumExp}).Name(); got != "LogSumExp" {
		t.Errorf("Reduce name %q", got)
	}
}

func TestPromoteTypes(t *testing.T) {
	for _, c := range []struct{ a, b, want backend.Dtype }{
		{backend.Float16, backend.Bfloat16, backend.Float32},
		{backend.Uint32, backend.Int32, backend.Int64},
		{backend.Bool, backend.Uint8, backend.Uint8},
		{backend.Int64, backend.Float16, backend.Float16},
	} {
		if got := backend.PromoteTypes(c.a, c.b); got != c.want {
			t.Errorf("PromoteTypes(%s, %s) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}
