package cpu

import (
	"math"

	xcpu "golang.org/x/sys/cpu"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// haveVec reports whether the AVX2+FMA kernels of vecmath_amd64.s run; without them
// the loops of vecmath.go do. Where the CPU has AVX-512 the exponential kernels run
// 16 floats at a time instead (vecmath_avx512_amd64.s).
var haveVec = xcpu.X86.HasAVX2 && xcpu.X86.HasFMA

// expBlock is the floats the exponential kernels in use take at a time, and vec512
// whether they are the AVX-512 ones.
var (
	expBlock = 8
	vec512   bool
)

func init() { useAVX512(haveVec && xcpu.X86.HasAVX512F) }

// useAVX512 selects the AVX-512 or the AVX2 kernels.
func useAVX512(on bool) {
	vec512, expBlock = on, 8
	if on {
		expBlock = 16
	}
}

// The exponential kernels in use. They are functions that call the assembly directly,
// not variables holding it: through a function value, the padded blocks on the
// stack that the wrappers below pass them escaped to the heap (an allocation per
// row of attention's softmax, 1–2% of a step's CPU time).

func expK(dst, src *float32, n int) {
	if vec512 {
		expAVX512(dst, src, n)
		return
	}
	expAVX2(dst, src, n)
}

func sigmoidK(dst, src *float32, n int) {
	if vec512 {
		sigmoidAVX512(dst, src, n)
		return
	}
	sigmoidAVX2(dst, src, n)
}

func siluK(dst, src *float32, n int) {
	if vec512 {
		siluAVX512(dst, src, n)
		return
	}
	siluAVX2(dst, src, n)
}

func siluGradK(dst, x, gr *float32, n int) {
	if vec512 {
		siluGradAVX512(dst, x, gr, n)
		return
	}
	siluGradAVX2(dst, x, gr, n)
}

func swigluGradK(dgate, dup, gate, up, gr *float32, n int) {
	if vec512 {
		swigluGradAVX512(dgate, dup, gate, up, gr, n)
		return
	}
	swigluGradAVX2(dgate, dup, gate, up, gr, n)
}

func expSubSumK(dst, src *float32, n int, m float32) float64 {
	if vec512 {
		return expSubSumAVX512(dst, src, n, m)
	}
	return expSubSumAVX2(dst, src, n, m)
}

func sumExpSubK(src *float32, n int, m float32) float64 {
	if vec512 {
		return sumExpSubAVX512(src, n, m)
	}
	return sumExpSubAVX2(src, n, m)
}

func expGK(p, dp *float32, n int, l, dl, scale float32) {
	if vec512 {
		expGradAVX512(p, dp, n, l, dl, scale)
		return
	}
	expGradAVX2(p, dp, n, l, dl, scale)
}

//go:noescape
func expAVX512(dst, src *float32, n int)

//go:noescape
func sigmoidAVX512(dst, src *float32, n int)

//go:noescape
func siluAVX512(dst, src *float32, n int)

//go:noescape
func siluGradAVX512(dst, x, gr *float32, n int)

//go:noescape
func swigluGradAVX512(dgate, dup, gate, up, gr *float32, n int)

//go:noescape
func expSubSumAVX512(dst, src *float32, n int, m float32) float64

//go:noescape
func sumExpSubAVX512(src *float32, n int, m float32) float64

//go:noescape
func expGradAVX512(p, dp *float32, n int, l, dl, scale float32)

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func sigmoidAVX2(dst, src *float32, n int)

//go:noescape
func siluAVX2(dst, src *float32, n int)

//go:noescape
func siluGradAVX2(dst, x, gr *float32, n int)

//go:noescape
func swigluGradAVX2(dgate, dup, gate, up, gr *float32, n int)

//go:noescape
func expSubSumAVX2(dst, src *float32, n int, m float32) float64

//go:noescape
func sumExpSubAVX2(src *float32, n int, m float32) float64

//go:noescape
func expGradAVX2(p, dp *float32, n int, l, dl, scale float32)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func softmaxGradAVX2(dp, p *float32, n int, dot, scale float32)

// The assembly takes whole blocks (of expBlock floats for the exponential kernels, 8
// for the others); each wrapper runs the rest of a slice through one block padded
// with a neutral value.

// The unary exponential kernels unaryVec runs.
const (
	kindExp = iota
	kindSigmoid
	kindSilu
)

// unaryVec runs the kernel of kind over the blocks of src and a padded copy of its tail.
func unaryVec(kind int, dst, src []float32) {
	k := func(dst, src *float32, n int) {
		switch kind {
		case kindExp:
			expK(dst, src, n)
		case kindSigmoid:
			sigmoidK(dst, src, n)
		default:
			siluK(dst, src, n)
		}
	}
	n := len(src) / expBlock * expBlock
	if n > 0 {
		k(&dst[0], &src[0], n)
	}
	if r := len(src) - n; r > 0 {
		var t [16]float32
		copy(t[:], src[n:])
		k(&t[0], &t[0], expBlock)
		copy(dst[n:], t[:r])
	}
}

func expVec(dst, src []float32) {
	if !haveVec {
		expVecGo(dst, src)
		return
	}
	unaryVec(kindExp, dst[:len(src)], src)
}

func sigmoidVec(dst, src []float32) {
	if !haveVec {
		sigmoidVecGo(dst, src)
		return
	}
	unaryVec(kindSigmoid, dst[:len(src)], src)
}

func siluVec(dst, src []float32) {
	if !haveVec {
		siluVecGo(dst, src)
		return
	}
	unaryVec(kindSilu, dst[:len(src)], src)
}

func siluGradVec(dst, x, g []float32) {
	if !haveVec {
		siluGradVecGo(dst, x, g)
		return
	}
	dst, g = dst[:len(x)], g[:len(x)]
	n := len(x) / expBlock * expBlock
	if n > 0 {
		siluGradK(&dst[0], &x[0], &g[0], n)
	}
	if r := len(x) - n; r > 0 {
		var tx, tg [16]float32
		copy(tx[:], x[n:])
		copy(tg[:], g[n:])
		siluGradK(&tx[0], &tx[0], &tg[0], expBlock)
		copy(dst[n:], tx[:r])
	}
}

// swigluGradVec sets dgate and dup to the gradients of silu(gate)·up for the
// cotangent g, computing each sigmoid once.
func swigluGradVec(dgate, dup, gate, up, g []float32) {
	if !haveVec {
		swigluGradVecGo(dgate, dup, gate, up, g)
		return
	}
	n := len(gate)
	dgate, dup, up, g = dgate[:n], dup[:n], up[:n], g[:n]
	k := n / expBlock * expBlock
	if k > 0 {
		swigluGradK(&dgate[0], &dup[0], &gate[0], &up[0], &g[0], k)
	}
	if r := n - k; r > 0 {
		var tx, tu, tg, td, tp [16]float32
		copy(tx[:], gate[k:])
		copy(tu[:], up[k:])
		copy(tg[:], g[k:])
		swigluGradK(&td[0], &tp[0], &tx[0], &tu[0], &tg[0], expBlock)
		copy(dgate[k:], td[:r])
		copy(dup[k:], tp[:r])
	}
}

// expSubSum sets dst = exp(src − m) and returns its sum; dst may be src.
func expSubSum(dst, src []float32, m float32) float64 {
	if !haveVec {
		return expSubSumGo(dst, src, m)
	}
	dst = dst[:len(src)]
	n := len(src) / expBlock * expBlock
	var s float64
	if n > 0 {
		s = expSubSumK(&dst[0], &src[0], n, m)
	}
	if r := len(src) - n; r > 0 {
		t := negInf16()
		copy(t[:], src[n:])
		s += expSubSumK(&t[0], &t[0], expBlock, m)
		copy(dst[n:], t[:r])
	}
	return s
}

// sumExpSub returns Σ exp(src − m).
func sumExpSub(src []float32, m float32) float64 {
	if !haveVec {
		return sumExpSubGo(src, m)
	}
	n := len(src) / expBlock * expBlock
	var s float64
	if n > 0 {
		s = sumExpSubK(&src[0], n, m)
	}
	if r := len(src) - n; r > 0 {
		t := negInf16()
		copy(t[:], src[n:])
		s += sumExpSubK(&t[0], expBlock, m)
	}
	return s
}

// expGradRow sets, for each j, e = exp(min(p[j] − l, 0)), p[j] = e and
// dp[j] = e·(dp[j] − dl)·scale: attention's probabilities from a kept log-sum-exp l
// and the scores' gradient from the kept row sum dl.
func expGradRow(p, dp []float32, l, dl, scale float32) {
	if !haveVec {
		expGradRowGo(p, dp, l, dl, scale)
		return
	}
	dp = dp[:len(p)]
	n := len(p) / expBlock * expBlock
	if n > 0 {
		expGK(&p[0], &dp[0], n, l, dl, scale)
	}
	if r := len(p) - n; r > 0 {
		var tp, td [16]float32
		copy(tp[:], p[n:])
		copy(td[:], dp[n:])
		expGK(&tp[0], &td[0], expBlock, l, dl, scale)
		copy(p[n:], tp[:r])
		copy(dp[n:], td[:r])
	}
}

// maxVec returns the largest element of x, NaN when one is NaN, -Inf when x is empty.
func maxVec(x []float32) float32 {
	if !haveVec {
		return maxVecGo(x)
	}
	n := len(x) &^ 7
	m := float32(math.Inf(-1))
	if n > 0 {
		m = maxAVX2(&x[0], n)
	}
	if m != m {
		return m
	}
	return max(m, maxVecGo(x[n:]))
}

func scaleVec(x []float32, s float32) {
	if !haveVec {
		scaleVecGo(x, s)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		scaleAVX2(&x[0], n, s)
	}
	scaleVecGo(x[n:], s)
}

func dotVec(x, y []float32) float32 {
	if !haveVec {
		return dotVecGo(x, y)
	}
	y = y[:len(x)]
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = dotAVX2(&x[0], &y[0], n)
	}
	return s + dotVecGo(x[n:], y[n:])
}

