//go:build !(darwin || freebsd || linux || netbsd)

package blas

// openDefault reports that this platform has no run-time library loading.
func openDefault(kind string) (*library, string) {
	return nil, "no dynamic library loading on this platform"
}

// openLibrary reports that this platform has no run-time library loading.
func openLibrary(names []string) (*library, string) {
	return nil, "no dynamic library loading on this platform"
}
