package cpu

import (
	"math"
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend/blas"
)

// Tiled attention. The scores of one block of query rows against the keys
// it may see are formed, normalised and used at once, so the T×T matrix of a
// head never exists whole; with a causal mask the keys after a block's last
// row are never touched (the blocks above the diagonal are skipped); the
// query heads of a group read their K/V head in place (GQA without repeating
// K/V). Blocks of all heads run side by side on every core through
// blas.Parallel, each with single-threaded matrix products, and each writes
// only its own outputs, so results do not depend on scheduling.
//
// Shapes: q (B, Hq, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv), out and dO
// (B, Hq, L, Dv). With a causal mask, row i sees keys j <= i + S - L.

// attnRows returns the number of query rows of a block for L queries: 128 from 512
// on (fewer, larger products: 7–12% less CPU time at 512 and 2048), 64 below (a
// block of 128 would compute half of its scores above the diagonal at 128).
func attnRows(L int) int {
	if L >= 512 {
		return 128
	}
	return 64
}

// attnKeys is the number of keys of a block in the backward pass.
const attnKeys = 64

type sdpaDims struct{ B, Hq, Hkv, L, S, D, Dv int }

// visible returns how many keys row i sees.
func (d sdpaDims) visible(i int, causal bool) int {
	if !causal {
		return d.S
	}
	return max(0, min(d.S, i+d.S-d.L+1))
}

// expNeg returns e**x for the exponents of a softmax, x <= 0 (and -Inf),
// as expf does but without its overflow case: results below float32's
// normal range are 0, and NaN stays NaN (so that a NaN in the scores reaches
// the output and the trainer's guard).
func expNeg(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.33:
		return 0
	}
	const ln2hi, ln2lo = 0.693145751953125, 1.428606765330187045e-06
	t := x*1.4426950408889634 - 0.5 // n = round(x·log2 e), x <= 0
	k := int32(t)                   // truncates toward zero: ceil for t < 0
	if float32(k) != t {
		k--
	}
	k++
	n := float32(k)
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// f32Pool recycles per-block scratch buffers.
var f32Pool sync.Pool

