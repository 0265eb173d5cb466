package main

import (
	"math"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
)

// TestStepFLOPs checks the count against the figures worked out by hand for
// the smollm135 shape (issue 12): 537.9 MFLOP per token for the frozen
// linear layers (forward and input gradient), 2.76 for the rank-8 LoRA
// factors on q and v, and 6·T·576·30 for causal attention.
func TestStepFLOPs(t *testing.T) {
	cfg, err := lm.ParseConfig([]byte(benchPresets["smollm135"]), "preset")
	if err != nil {
		t.Fatal(err)
	}
	perBlock := 576.0*576*2 + 576*192*2 + 576*1536*3
	linear := 4 * (30*perBlock + 576*49152)
	lora := 30 * 6 * 8 * (576 + 576 + 576 + 192.0)
	for _, c := range []struct{ batch, seq int }{{4, 128}, {1, 512}, {1, 2048}} {
		attn := 6 * float64(c.seq) * 576 * 30
		want := float64(c.batch*c.seq) * (linear + lora + attn)
		if got := stepFLOPs(cfg, c.batch, c.seq, 8); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%d×%d: %g FLOP, want %g", c.batch, c.seq, got, want)
		}
	}
	if d := linear/1e6 - 537.9; math.Abs(d) > 0.1 {
		t.Errorf("linear layers %.1f MFLOP/token, issue says 537.9", linear/1e6)
	}
	if a := 6 * 2048 * 576 * 30 / 1e6; math.Abs(a-212.3) > 0.1 {
		t.Errorf("attention at 2048: %.1f MFLOP/token", a)
	}
}
