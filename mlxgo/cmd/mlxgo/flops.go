package main

import (
	"math/rand/v2"
	"time"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// stepFLOPs counts the floating-point operations of one LoRA training step
// of the bench (rank r on q and v of every block) from the shapes, as model
// FLOP utilisation counts them:
//
//   - every frozen linear layer (q, k, v, o, gate, up, down, the head):
//     2·in·out per token forward and as much for the input gradient; frozen
//     weights need no weight gradient;
//   - each LoRA pair x·A·B (in×r, r×out): forward, input gradient and the
//     gradients of A and B, 6·r·(in+out) per token;
//   - causal attention: Q·Kᵀ and P·V cost 4·T·d per token and layer over all
//     positions (d = heads·head_dim), half of it below the diagonal, and the
//     backward pass twice the forward: 6·T·d per token and layer.
//
// Norms, RoPE, softmax, the loss and the optimizer are left out, as they are
// in MFU figures elsewhere.
func stepFLOPs(c *lm.Config, batch, seq, rank int) float64 {
	h, L := float64(c.HiddenSize), float64(c.NumHiddenLayers)
	hd := c.HeadDim
	if hd == 0 {
		hd = c.HiddenSize / c.NumAttentionHeads
	}
	q := float64(c.NumAttentionHeads * hd)
	kv := float64(c.NumKeyValueHeads * hd)
	inter := float64(c.IntermediateSize)
	linear := L*(h*q+2*h*kv+q*h+3*h*inter) + h*float64(c.VocabSize)
	r := float64(rank)
	lora := L * 6 * r * ((h + q) + (h + kv))
	attn := L * 6 * float64(seq) * q
	return float64(batch*seq) * (4*linear + lora + attn)
}

// machineGFLOPS measures the float32 matrix product rate of this process, the
// denominator of mfu: the best of five 1024×1024×1024 products through
// blas.Sgemm with the threads the bench uses, once on the BLAS library and once
// on blas's own kernels where it has them, whichever is faster.
func machineGFLOPS() float64 {
	const n = 1024
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = r.Float32(), r.Float32()
	}
	best := time.Duration(1 << 62)
	was := blas.UsePanels(false)
	defer blas.UsePanels(was)
	for _, panels := range []bool{false, true} {
		if panels {
			if blas.UsePanels(was); !blas.Panels() {
				break // none of its own here, or turned off
			}
		}
		blas.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			blas.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
			best = min(best, time.Since(t0))
		}
	}
	return 2 * n * n * n / best.Seconds() / 1e9
}
