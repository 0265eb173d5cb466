// Package mxtest runs mx's op tests on every backend linked into the test binary, and
// holds the helpers those tests share (random inputs, the finite-difference gradient
// check).
//
// A test wraps its body in [ForEachBackend]; it runs once per registered executor
// (backend.Names: "cpu" always, "devicesim" — this package's CPU-with-device-storage
// executor — and any backend whose package is linked in) as a subtest named after it.
// A backend is in every op test once it is linked in: listed in mx/backends.go (then
// every program has it) or, for a test-only backend, one blank import in this
// package's backends.go.
package mxtest
