//go:build !unix

package hub

import (
	"os"
	"path/filepath"
)

// lockFile creates the lock file's folder; without flock, concurrent downloads of one
// blob in two processes are not serialised on this platform.
func lockFile(path string) (func(), error) {
	return func() {}, os.MkdirAll(filepath.Dir(path), 0o755)
}
