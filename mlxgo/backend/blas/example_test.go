package blas_test

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// ForEach runs a loop's items on the package's team of goroutines; each item writes
// only its own output, so the result does not depend on which goroutine ran it.
func ExampleForEach() {
	squares := make([]int, 8)
	blas.ForEach(len(squares), func(i int) { squares[i] = i * i })
	fmt.Println(squares)
	// Output: [0 1 4 9 16 25 36 49]
}
