//go:build unix && !linux

package cpu

// adviseHuge does nothing outside Linux.
func adviseHuge([]byte) {}
