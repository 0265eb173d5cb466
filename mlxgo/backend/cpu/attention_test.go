package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// refAttention computes attention and its gradients in float64, the plain
// way: full score matrices, K/V heads indexed per query head.
func refAttention(q, k, v, dO []float32, d sdpaDims, scale float64, causal bool) (o, dq, dk, dv []float64) {
	o = make([]float64, d.B*d.Hq*d.L*d.Dv)
	dq = make([]float64, len(q))
	dk = make([]float64, len(k))
	dv = make([]float64, len(v))
	rep := d.Hq / d.Hkv
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.Hq; h++ {
			bh, g := b*d.Hq+h, b*d.Hkv+h/rep
			P := make([]float64, d.L*d.S)
			for i := 0; i < d.L; i++ {
				vis := d.visible(i, causal)
				m := math.Inf(-1)
				for j := 0; j < vis; j++ {
					var s float64
					for x := 0; x < d.D; x++ {
						s += float64(q[(bh*d.L+i)*d.D+x]) * float64(k[(g*d.S+j)*d.D+x])
					}
					P[i*d.S+j] = s * scale
					m = max(m, s*scale)
				}
				var sum float64
				for j := 0; j < vis; j++ {
					P[i*d.S+j] = math.Exp(P[i*d.S+j] - m)
					sum += P[i*d.S+j]
				}
				for j := 0; j < vis; j++ {
					P[i*d.S+j] /= sum
				}
			}
			for i := 0; i < d.L; i++ {
				dP := make([]float64, d.S)
				var delta float64
				for j := 0; j < d.S; j++ {
					for x := 0; x < d.Dv; x++ {
						o[(bh*d.L+i)*d.Dv+x] += P[i*d.S+j] * float64(v[(g*d.S+j)*d.Dv+x])
						dP[j] += float64(dO[(bh*d.L+i)*d.Dv+x]) * float64(v[(g*d.S+j)*d.Dv+x])
						dv[(g*d.S+j)*d.Dv+x] += P[i*d.S+j] * float64(dO[(bh*d.L+i)*d.Dv+x])
					}
					delta += P[i*d.S+j] * dP[j]
				}
				for j := 0; j < d.S; j++ {
					ds := P[i*d.S+j] * (dP[j] - delta) * scale
					for x := 0; x < d.D; x++ {
						dq[(bh*d.L+i)*d.D+x] += ds * float64(k[(g*d.S+j)*d.D+x])
						dk[(g*d.S+j)*d.D+x] += ds * float64(q[(bh*d.L+i)*d.D+x])
					}
				}
			}
		}
	}
	return
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func TestAttentionMatchesReference(t *testing.T) {
	cases := []struct {
		d      sdpaDims
		causal bool
	}{
		{sdpaDims{2, 3, 3, 70, 70, 8, 8}, true},
		{sdpaDims{1, 6, 2, 130, 130, 16, 12}, true},
		{sdpaDims{1, 6, 2, 130, 130, 16, 16}, false},
		{sdpaDims{2, 4, 1, 5, 150, 8, 8}, true},   // queries at the end of a longer sequence
		{sdpaDims{1, 2, 2, 1, 64, 8, 8}, true},    // one decoding step
		{sdpaDims{1, 3, 1, 64, 64, 32, 32}, true}, // exactly one block
		{sdpaDims{1, 2, 1, 520, 520, 8, 8}, true}, // blocks of 128 rows, a partial last one
		{sdpaDims{1, 2, 2, 512, 600, 8, 4}, true}, // and keys before the queries
		{sdpaDims{1, 2, 1, 600, 600, 8, 8}, false},
		// Heads of 64 and 128, two chunks of rows.
		{sdpaDims{1, 4, 2, 130, 130, 64, 64}, true},
		{sdpaDims{2, 2, 1, 70, 70, 64, 64}, false},
		{sdpaDims{1, 2, 1, 40, 150, 128, 64}, true},
		{sdpaDims{1, 2, 2, 600, 600, 64, 128}, true}, // two chunks of rows
		{sdpaDims{1, 2, 1, 150, 70, 64, 64}, true},   // the first 80 rows see no key
	}
	was := blas.UsePanels(true)
	havePanels := blas.Panels() // whether it could be turned on
	blas.UsePanels(was)
	for _, c := range cases {
		for _, panels := range []bool{false, true} {
			if panels && !havePanels {
				continue // no kernel of its own on this CPU: every product goes to the library
			}
			testAttentionCase(t, c.d, c.causal, panels)
		}
	}
}

