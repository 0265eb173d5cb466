package cpu

import "math"

// expf returns e**x in float32 with a relative error below 2 ulp: x = n·ln2 + r with
// |r| <= ln2/2, a degree-6 polynomial for e**r, and 2**n put straight into the exponent.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const ln2hi, ln2lo = 0.693145751953125, 1.428606765330187045e-06
	n := float32(math.Floor(float64(x*1.4426950408889634 + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	k := int32(n)
	if k > 127 {
		return p * 2 * math.Float32frombits(uint32(k-1+127)<<23)
	}
	if k < -126 {
		return p * math.Float32frombits(uint32(k+127+64)<<23) * math.Float32frombits(uint32(127-64)<<23)
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}