func getF32(n int) *[]float32 {
	if p, ok := f32Pool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// softmaxRows normalises each row of p (rows of n) over its visible keys,
// zeroes the masked ones, and stores each row's log-sum-exp in lse when
// lse is not nil.
func softmaxRows(p []float32, i0, i1, n int, d sdpaDims, causal bool, lse []float32) {
	for i := i0; i < i1; i++ {
		row := p[(i-i0)*n : (i-i0+1)*n]
		vis := min(d.visible(i, causal), n)
		m := maxVec(row[:vis])
		s := expSubSum(row[:vis], row[:vis], m)
		scaleVec(row[:vis], float32(1/s))
		clear(row[vis:])
		if lse != nil {
			lse[i] = m + float32(math.Log(s))
		}
	}
}

// heads is a (B, H, L, D) float32 array read or written in place: row i of
// head (b, h) starts at off + b·s0 + h·s1 + i·ld and its D elements are
// adjacent, so the transposed (B, L, H, D) projections of a model need no
// copy.
type heads struct {
	data        []float32
	off, s0, s1 int
	ld          int
}

// at returns the data from row i of head (b, h).
func (t heads) at(b, h, i int) []float32 { return t.data[t.off+b*t.s0+h*t.s1+i*t.ld:] }

// packedHeads lays out (B, H, L, D) head after head.
func packedHeads(x []float32, H, L, D int) heads {
	return heads{data: x, s0: H * L * D, s1: L * D, ld: D}
}

// attnForward writes softmax(scale·q·kᵀ + mask)·v into o, all packed head
// after head.
func attnForward(o, q, k, v []float32, d sdpaDims, scale float32, causal bool) {
	attnForwardHeads(packedHeads(o, d.Hq, d.L, d.Dv), packedHeads(q, d.Hq, d.L, d.D),
		packedHeads(k, d.Hkv, d.S, d.D), packedHeads(v, d.Hkv, d.S, d.Dv), d, scale, causal)
}

// attnForwardHeads is attnForward for any head layouts.
func attnForwardHeads(o, q, k, v heads, d sdpaDims, scale float32, causal bool) {
	rowsPer := attnRows(d.L)
	blocks := (d.L + rowsPer - 1) / rowsPer
	rep := d.Hq / d.Hkv
	blas.Parallel(d.B*d.Hq*blocks, func(t int) {
		bh, blk := t/blocks, t%blocks
		b, h := bh/d.Hq, bh%d.Hq
		i0, i1 := blk*rowsPer, min(d.L, (blk+1)*rowsPer)
		n := max(1, d.visible(i1-1, causal))
		buf := getF32((i1 - i0) * n)
		defer f32Pool.Put(buf)
		p := *buf
		blas.Sgemm(false, true, i1-i0, n, d.D, scale, q.at(b, h, i0), q.ld, k.at(b, h/rep, 0), k.ld, 0, p, n)
		softmaxRows(p, i0, i1, n, d, causal, nil)
		blas.Sgemm(false, false, i1-i0, d.Dv, n, 1, p, n, v.at(b, h/rep, 0), v.ld, 0, o.at(b, h, i0), o.ld)
	})
}

// attnBackward writes the gradients of q, k and v for the cotangent dO of
// the output, all packed head after head. Pass 1, by blocks of query rows:
// P, dP = dO·vᵀ, the row sums δ = rowsum(P∘dP) and dq = dS·k with
// dS = P∘(dP − δ)·scale; it keeps each row's log-sum-exp and δ. Pass 2, by
// blocks of keys of each K/V head: for every query head of the group and
// every row that sees the block, P and dS again from the kept statistics,
// dv += Pᵀ·dO and dk += dSᵀ·q.
func attnBackward(dq, dk, dv, q, k, v, dO []float32, d sdpaDims, scale float32, causal bool) {
	attnBackwardHeads(dq, dk, dv, packedHeads(q, d.Hq, d.L, d.D), packedHeads(k, d.Hkv, d.S, d.D),
		packedHeads(v, d.Hkv, d.S, d.Dv), packedHeads(dO, d.Hq, d.L, d.Dv), d, scale, causal)
}

// attnBackwardHeads is attnBackward for inputs of any head layouts.
func attnBackwardHeads(dq, dk, dv []float32, q, k, v, dO heads, d sdpaDims, scale float32, causal bool) {
	rep := d.Hq / d.Hkv
	lse := make([]float32, d.B*d.Hq*d.L)
	delta := make([]float32, d.B*d.Hq*d.L)
	rowsPer := attnRows(d.L)
	blocks := (d.L + rowsPer - 1) / rowsPer
	blas.Parallel(d.B*d.Hq*blocks, func(t int) {
		bh, blk := t/blocks, t%blocks
		b, h := bh/d.Hq, bh%d.Hq
		i0, i1 := blk*rowsPer, min(d.L, (blk+1)*rowsPer)
		rows := i1 - i0
		n := max(1, d.visible(i1-1, causal))
		buf := getF32(2 * rows * n)
		defer f32Pool.Put(buf)
		p, dp := (*buf)[:rows*n], (*buf)[rows*n:]
		kh, vh := k.at(b, h/rep, 0), v.at(b, h/rep, 0)
		blas.Sgemm(false, true, rows, n, d.D, scale, q.at(b, h, i0), q.ld, kh, k.ld, 0, p, n)
		softmaxRows(p, i0, i1, n, d, causal, lse[bh*d.L:(bh+1)*d.L])
		blas.Sgemm(false, true, rows, n, d.Dv, 1, dO.at(b, h, i0), dO.ld, vh, v.ld, 0, dp, n)
		for r := 0; r < rows; r++ {
			pr, dr := p[r*n:(r+1)*n], dp[r*n:(r+1)*n]
			dot := dotVec(pr, dr)
			delta[bh*d.L+i0+r] = dot
			softmaxGradRow(dr, pr, dot, scale)
		}
		blas.Sgemm(false, false, rows, d.D, n, 1, dp, n, kh, k.ld, 0, dq[(bh*d.L+i0)*d.D:], d.D)
	})
	kblocks := (d.S + attnKeys - 1) / attnKeys
	blas.Parallel(d.B*d.Hkv*kblocks, func(t int) {
		g, blk := t/kblocks, t%kblocks
		b, hk := g/d.Hkv, g%d.Hkv
		j0, j1 := blk*attnKeys, min(d.S, (blk+1)*attnKeys)
		cols := j1 - j0
		// Rows that see key j0: all, or with a causal mask those with
		// i + S - L >= j0.
		iStart := 0
		if causal {
			iStart = max(0, j0-d.S+d.L)
		}
		rows := d.L - iStart
		dkg, dvg := dk[(g*d.S+j0)*d.D:(g*d.S+j1)*d.D], dv[(g*d.S+j0)*d.Dv:(g*d.S+j1)*d.Dv]
		clear(dkg)
		clear(dvg)
		if rows <= 0 {
			return
		}
		buf := getF32(2 * rows * cols)
		defer f32Pool.Put(buf)
		p, dp := (*buf)[:rows*cols], (*buf)[rows*cols:]
		kb, vb := k.at(b, hk, j0), v.at(b, hk, j0)
		for hh := 0; hh < rep; hh++ {
			h := hk*rep + hh
			bh := b*d.Hq + h
			qh, doh := q.at(b, h, iStart), dO.at(b, h, iStart)
			blas.Sgemm(false, true, rows, cols, d.D, scale, qh, q.ld, kb, k.ld, 0, p, cols)
			blas.Sgemm(false, true, rows, cols, d.Dv, 1, doh, dO.ld, vb, v.ld, 0, dp, cols)
			for r := 0; r < rows; r++ {
				i := iStart + r
				vis := min(max(d.visible(i, causal)-j0, 0), cols) // keys of this block row i sees
				pr, dr := p[r*cols:(r+1)*cols], dp[r*cols:(r+1)*cols]
				expGradRow(pr[:vis], dr[:vis], lse[bh*d.L+i], delta[bh*d.L+i], scale)
				clear(pr[vis:])
				clear(dr[vis:])
			}
			blas.Sgemm(true, false, cols, d.Dv, rows, 1, p, cols, doh, dO.ld, 1, dvg, d.Dv)
			blas.Sgemm(true, false, cols, d.D, rows, 1, dp, cols, qh, q.ld, 1, dkg, d.D)
		}
	})
}
