package kernel_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mlxgo/mlxgo/kernel"
)

// TestSaveFaultsKeepPreviousValue fails a save midway (the writer errors as a full
// disk would) and in a read-only state folder: the previous value still loads, no
// temporary file is left, and the error names the file.
func TestSaveFaultsKeepPreviousValue(t *testing.T) {
	dir := useStateDir(t)
	want := config{Model: "m", Rank: 4, Layers: []string{"a"}}
	if err := kernel.Save("cfg", want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cfg.json")
	check := func(what string, err error, cause error) {
		t.Helper()
		if !errors.Is(err, cause) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: error %v, want %v naming %s", what, err, cause, path)
		}
		var got config
		if ok, err := kernel.Load("cfg", &got); !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: previous value lost: %+v, %v, %v", what, got, ok, err)
		}
		if e, _ := os.ReadDir(dir); len(e) != 1 {
			t.Fatalf("%s: %d files in the state folder, want 1", what, len(e))
		}
	}
	err := kernel.SaveWith("cfg", "json", func(w io.Writer) error {
		w.Write([]byte(`{"Model": "half`))
		return syscall.ENOSPC
	})
	check("disk full", err, syscall.ENOSPC)
	// Root ignores folder permissions: make the folder immutable instead.
	mode := "chmod"
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("running as root and chattr +i failed (%v %s): read-only folder not tested", err, out)
		}
		defer exec.Command("chattr", "-i", dir).Run()
		mode = "chattr"
	} else {
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
	}
	err = kernel.Save("cfg", config{Model: "new"})
	check("read-only folder ("+mode+")", err, os.ErrPermission)
}
