package optim

import "golang.org/x/sys/cpu"

// haveAdamAVX2 reports whether adamAVX2 runs on this CPU.
var haveAdamAVX2 = cpu.X86.HasAVX2

// adamAVX2 is adamStepKernel's loop on n elements (a multiple of 8), eight at a
// time, with c = β₁, 1 − β₁, β₂, 1 − β₂, Eps, Decay, SqrtC2, Rate.
//
//go:noescape
func adamAVX2(gr, p, m, v, np, nm, nv *float32, n int, c *[8]float32)
