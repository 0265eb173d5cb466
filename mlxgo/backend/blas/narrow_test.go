package blas

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNarrowProducts runs sgemmNarrow on each kind of narrow product (n
// narrow with op(B) = B or Bᵀ, k narrow with Bᵀ, Aᵀ·op(B) with n narrow), a
// LoRA rank's shapes and odd ones, accumulating or not, on every kernel this
// CPU runs and split between 1 to 3 threads, against the float64 reference.
func TestNarrowProducts(t *testing.T) {
	if !havePanel || !Panels() {
		t.Skip("no AVX-512F or AVX2, or MLXGO_GEMM_PANELS=off: the library runs every product")
	}
	r := rand.New(rand.NewPCG(31, 32))
	cases := []gemmCase{
		{m: 512, n: 8, k: 576}, {m: 512, n: 8, k: 576, transB: true}, {m: 13, n: 12, k: 48}, {m: 70, n: 60, k: 16, transB: true},
		{m: 512, n: 576, k: 8, transB: true}, {m: 13, n: 128, k: 3, transB: true}, {m: 7, n: 64, k: 63, transB: true},
		{m: 576, n: 8, k: 512, transA: true}, {m: 64, n: 12, k: 7, transA: true, transB: true}, {m: 128, n: 1, k: 30, transA: true},
		// At 2048 tokens, large enough to be split between threads.
		{m: 2048, n: 8, k: 576}, {m: 2048, n: 576, k: 8, transB: true}, {m: 576, n: 8, k: 2048, transA: true},
	}
	defer SetThreads(0)
	for _, kind := range panelKinds() {
		defer setPanelKind(setPanelKind(kind))
		for _, th := range []int{1, 2, 3} {
			SetThreads(th)
			for _, tc := range cases {
				for _, beta := range []float32{0, 1} {
					tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC = 1, beta, 3, 1, 2
					checkCase(t, fmt.Sprintf("narrow/%s/%d", kind, th), r, tc, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
						if !sgemmNarrow(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
							t.Fatalf("sgemmNarrow did not take %+v", tc)
						}
					})
				}
			}
		}
	}
	// Products it must leave to the others: alpha ≠ 1, wide, or k not a
	// multiple of 16 with n narrow.
	for _, tc := range []gemmCase{{m: 512, n: 8, k: 576, alpha: 2}, {m: 512, n: 64, k: 576, alpha: 1}, {m: 512, n: 8, k: 100, alpha: 1}, {m: 512, n: 576, k: 64, alpha: 1, transB: true}} {
		if sgemmNarrow(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, nil, 0, nil, 0, 0, nil, 0) {
			t.Errorf("sgemmNarrow took %+v", tc)
		}
	}
}
