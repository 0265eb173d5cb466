// Package tutorials holds short, runnable guides to the MLX programming model in Go.
//
// Each numbered folder is a guide: a README.md that reads top to bottom and a main.go
// (package main) that runs the guide's code and prints what the guide promises. Run one
// from the repository root with
//
//	go run ./tutorials/01-lazy-evaluation
//
// Each guide is also a notebook on the "Go (mlxgo)" kernel, NN-name/NN-name.ipynb, generated
// from its README.md and main.go (the one source of its code) by go generate.
//
// The tests of this package run every guide and check the lines it prints, that the
// code shown in each README is the code its main.go runs, that the notebooks are what the
// generator makes, and execute the notebooks.
package tutorials

//go:generate go run ./internal/notebook/gen
