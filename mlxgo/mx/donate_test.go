package mx_test

import (
	"math"
	"math/rand"
	"testing"

	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
)

// onCPU skips a test of the CPU backend's memory behaviour on other backends.
func onCPU(t *testing.T) {
	t.Helper()
	if name := mx.CurrentBackend().Name(); name != "cpu" {
		t.Skipf("memory accounting of the cpu backend; the backend is %s", name)
	}
}

// TestEvalDonatesIntermediates: an elementwise op that reads an intermediate for the
// last time writes its result over it (buffer donation), so a chain of four ops on a
// 4 MiB array needs one 4 MiB buffer, not two at a time.
func TestEvalDonatesIntermediates(t *testing.T) {
	onCPU(t)
	const n = 1 << 20
	a := mx.Full([]int{n}, 0.5, mx.Float32)
	mx.Eval(a)
	base := mx.ActiveMemory()
	mx.ResetPeakMemory()
	y := mx.Negative(mx.Exp(mx.Sigmoid(mx.Add(a, 1.0))))
	mx.Eval(y)
	if grown := mx.PeakMemory() - base; grown > 4*n+1024 {
		t.Fatalf("peak grew by %d bytes for a chain on %d floats, want one buffer (%d bytes)", grown, n, 4*n)
	}
	want := float32(-math.Exp(1 / (1 + math.Exp(-1.5))))
	got := y.Float32s()
	for _, i := range []int{0, n / 2, n - 1} {
		if math.Abs(float64(got[i]-want)) > 1e-6 {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
}

// TestEvalDonatesOnlyWhatNoOneReads: no op writes over an array read after it, one
// asked for by Eval, or one whose memory a view still shares.
func TestEvalDonatesOnlyWhatNoOneReads(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	a := randArray(r, -1, 1, 64, 64)
	mx.Eval(a)
	av := a.Float32s()
	at := func(i, j int) float64 { return float64(av[i*64+j]) }
	check := func(name string, got *mx.Array, f func(i, j int) float64) {
		t.Helper()
		g := got.Float32s()
		for i := 0; i < 64; i++ {
			for j := 0; j < 64; j++ {
				if w := f(i, j); math.Abs(float64(g[i*64+j])-w) > 1e-5*(1+math.Abs(w)) {
					t.Fatalf("%s[%d,%d] = %v, want %v", name, i, j, g[i*64+j], w)
				}
			}
		}
	}
	// x is read by Sigmoid and then by Add: Sigmoid must not write over it.
	x := mx.Exp(a)
	y := mx.Add(mx.Sigmoid(x), x)
	mx.Eval(y)
	check("sigmoid(x)+x", y, func(i, j int) float64 {
		e := math.Exp(at(i, j))
		return 1/(1+math.Exp(-e)) + e
	})
	// x2's memory is shared with its transpose, read after Negative.
	x2 := mx.Exp(a)
	y2 := mx.Add(mx.Negative(x2), mx.Transpose(x2))
	mx.Eval(y2)
	check("-x+xᵀ", y2, func(i, j int) float64 { return -math.Exp(at(i, j)) + math.Exp(at(j, i)) })
	// x3 is asked for: it keeps its values.
	x3 := mx.Exp(a)
	y3 := mx.Negative(x3)
	mx.Eval(x3, y3)
	check("x3", x3, func(i, j int) float64 { return math.Exp(at(i, j)) })
	check("-x3", y3, func(i, j int) float64 { return -math.Exp(at(i, j)) })
}