// softmaxGradRow sets dp = p·(dp − dot)·scale.
func softmaxGradRow(dp, p []float32, dot, scale float32) {
	if !haveVec {
		softmaxGradRowGo(dp, p, dot, scale)
		return
	}
	p = p[:len(dp)]
	n := len(dp) &^ 7
	if n > 0 {
		softmaxGradAVX2(&dp[0], &p[0], n, dot, scale)
	}
	softmaxGradRowGo(dp[n:], p[n:], dot, scale)
}

// binaryKernels returns the vector kernels of Add, Subtract or Multiply, by
// an array and by a scalar; nil for other kinds or without AVX2.
func binaryKernels(k backend.BinaryKind) (vv func(dst, x, y *float32, n int), vs func(dst, x *float32, n int, s float32)) {
	if !haveVec {
		return nil, nil
	}
	switch k {
	case backend.Add:
		return addAVX2, addSAVX2
	case backend.Subtract:
		return subAVX2, subSAVX2
	case backend.Multiply:
		return mulAVX2, mulSAVX2
	}
	return nil, nil
}

// binaryVec sets o = x + y, x − y or x · y (k Add, Subtract or Multiply) on
// vectors, and reports whether it did (false for other kinds, or without
// AVX2). Each element is the one float32 operation, as in the loops.
func binaryVec(k backend.BinaryKind, o, x, y []float32) bool {
	f, _ := binaryKernels(k)
	if f == nil {
		return false
	}
	x, y = x[:len(o)], y[:len(o)]
	n := len(o) &^ 7
	if n > 0 {
		f(&o[0], &x[0], &y[0], n)
	}
	for i := n; i < len(o); i++ {
		o[i] = applyF(k, x[i], y[i])
	}
	return true
}

