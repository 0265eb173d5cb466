//go:build !amd64

package blas

// spinPause does nothing off x86: a polling loop just loops.
func spinPause() {}
