//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package safetensors

import (
	"fmt"
	"os"
)

// mapFile reads the whole file at path into memory; this platform has no
// memory mapping through package syscall. The returned release function is
// nil: the garbage collector reclaims the buffer.
func mapFile(path string) ([]byte, func([]byte) error, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return buf, nil, nil
}
