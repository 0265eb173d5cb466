// Package tutorials holds short, runnable guides to the MLX programming model in Go.
//
// Each numbered folder is a guide: a README.md that reads top to bottom and a main.go
// (package main) that runs the guide's code and prints what the guide promises. Run one
// from the repository root with
//
//	go run ./tutorials/01-lazy-evaluation
//
// The tests of this package run every guide and check the lines it prints, and that the
// code shown in each README is the code its main.go runs.
package tutorials
