package cpu

import (
	"math"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

func init() {
	Register(randomSplit)
	Register(randomBits)
	Register(randomUniform)
	Register(randomNormal)
	Register(randomTruncatedNormal)
	Register(randomInt)
}

// key returns the two words of the key input.
func key(in []*node) (uint32, uint32) {
	k := ints(in[0])
	return uint32(k[0]), uint32(k[1])
}

func randomSplit(_ backend.RandomSplit, in []*node, out *node) {
	k0, k1 := key(in)
	o, commit := outInts(out)
	for i := 0; i < out.Shape[0]; i++ {
		a, b := backend.Threefry2x32(k0, k1, 0, uint32(i))
		o[2*i], o[2*i+1] = int64(a), int64(b)
	}
	commit()
}

func randomBits(_ backend.RandomBits, in []*node, out *node) {
	k0, k1 := key(in)
	o, commit := outInts(out)
	for i, b := range backend.RandomBitsFor(k0, k1, len(o)) {
		o[i] = int64(b)
	}
	commit()
}

// floatRand fills a float output from the key's bits with f.
func floatRand(in []*node, out *node, f func(u []uint32, o []float32)) {
	k0, k1 := key(in)
	o, commit := outFloats(out)
	f(backend.RandomBitsFor(k0, k1, len(o)), o)
	commit()
}

func unitFloat(b uint32) float32 { return float32(b>>8) / (1 << 24) } // [0, 1)

func randomUniform(p backend.RandomUniform, in []*node, out *node) {
	floatRand(in, out, func(u []uint32, o []float32) {
		for i, b := range u {
			v := float32(p.Low + (p.High-p.Low)*float64(unitFloat(b)))
			if v >= float32(p.High) {
				v = math.Nextafter32(float32(p.High), float32(p.Low))
			}
			o[i] = v
		}
	})
}

func randomNormal(p backend.RandomNormal, in []*node, out *node) {
	floatRand(in, out, func(u []uint32, o []float32) {
		for i, b := range u {
			x := 2*(float64(b>>8)+0.5)/(1<<24) - 1 // open interval (-1, 1)
			o[i] = float32(p.Mean + p.Std*math.Sqrt2*math.Erfinv(x))
		}
	})
}

func randomTruncatedNormal(p backend.RandomTruncatedNormal, in []*node, out *node) {
	cdf := func(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
	lo, hi := cdf(p.Lower), cdf(p.Upper)
	floatRand(in, out, func(u []uint32, o []float32) {
		for i, b := range u {
			q := lo + (hi-lo)*(float64(b>>8)+0.5)/(1<<24)
			v := math.Sqrt2 * math.Erfinv(2*q-1)
			o[i] = float32(math.Min(math.Max(v, p.Lower), p.Upper))
		}
	})
}

func randomInt(p backend.RandomInt, in []*node, out *node) {
	k0, k1 := key(in)
	span := uint64(p.High - p.Low)
	o, commit := outInts(out)
	for i, b := range backend.RandomBitsFor(k0, k1, len(o)) {
		o[i] = int64(p.Low) + int64(uint64(b)*span>>32)
	}
	commit()
}