// testAttentionCase runs one case of TestAttentionMatchesReference, with
// attention's products on blas's own kernel (panels) or on the library.
func testAttentionCase(t *testing.T, d sdpaDims, causal, panels bool) {
	c := struct {
		d      sdpaDims
		causal bool
	}{d, causal}
	{
		t.Run(fmt.Sprintf("%+v/causal=%v/panels=%v", c.d, c.causal, panels), func(t *testing.T) {
			saved := blas.UsePanels(panels)
			defer blas.UsePanels(saved)
			d := c.d
			r := rand.New(rand.NewPCG(uint64(d.L), uint64(d.S)))
			q := randF32(r, d.B*d.Hq*d.L*d.D)
			k := randF32(r, d.B*d.Hkv*d.S*d.D)
			v := randF32(r, d.B*d.Hkv*d.S*d.Dv)
			dO := randF32(r, d.B*d.Hq*d.L*d.Dv)
			scale := float32(1 / math.Sqrt(float64(d.D)))
			o := make([]float32, len(dO))
			dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
			for i := range dk { // outputs are overwritten, not accumulated
				dk[i], dv[i%len(dv)] = 7, 7
			}
			for i := range dq {
				dq[i] = 7
			}
			lse := make([]float32, d.B*d.Hq*d.L)
			attnForward(o, lse, q, k, v, d, scale, c.causal)
			// The backward pass from the forward's output and log-sum-exps, and
			// recomputing them.
			attnBackward(dq, dk, dv, q, k, v, dO, o, lse, d, scale, c.causal)
			rq, rk, rv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
			attnBackward(rq, rk, rv, q, k, v, dO, nil, nil, d, scale, c.causal)
			ro, rdq, rdk, rdv := refAttention(q, k, v, dO, d, float64(scale), c.causal)
			for _, x := range []struct {
				name string
				got  []float32
				want []float64
			}{{"o", o, ro}, {"dq", dq, rdq}, {"dk", dk, rdk}, {"dv", dv, rdv},
				{"dq recomputed", rq, rdq}, {"dk recomputed", rk, rdk}, {"dv recomputed", rv, rdv}} {
				for i := range x.want {
					if math.Abs(float64(x.got[i])-x.want[i]) > 2e-4*(1+math.Abs(x.want[i])) {
						t.Fatalf("%s[%d] = %v, want %v", x.name, i, x.got[i], x.want[i])
					}
				}
			}
			// A NaN in q reaches the output and the gradients (of a row that
			// sees a key).
			if d.L > 1 && d.visible(0, c.causal) > 0 {
				qn := slices.Clone(q)
				qn[0] = float32(math.NaN())
				on := make([]float32, len(o))
				attnForward(on, nil, qn, k, v, d, scale, c.causal)
				if !math.IsNaN(float64(on[0])) {
					t.Errorf("NaN in q gave o[0] = %v", on[0])
				}
			}
			// Same bits again (deterministic whatever the scheduling).
			o2, dq2 := make([]float32, len(o)), make([]float32, len(dq))
			dk2, dv2 := make([]float32, len(dk)), make([]float32, len(dv))
			attnForward(o2, nil, q, k, v, d, scale, c.causal)
			attnBackward(dq2, dk2, dv2, q, k, v, dO, o, lse, d, scale, c.causal)
			if !slices.Equal(o, o2) || !slices.Equal(dq, dq2) || !slices.Equal(dk, dk2) || !slices.Equal(dv, dv2) {
				t.Error("second run differs")
			}
		})
	}
}

// TestExpNeg compares the softmax exponential with math.Exp over its range.
func TestExpNeg(t *testing.T) {
	for x := float32(-90); x <= 0; x += 0.0037 {
		want := math.Exp(float64(x))
		got := float64(expNeg(x))
		if want < 1.2e-38 {
			if got > 1.2e-38 {
				t.Fatalf("expNeg(%v) = %v, want ~0", x, got)
			}
			continue
		}
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expNeg(%v) = %v, want %v", x, got, want)
		}
	}
	if expNeg(float32(math.Inf(-1))) != 0 || expNeg(0) != 1 || !math.IsNaN(float64(expNeg(float32(math.NaN())))) {
		t.Error("expNeg(-Inf), expNeg(0) or expNeg(NaN)")
	}
}

