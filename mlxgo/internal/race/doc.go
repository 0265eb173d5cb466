// Package race says whether the race detector is on, so that the longest tests (a
// 5,000-step soak) run shorter under `go test -race`, which slows code 5 to 20 times.
package race
