// Package mxtest runs mx's op tests on every backend linked into the test binary, and
// holds the helpers those tests share (random inputs, the finite-difference gradient
// check).
//
// A test wraps its body in [ForEachBackend]; it runs once per registered executor
// (backend.Names: "cpu" always, "devicesim" — this package's CPU-with-device-storage
// executor — and any backend whose package is linked in) as a subtest named after it.
// To add a backend to every op test, link it into this package: one blank import in
// backends.go.
package mxtest
