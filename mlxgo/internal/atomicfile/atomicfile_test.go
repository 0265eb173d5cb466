package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	for _, s := range []string{"one", "two"} {
		if err := Write(p, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != s {
			t.Fatalf("content %q, want %q", b, s)
		}
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	if e, _ := os.ReadDir(dir); len(e) != 1 {
		t.Fatalf("%d files left in the folder, want 1", len(e))
	}
	if err := Write(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Fatal("writing into a missing folder must fail")
	}
}

// checkUnharmed checks that p still holds want and that no temporary file is left.
func checkUnharmed(t *testing.T, p, want string) {
	t.Helper()
	if b, err := os.ReadFile(p); err != nil || string(b) != want {
		t.Fatalf("after the failed write %s holds %q (%v), want %q", p, b, err, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("%d files in the folder after the failed write, want only %s", len(entries), filepath.Base(p))
	}
}

func TestInjectedFaultKeepsPreviousFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.bin")
	if err := Write(p, []byte("previous")); err != nil {
		t.Fatal(err)
	}
	for _, after := range []int64{0, 3, 1 << 20} {
		restore := InjectFault(after, syscall.ENOSPC)
		err := WriteWith(p, func(w io.Writer) error {
			for range 4 {
				if _, err := w.Write(make([]byte, 300_000)); err != nil {
					return err
				}
			}
			return nil
		})
		restore()
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), p) {
			t.Fatalf("fault after %d bytes: error %v, want ENOSPC naming %s", after, err, p)
		}
		checkUnharmed(t, p, "previous")
	}
	// A writer that fails by itself is handled the same way.
	err := WriteWith(p, func(w io.Writer) error { w.Write([]byte("half")); return errors.New("encoder broke") })
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "encoder broke") {
		t.Fatalf("error %v", err)
	}
	checkUnharmed(t, p, "previous")
}

func TestReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.json")
	if err := Write(p, []byte("previous")); err != nil {
		t.Fatal(err)
	}
	undo, err := MakeReadOnly(dir)
	if err != nil {
		t.Skip("cannot make a read-only folder here:", err)
	}
	err = Write(p, []byte("new"))
	undo()
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v, want a permission error naming %s", err, p)
	}
	checkUnharmed(t, p, "previous")
}

func TestFileWhereFolderExpected(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(notDir, "w.json")
	if err := Write(p, []byte("new")); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v, want one naming %s", err, p)
	}
}