// binaryScalarVec sets o = x + s, x − s or x · s on vectors, as binaryVec.
func binaryScalarVec(k backend.BinaryKind, o, x []float32, s float32) bool {
	_, f := binaryKernels(k)
	if f == nil {
		return false
	}
	x = x[:len(o)]
	n := len(o) &^ 7
	if n > 0 {
		f(&o[0], &x[0], n, s)
	}
	for i := n; i < len(o); i++ {
		o[i] = applyF(k, x[i], s)
	}
	return true
}

//go:noescape
func addSAVX2(dst, x *float32, n int, s float32)

//go:noescape
func subSAVX2(dst, x *float32, n int, s float32)

//go:noescape
func mulSAVX2(dst, x *float32, n int, s float32)

//go:noescape
func addAVX2(dst, x, y *float32, n int)

//go:noescape
func subAVX2(dst, x, y *float32, n int)

//go:noescape
func mulAVX2(dst, x, y *float32, n int)

func negInf16() (t [16]float32) {
	for i := range t {
		t[i] = float32(math.Inf(-1))
	}
	return t
}

//go:noescape
func ropeAVX2(o1, o2, x1, x2, c, s *float32, n int)

// ropeVec sets o1 = x1·c − x2·s and o2 = x1·s + x2·c (all of len(c)), on
// vectors where the CPU has AVX2, bit for bit the loop's result.
func ropeVec(o1, o2, x1, x2, c, s []float32) {
	o1, o2, x1, x2, s = o1[:len(c)], o2[:len(c)], x1[:len(c)], x2[:len(c)], s[:len(c)]
	n := 0
	if haveVec {
		n = len(c) &^ 7
		if n > 0 {
			ropeAVX2(&o1[0], &o2[0], &x1[0], &x2[0], &c[0], &s[0], n)
		}
	}
	ropeVecGo(o1[n:], o2[n:], x1[n:], x2[n:], c[n:], s[n:])
}
