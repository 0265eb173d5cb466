// Package atomicfile writes files so that readers never see a partial one: data goes to
// a temporary file in the same folder, is synced, and is renamed over the target. When
// anything fails (a full disk, a folder that cannot be written, a writer that errors),
// the temporary file is removed, the previous file is left as it was, and the error
// names the target.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Write replaces path with data atomically.
func Write(path string, data []byte) error {
	return WriteWith(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith replaces path atomically with what write writes. A new file gets mode
// 0644; an existing file keeps its mode. Errors read "write PATH: cause".
func WriteWith(path string, write func(w io.Writer) error) (err error) {
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	var w io.Writer = f
	if fw := newFaultWriter(f); fw != nil {
		w = fw
	}
	if err := write(w); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); give it the mode a plain create would.
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable where the platform can sync a folder.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

var (
	faultMu    sync.Mutex
	faultAfter int64 = -1 // bytes each write may make before failing; -1: no fault
	faultErr   error
)

// InjectFault makes every write through this package fail with err once it has
// written after bytes to its temporary file, as a full disk would, until the returned
// function is called. It is for tests of what callers do when a write fails.
func InjectFault(after int64, err error) (restore func()) {
	faultMu.Lock()
	defer faultMu.Unlock()
	faultAfter, faultErr = after, err
	return func() {
		faultMu.Lock()
		defer faultMu.Unlock()
		faultAfter, faultErr = -1, nil
	}
}

// faultWriter passes left bytes to w, then fails.
type faultWriter struct {
	w    io.Writer
	left int64
	err  error
}

func newFaultWriter(w io.Writer) *faultWriter {
	faultMu.Lock()
	defer faultMu.Unlock()
	if faultAfter < 0 {
		return nil
	}
	return &faultWriter{w: w, left: faultAfter, err: faultErr}
}

func (f *faultWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= f.left {
		f.left -= int64(len(p))
		return f.w.Write(p)
	}
	n, _ := f.w.Write(p[:f.left])
	f.left = 0
	return n, f.err
}
