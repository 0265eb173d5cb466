//go:build !unix

package cpu

// cpuTime is not measured here: the benchmarks' cpu-ns/elem reads 0.
func cpuTime() int64 { return 0 }
