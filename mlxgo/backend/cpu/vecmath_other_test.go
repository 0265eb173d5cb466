//go:build !amd64

package cpu

import "testing"

// forEachVariant runs f once: without assembly the Go loops run.
func forEachVariant(t *testing.T, f func(t *testing.T)) { t.Run("go", f) }
