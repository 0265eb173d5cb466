package cpu

import "math"

// Vector kernels over float32 slices: exponentials and the functions built on them
// (sigmoid, SiLU and its gradient, softmax and log-sum-exp rows, the softmax rows of
// attention), plus the max, scale and dot product those need. On amd64 with AVX2 and
// FMA they run in assembly 8 floats at a time (vecmath_amd64.s); elsewhere, and as the
// reference the assembly is tested against, they are the loops below over expf.
//
// The softmax-family kernels (expSubSum, sumExpSub, expGradRow) flush exponentials of
// arguments below -87.33 to 0, as expNeg does, so no subnormal probabilities reach the
// matrix products that follow.

func expVecGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = expf(v)
	}
}

func sigmoidVecGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}

func siluVecGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = v * sigmoid32(v)
	}
}

func siluGradVecGo(dst, x, g []float32) {
	for i, v := range x {
		s := sigmoid32(v)
		dst[i] = g[i] * s * (1 + v*(1-s))
	}
}

func swigluGradVecGo(dgate, dup, gate, up, g []float32) {
	for i, x := range gate {
		s := sigmoid32(x)
		t := g[i] * up[i]
		dgate[i] = t * s * (1 + x*(1-s))
		dup[i] = g[i] * (x * s)
	}
}

func expSubSumGo(dst, src []float32, m float32) float64 {
	var s float64
	for i, v := range src {
		e := expNeg(v - m)
		dst[i] = e
		s += float64(e)
	}
	return s
}

func sumExpSubGo(src []float32, m float32) float64 {
	var s float64
	for _, v := range src {
		s += float64(expNeg(v - m))
	}
	return s
}

func expGradRowGo(p, dp []float32, l, dl, scale float32) {
	for j, v := range p {
		e := expNeg(min(v-l, 0))
		p[j] = e
		dp[j] = e * (dp[j] - dl) * scale
	}
}

func maxVecGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v != v {
			return v
		}
		m = max(m, v)
	}
	return m
}

func scaleVecGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func dotVecGo(x, y []float32) float32 {
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func softmaxGradRowGo(dp, p []float32, dot, scale float32) {
	for j, v := range p {
		dp[j] = v * (dp[j] - dot) * scale
	}
}
