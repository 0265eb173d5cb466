package kernel_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mlxgo/mlxgo/kernel"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// TestSaveRestoreCyclesDoNotGrow saves and restores a value and a tree of arrays
// 1,000 times, as notebook cells do: the live heap after cycle 1,000 is within
// 1 MiB of the heap after cycle 100, and the state folder holds the same two files.
func TestSaveRestoreCyclesDoNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: 1,000 save/restore cycles")
	}
	dir := useStateDir(t)
	params := map[string]any{"w": mx.Zeros([]int{64, 64}, mx.Float32), "b": []any{mx.Ones([]int{64}, mx.Float32)}}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var at100 uint64
	start := time.Now()
	for i := 1; i <= 1000; i++ {
		want := config{Model: "m", Rank: i, Layers: []string{"q", "v"}}
		if err := kernel.Save("cfg", want); err != nil {
			t.Fatal(err)
		}
		var got config
		if ok, err := kernel.Load("cfg", &got); !ok || err != nil || got.Rank != i {
			t.Fatalf("cycle %d: %+v %v %v", i, got, ok, err)
		}
		if err := kernel.SaveArrays("params", params); err != nil {
			t.Fatal(err)
		}
		back, ok, err := kernel.LoadArrays("params")
		if !ok || err != nil {
			t.Fatalf("cycle %d: %v %v", i, ok, err)
		}
		params = back.(map[string]any)
		if i == 100 {
			at100 = heap()
		}
	}
	at1000 := heap()
	t.Logf("1,000 cycles in %v; live heap %d KiB after 100, %d KiB after 1,000", time.Since(start).Round(time.Millisecond), at100>>10, at1000>>10)
	if at1000 > at100+1<<20 {
		t.Errorf("live heap grew from %d to %d bytes", at100, at1000)
	}
	if e, _ := os.ReadDir(dir); len(e) != 2 {
		t.Errorf("%d files in the state folder, want 2", len(e))
	}
}
