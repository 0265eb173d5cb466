package kernel_test

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlxgo/mlxgo/kernel"
	"github.com/mlxgo/mlxgo/widgets"
)

// useStateDir points the store at a fresh folder for the test.
func useStateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	t.Setenv(kernel.StateDirEnv, dir)
	return dir
}

type config struct {
	Model  string
	Rank   int
	Scale  float64
	Layers []string
	Extra  map[string]int
}

func TestSaveLoadJSON(t *testing.T) {
	dir := useStateDir(t)
	if got := kernel.Dir(); got != dir {
		t.Fatalf("Dir() = %q, want %q", got, dir)
	}
	in := config{"tiny-story", 8, 20, []string{"q_proj", "v_proj"}, map[string]int{"steps": 100}}
	if err := kernel.Save("config", in); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatalf("config.json not written: %v", err)
	}
	var out config
	ok, err := kernel.Load("config", &out)
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("loaded %+v, want %+v", out, in)
	}
	// JSON lets a later cell load into another compatible type.
	var loose map[string]any
	if ok, err := kernel.Load("config", &loose); err != nil || !ok || loose["Rank"] != float64(8) {
		t.Errorf("loose load = %v, %v, %v", loose, ok, err)
	}
	if !kernel.Has("config") || kernel.Has("other") {
		t.Error("Has is wrong")
	}
}

func TestLoadMissing(t *testing.T) {
	useStateDir(t)
	var v int
	ok, err := kernel.Load("nothing", &v)
	if ok || err != nil {
		t.Errorf("Load(missing) = %v, %v; want false, nil", ok, err)
	}
	if names, err := kernel.Names(); err != nil || len(names) != 0 {
		t.Errorf("Names() on a missing folder = %v, %v", names, err)
	}
}

func TestNaNFallsBackToGob(t *testing.T) {
	dir := useStateDir(t)
	losses := []float64{2.5, math.NaN(), math.Inf(1)}
	if err := kernel.Save("losses", losses); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "losses.gob")); err != nil {
		t.Fatalf("losses.gob not written: %v", err)
	}
	var got []float64
	if ok, err := kernel.Load("losses", &got); err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	if len(got) != 3 || got[0] != 2.5 || !math.IsNaN(got[1]) || !math.IsInf(got[2], 1) {
		t.Errorf("loaded %v", got)
	}
	// Saving a JSON-able value under the same name replaces the gob file.
	if err := kernel.Save("losses", []float64{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "losses.gob")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale losses.gob left behind: %v", err)
	}
	if ok, err := kernel.Load("losses", &got); err != nil || !ok || len(got) != 1 || got[0] != 1 {
		t.Errorf("reload = %v, %v, %v", got, ok, err)
	}
}

func TestUnencodable(t *testing.T) {
	useStateDir(t)
	if err := kernel.Save("ch", make(chan int)); err == nil {
		t.Error("saving a channel succeeded")
	}
	if kernel.Has("ch") {
		t.Error("failed save left a value")
	}
}

func TestLoadWrongType(t *testing.T) {
	useStateDir(t)
	if err := kernel.Save("n", "text"); err != nil {
		t.Fatal(err)
	}
	var n int
	ok, err := kernel.Load("n", &n)
	if ok || err == nil || !strings.Contains(err.Error(), `"n"`) {
		t.Errorf("Load into the wrong type = %v, %v", ok, err)
	}
}

func TestNames(t *testing.T) {
	for _, name := range []string{"", "a.b", "../x", "a/b", "a b", "-x", strings.Repeat("x", 129), "é"} {
		if kernel.ValidName(name) {
			t.Errorf("ValidName(%q) = true", name)
		}
		if err := kernel.Save(name, 1); err == nil {
			t.Errorf("Save(%q) succeeded", name)
		}
		if _, err := kernel.Path(name, "json"); err == nil {
			t.Errorf("Path(%q) succeeded", name)
		}
	}
	for _, name := range []string{"a", "step_100", "lora-adapters", "X9"} {
		if !kernel.ValidName(name) {
			t.Errorf("ValidName(%q) = false", name)
		}
	}
}

func TestPathSaveWithDeleteClear(t *testing.T) {
	dir := useStateDir(t)
	p, err := kernel.Path("adapters", ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "adapters.safetensors"); p != want {
		t.Errorf("Path = %q, want %q", p, want)
	}
	if _, err := kernel.Path("adapters", "tar.gz"); err == nil {
		t.Error("Path accepted a dotted extension")
	}
	if err := kernel.SaveWith("adapters", "safetensors", func(w io.Writer) error {
		_, err := io.WriteString(w, "tensor bytes")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "tensor bytes" {
		t.Fatalf("adapters.safetensors = %q, %v", b, err)
	}
	// A failing writer leaves the previous value and no temporary file.
	boom := errors.New("boom")
	if err := kernel.SaveWith("adapters", "safetensors", func(w io.Writer) error {
		_, _ = io.WriteString(w, "partial")
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("SaveWith error = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "tensor bytes" {
		t.Errorf("failed write clobbered the value: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if err := kernel.Save("step", 7); err != nil {
		t.Fatal(err)
	}
	if err := kernel.Save("adapters-best", 1); err != nil {
		t.Fatal(err)
	}
	names, err := kernel.Names()
	if err != nil || !reflect.DeepEqual(names, []string{"adapters", "adapters-best", "step"}) {
		t.Errorf("Names() = %v, %v", names, err)
	}
	if !kernel.Has("adapters") {
		t.Error("Has(adapters) = false")
	}
	if err := kernel.Delete("adapters"); err != nil {
		t.Fatal(err)
	}
	if kernel.Has("adapters") || !kernel.Has("adapters-best") {
		t.Error("Delete removed the wrong files")
	}
	if err := kernel.Delete("adapters"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if err := kernel.Clear(); err != nil {
		t.Fatal(err)
	}
	if names, _ := kernel.Names(); len(names) != 0 {
		t.Errorf("after Clear: %v", names)
	}
}

// TestSaveLossChart keeps a widgets.LossChart between cells, NaN losses included.
func TestSaveLossChart(t *testing.T) {
	useStateDir(t)
	c := widgets.NewLossChart("training")
	c.AddTrain(1, 2.5)
	c.AddTrain(2, math.NaN())
	c.AddVal(2, 2.75)
	if err := kernel.Save("chart", c); err != nil {
		t.Fatal(err)
	}
	d := widgets.NewLossChart("")
	if ok, err := kernel.Load("chart", d); err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	tr := d.Train()
	if d.Title != "training" || len(tr) != 2 || tr[0].Value != 2.5 || !math.IsNaN(tr[1].Value) || len(d.Val()) != 1 {
		t.Errorf("loaded chart %q train %v val %v", d.Title, tr, d.Val())
	}
}

func TestDefaultDirIsWorkingDirectory(t *testing.T) {
	t.Setenv(kernel.StateDirEnv, "")
	wd := t.TempDir()
	t.Chdir(wd)
	want, _ := filepath.Abs(filepath.Join(wd, kernel.DefaultStateDir))
	if got := kernel.Dir(); got != want {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
	if err := kernel.Save("x", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wd, ".mlxgo_state", "x.json")); err != nil {
		t.Error(err)
	}
}