// TestSDPAReadsTransposedHeads runs the kernels on (B, H, L, D) transposes of
// (B, L, H, D) arrays, read in place, and compares them with the packed path;
// the forward output is laid out (B, L, H, Dv) in memory.
func TestSDPAReadsTransposedHeads(t *testing.T) {
	d := sdpaDims{B: 2, Hq: 4, Hkv: 2, L: 70, S: 70, D: 8, Dv: 8}
	r := rand.New(rand.NewPCG(9, 10))
	view := func(H, D int) *node {
		return floatNode(randF32(r, d.B*d.L*H*D), []int{d.B, H, d.L, D}, []int{d.L * H * D, D, H * D, 1}, 0)
	}
	q, k, v, dO := view(d.Hq, d.D), view(d.Hkv, d.D), view(d.Hkv, d.Dv), view(d.Hq, d.Dv)
	for _, n := range []*node{q, k, v, dO} {
		if _, _, ok := rowsOf(n); !ok || n.IsContiguous() {
			t.Fatal("test inputs are not transposed views")
		}
	}
	out := &node{Shape: []int{d.B, d.Hq, d.L, d.Dv}, Dtype: backend.Float32}
	sdpa(backend.ScaledDotProductAttention{Scale: 0.3, Causal: true}, []*node{q, k, v}, out)
	if st := out.StridesOrDefault(); st[1] != d.Dv || st[2] != d.Hq*d.Dv {
		t.Fatalf("output strides %v, want (B, L, H, Dv) memory", st)
	}
	want := make([]float32, out.Size())
	attnForward(want, nil, floats(q), floats(k), floats(v), d, 0.3, true)
	if !slices.Equal(floats(out), want) {
		t.Fatal("forward on transposed views differs from the packed path")
	}
	grad := &node{Shape: []int{q.Size() + k.Size() + v.Size()}, Dtype: backend.Float32}
	sdpaGrad(backend.ScaledDotProductAttentionGrad{Scale: 0.3, Causal: true}, []*node{q, k, v, dO}, grad)
	g := make([]float32, grad.Size())
	nq, nk := q.Size(), k.Size()
	attnBackward(g[:nq], g[nq:nq+nk], g[nq+nk:], floats(q), floats(k), floats(v), floats(dO), nil, nil, d, 0.3, true)
	if !slices.Equal(floats(grad), g) {
		t.Fatal("gradients on transposed views differ from the packed path")
	}
	// The forward output carries its log-sum-exps; given it, the backward kernel
	// takes the five-product path, with the same gradients up to rounding.
	oh, lse, ok := sdpaStats(out, d)
	if !ok {
		t.Fatal("the forward kernel's output has no statistics")
	}
	wantLSE := make([]float32, d.B*d.Hq*d.L)
	attnForward(make([]float32, out.Size()), wantLSE, floats(q), floats(k), floats(v), d, 0.3, true)
	if !slices.Equal(lse, wantLSE) || oh.at(1, 3, 69)[0] != want[((1*d.Hq+3)*d.L+69)*d.Dv] {
		t.Fatal("statistics kept with the output differ from the forward pass's")
	}
	fast := &node{Shape: grad.Shape, Dtype: backend.Float32}
	sdpaGrad(backend.ScaledDotProductAttentionGrad{Scale: 0.3, Causal: true}, []*node{q, k, v, dO, out}, fast)
	for i, x := range floats(fast) {
		if w := g[i]; math.Abs(float64(x-w)) > 1e-5*(1+math.Abs(float64(w))) {
			t.Fatalf("gradient %d from the kept statistics %v, recomputed %v", i, x, w)
		}
	}
	// A copy of the output (another layout, no statistics) is not taken for one.
	copyOut := floatNode(floats(out), out.Shape, nil, 0)
	if _, _, ok := sdpaStats(copyOut, d); ok {
		t.Fatal("statistics found beside a copy of the output")
	}
}
