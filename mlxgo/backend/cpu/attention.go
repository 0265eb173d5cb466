package cpu

import (
	"math"
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
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

// attnChunk is the number of query rows the backward pass takes at a time, so
// that a block's scores and their gradients (2 × 512 × 64 floats) stay in the
// second-level cache.
const attnChunk = 512

// attnTransposeMinRows is the fewest query rows per K/V head (L times the
// group's query heads) for which the forward pass lays kᵀ out first: that
// costs a pass over K, which a decoding step (L = 1) against a long cache
// would pay for one row.
const attnTransposeMinRows = 64

// keysT lays out each K/V head of x (S rows of n floats) transposed and times
// s, in pool memory: head g is the n × ld matrix at g·n·ld, zeros past S, with
// ld = S rounded up to a multiple of 64, plus 16 so that rows a power of two
// apart do not share the same cache sets. With kᵀ and vᵀ stored so, every
// product of attention has a row-major op(B) and a width that is a multiple
// of 64 (a head, or a block of 64 keys), which blas.Sgemm runs on its own
// kernel where it has one.
func keysT(x heads, d sdpaDims, n int, s float32) (buf *Buffer, t []float32, ld int) {
	ld = (d.S+attnKeys-1)/attnKeys*attnKeys + 16
	buf = Alloc(4 * d.B * d.Hkv * n * ld)
	t = viewAs[float32](buf.bytes)
	blas.Parallel(d.B*d.Hkv, func(g int) {
		dst := t[g*n*ld : (g+1)*n*ld]
		j0 := 0
		// 64 keys at a time through a 64×64 block transposed on the
		// kernels' assembly where a head is 64 wide (a tenth of the loops'
		// time), then copied into place row by row.
		if n == 64 && x.ld >= n {
			var blk [64 * 64]float32
			for ; j0+64 <= d.S; j0 += 64 {
				blas.Transpose64(blk[:], x.at(g/d.Hkv, g%d.Hkv, j0), x.ld, n)
				for c := 0; c < n; c++ {
					out := dst[c*ld+j0 : c*ld+j0+64]
					copy(out, blk[c*64:(c+1)*64])
					if s != 1 {
						scaleVec(out, s)
					}
				}
			}
		}
		// 16 keys at a time, so that each row of dst is written a cache line
		// at a time (a key at a time, every store went to another line).
		var rows [16][]float32
		for ; j0 < d.S; j0 += 16 {
			keys := rows[:min(16, d.S-j0)]
			for i := range keys {
				keys[i] = x.at(g/d.Hkv, g%d.Hkv, j0+i)[:n]
			}
			for c := 0; c < n; c++ {
				out := dst[c*ld+j0 : c*ld+j0+len(keys)]
				for i, row := range keys {
					out[i] = row[c] * s
				}
			}
		}
		for c := 0; c < n; c++ {
			clear(dst[c*ld+d.S : (c+1)*ld])
		}
	})
	return buf, t, ld
}

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
// after head, and each row's log-sum-exp into lse (B·Hq·L values) unless it is nil.
func attnForward(o, lse, q, k, v []float32, d sdpaDims, scale float32, causal bool) {
	attnForwardHeads(packedHeads(o, d.Hq, d.L, d.Dv), lse, packedHeads(q, d.Hq, d.L, d.D),
		packedHeads(k, d.Hkv, d.S, d.D), packedHeads(v, d.Hkv, d.S, d.Dv), d, scale, causal)
}

// attnForwardHeads is attnForward for any head layouts.
func attnForwardHeads(o heads, lse []float32, q, k, v heads, d sdpaDims, scale float32, causal bool) {
	rowsPer := attnRows(d.L)
	blocks := (d.L + rowsPer - 1) / rowsPer
	rep := d.Hq / d.Hkv
	// kᵀ is laid out once when enough query rows share each K/V head to pay
	// for it; a few rows (a decoding step against a long cache) read k as is.
	var kt []float32
	var ldk int
	if d.L*rep >= attnTransposeMinRows {
		var kbuf *Buffer
		kbuf, kt, ldk = keysT(k, d, d.D, scale)
		defer kbuf.Release()
	}
	blas.Parallel(d.B*d.Hq*blocks, func(t int) {
		bh, blk := t/blocks, t%blocks
		b, h := bh/d.Hq, bh%d.Hq
		g := b*d.Hkv + h/rep
		i0, i1 := blk*rowsPer, min(d.L, (blk+1)*rowsPer)
		rows := i1 - i0
		n := max(1, d.visible(i1-1, causal))
		ld := n // row length of the scores
		if kt != nil {
			ld = (n + attnKeys - 1) / attnKeys * attnKeys // the keys up to n, in whole blocks
		}
		buf := getF32(rows * ld)
		defer f32Pool.Put(buf)
		p := *buf
		if kt != nil {
			blas.Sgemm(false, false, rows, ld, d.D, 1, q.at(b, h, i0), q.ld, kt[g*d.D*ldk:], ldk, 0, p, ld)
		} else {
			blas.Sgemm(false, true, rows, n, d.D, scale, q.at(b, h, i0), q.ld, k.at(b, h/rep, 0), k.ld, 0, p, n)
		}
		var rowLSE []float32
		if lse != nil {
			rowLSE = lse[bh*d.L : (bh+1)*d.L]
		}
		softmaxRows(p, i0, i1, ld, d, causal, rowLSE)
		blas.Sgemm(false, false, rows, d.Dv, n, 1, p, ld, v.at(b, h/rep, 0), v.ld, 0, o.at(b, h, i0), o.ld)
	})
}

// attnBackward writes the gradients of q, k and v for the cotangent dO of
// the output, all packed head after head. o and lse are the forward pass's
// output and log-sum-exps (attnForward), or nil: then they are recomputed.
func attnBackward(dq, dk, dv, q, k, v, dO, o, lse []float32, d sdpaDims, scale float32, causal bool) {
	var oh *heads
	if o != nil {
		h := packedHeads(o, d.Hq, d.L, d.Dv)
		oh = &h
	}
	attnBackwardHeads(dq, dk, dv, packedHeads(q, d.Hq, d.L, d.D), packedHeads(k, d.Hkv, d.S, d.D),
		packedHeads(v, d.Hkv, d.S, d.Dv), packedHeads(dO, d.Hq, d.L, d.Dv), oh, lse, d, scale, causal)
}

// keyRows returns the first query row that sees key j0 (all rows, or with a
// causal mask those with i + S − L >= j0) and how many rows from there.
func (d sdpaDims) keyRows(j0 int, causal bool) (iStart, rows int) {
	if causal {
		iStart = max(0, j0-d.S+d.L)
	}
	return iStart, d.L - iStart
}

// attnBackwardHeads is attnBackward for inputs of any head layouts. It needs
// each row's log-sum-exp ℓ and δ = rowsum(P∘dP) = dO·O. With the forward's
// output and log-sum-exps given, δ is one dot product per row; otherwise a
// first pass by blocks of query rows forms P = softmax(scale·q·kᵀ) and
// dP = dO·vᵀ to find them. The main pass runs by blocks of keys of each K/V
// head: for every query head of the group and every row that sees the block,
// P = exp(scale·q·kᵀ − ℓ) and dS = P∘(dP − δ)·scale, then dv += Pᵀ·dO,
// dk += dSᵀ·q, and the block's share of dq, dS·k, goes to a buffer of its own
// (the first block's straight into dq); the shares are added in block order
// at the end. Five products per block
// (seven when the first pass runs), and every task writes only its own memory.
func attnBackwardHeads(dq, dk, dv []float32, q, k, v, dO heads, o *heads, lse []float32, d sdpaDims, scale float32, causal bool) {
	rep := d.Hq / d.Hkv
	delta := make([]float32, d.B*d.Hq*d.L)
	if o != nil && lse != nil {
		// A row's heads at a time: in a model's layout, where a row's heads
		// lie side by side, dO and o are then read in memory order (head by
		// head, a cold step read them at a third of the speed).
		const rowsPer = 32
		chunks := (d.L + rowsPer - 1) / rowsPer
		blas.Parallel(d.B*chunks, func(t int) {
			b, c := t/chunks, t%chunks
			for i := c * rowsPer; i < min(d.L, (c+1)*rowsPer); i++ {
				for h := 0; h < d.Hq; h++ {
					delta[(b*d.Hq+h)*d.L+i] = dotVec(dO.at(b, h, i)[:d.Dv], o.at(b, h, i)[:d.Dv])
				}
			}
		})
	} else {
		lse = make([]float32, d.B*d.Hq*d.L)
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
			blas.Sgemm(false, true, rows, n, d.D, scale, q.at(b, h, i0), q.ld, k.at(b, h/rep, 0), k.ld, 0, p, n)
			softmaxRows(p, i0, i1, n, d, causal, lse[bh*d.L:(bh+1)*d.L])
			blas.Sgemm(false, true, rows, n, d.Dv, 1, dO.at(b, h, i0), dO.ld, v.at(b, h/rep, 0), v.ld, 0, dp, n)
			for r := 0; r < rows; r++ {
				delta[bh*d.L+i0+r] = dotVec(p[r*n:(r+1)*n], dp[r*n:(r+1)*n])
			}
		})
	}
	kblocks := (d.S + attnKeys - 1) / attnKeys
	// shareAt[kb] is where block kb's dq shares start within a group's. The
	// first block's share is written straight into dq (the others are added
	// to it in block order at the end): at 4×128, two thirds of the shares.
	shareAt := make([]int, kblocks+1)
	for kb := 1; kb < kblocks; kb++ {
		_, rows := d.keyRows(kb*attnKeys, causal)
		shareAt[kb+1] = shareAt[kb] + rep*max(rows, 0)*d.D
	}
	sharesBuf := Alloc(4 * d.B * d.Hkv * shareAt[kblocks]) // pool memory: reused step after step
	defer sharesBuf.Release()
	shares := viewAs[float32](sharesBuf.bytes)
	kbuf, kt, ldk := keysT(k, d, d.D, scale)
	defer kbuf.Release()
	vbuf, vt, ldv := keysT(v, d, d.Dv, 1)
	defer vbuf.Release()
	blas.Parallel(d.B*d.Hkv*kblocks, func(t int) {
		g, blk := t/kblocks, t%kblocks
		b, hk := g/d.Hkv, g%d.Hkv
		j0, j1 := blk*attnKeys, min(d.S, (blk+1)*attnKeys)
		cols := j1 - j0
		iStart, rows := d.keyRows(j0, causal)
		dkg, dvg := dk[(g*d.S+j0)*d.D:(g*d.S+j1)*d.D], dv[(g*d.S+j0)*d.Dv:(g*d.S+j1)*d.Dv]
		clear(dkg)
		clear(dvg)
		if rows <= 0 {
			return
		}
		share := shares[g*shareAt[kblocks]+shareAt[blk]:]
		const ld = attnKeys // row length of a block's scores (zeros past cols)
		chunk := min(rows, attnChunk)
		buf := getF32(2 * chunk * ld)
		defer f32Pool.Put(buf)
		p, dp := (*buf)[:chunk*ld], (*buf)[chunk*ld:]
		kb := k.at(b, hk, j0)
		ktb, vtb := kt[g*d.D*ldk+j0:], vt[g*d.Dv*ldv+j0:]
		for hh := 0; hh < rep; hh++ {
			h := hk*rep + hh
			bh := b*d.Hq + h
			for r0 := 0; r0 < rows; r0 += chunk {
				n := min(chunk, rows-r0)
				i0 := iStart + r0
				qh, doh := q.at(b, h, i0), dO.at(b, h, i0)
				blas.Sgemm(false, false, n, ld, d.D, 1, qh, q.ld, ktb, ldk, 0, p, ld)
				blas.Sgemm(false, false, n, ld, d.Dv, 1, doh, dO.ld, vtb, ldv, 0, dp, ld)
				for r := 0; r < n; r++ {
					i := i0 + r
					vis := min(max(d.visible(i, causal)-j0, 0), cols) // keys of this block row i sees
					pr, dr := p[r*ld:(r+1)*ld], dp[r*ld:(r+1)*ld]
					expGradRow(pr[:vis], dr[:vis], lse[bh*d.L+i], delta[bh*d.L+i], scale)
					clear(pr[vis:])
					clear(dr[vis:])
				}
				blas.Sgemm(true, false, cols, d.Dv, n, 1, p, ld, doh, dO.ld, 1, dvg, d.Dv) // dv += pᵀ·dO
				blas.Sgemm(true, false, cols, d.D, n, 1, dp, ld, qh, q.ld, 1, dkg, d.D)    // dk += dSᵀ·q
				dst := dq[(bh*d.L+i0)*d.D:]                                                // dq's share: dS·k
				if blk > 0 {
					dst = share[(hh*rows+r0)*d.D:]
				}
				blas.Sgemm(false, false, n, d.D, cols, 1, dp, ld, kb, k.ld, 0, dst, d.D)
			}
		}
	})
	// dq of row i: the shares of the key blocks it sees, in block order.
	blas.Parallel(d.B*d.Hq, func(bh int) {
		b, h := bh/d.Hq, bh%d.Hq
		g, hh := b*d.Hkv+h/rep, h%rep
		out := dq[bh*d.L*d.D : (bh+1)*d.L*d.D]
		// The first block wrote its rows; those before it see no key.
		first := d.L
		if kblocks > 0 {
			if iStart, rows := d.keyRows(0, causal); rows > 0 {
				first = iStart
			}
		}
		clear(out[:first*d.D])
		for kb := 1; kb < kblocks; kb++ {
			iStart, rows := d.keyRows(kb*attnKeys, causal)
			if rows <= 0 {
				continue
			}
			src := shares[g*shareAt[kblocks]+shareAt[kb]+hh*rows*d.D:][:rows*d.D]
			dst := out[iStart*d.D:][:rows*d.D]
			floatVV(backend.Add, dst, dst, src) // on vectors: the same sum, element by element
		}
	})
}
