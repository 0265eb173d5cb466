//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package safetensors

import (
	"fmt"
	"math"
	"os"
	"syscall"
)

// mapFile maps the whole file at path read-only and returns the mapping and
// the function that releases it. Files shorter than the 8-byte length
// prefix are read into memory instead (mmap cannot map an empty file).
func mapFile(path string) ([]byte, func([]byte) error, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	size := st.Size()
	if size < 8 {
		buf := make([]byte, 8)
		n, _ := fd.ReadAt(buf, 0)
		return buf[:n], nil, nil
	}
	if uint64(size) > math.MaxInt {
		return nil, nil, fmt.Errorf("safetensors: %s: file of %d bytes too large to map", path, size)
	}
	buf, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: mmap %s: %w", path, err)
	}
	return buf, syscall.Munmap, nil
}
