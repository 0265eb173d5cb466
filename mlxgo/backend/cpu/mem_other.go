//go:build !unix

package cpu

// mapBytes is unavailable here: every buffer lives in the Go heap.
func mapBytes(int) ([]byte, bool) { return nil, false }

// unmapBytes is never called here (mapBytes maps nothing).
func unmapBytes([]byte) {}
