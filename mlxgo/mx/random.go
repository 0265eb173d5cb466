package mx

import (
	"math"
	"math/bits"
	"sync"
)

// threefry2x32 is the 20-round Threefry-2x32 block cipher used as a counter-based
// generator: the same key and counter always give the same bits.
func threefry2x32(k0, k1, x0, x1 uint32) (uint32, uint32) {
	rot := [8]int{13, 15, 26, 6, 17, 29, 16, 24}
	ks := [3]uint32{k0, k1, 0x1BD11BDA ^ k0 ^ k1}
	x0 += ks[0]
	x1 += ks[1]
	for r := 0; r < 5; r++ {
		for j := 0; j < 4; j++ {
			x0 += x1
			x1 = bits.RotateLeft32(x1, rot[(r%2)*4+j])
			x1 ^= x0
		}
		x0 += ks[(r+1)%3]
		x1 += ks[(r+2)%3] + uint32(r+1)
	}
	return x0, x1
}

// randPrim fills its output from a key (input 0) with a per-element generator.
type randPrim struct {
	name string
	gen  func(out *Array, k0, k1 uint32)
}

func (p randPrim) Name() string { return p.name }
func (p randPrim) Eval(in []*Array, out *Array) {
	k := ints(in[0])
	p.gen(out, uint32(k[0]), uint32(k[1]))
}
func (randPrim) VJP(in []*Array, _, _ *Array) []*Array { return make([]*Array, len(in)) }

// randomBits returns n pseudo-random words for key (k0, k1).
func randomBits(k0, k1 uint32, n int) []uint32 {
	out := make([]uint32, n)
	half := (n + 1) / 2
	for i := 0; i < half; i++ {
		a, b := threefry2x32(k0, k1, 0, uint32(i))
		out[i] = a
		if i+half < n {
			out[i+half] = b
		}
	}
	return out
}

var (
	globalMu  sync.Mutex
	globalKey = [2]uint32{0, 0}
)

// Seed resets the global key sequence used when no key is given.
func Seed(seed uint64) {
	globalMu.Lock()
	globalKey = [2]uint32{uint32(seed >> 32), uint32(seed)}
	globalMu.Unlock()
}

// nextKey splits the global key, returning a fresh subkey.
func nextKey() *Array {
	globalMu.Lock()
	defer globalMu.Unlock()
	a, b := threefry2x32(globalKey[0], globalKey[1], 0, 0)
	c, d := threefry2x32(globalKey[0], globalKey[1], 0, 1)
	globalKey = [2]uint32{a, b}
	return FromSlice([]uint32{c, d})
}

// GlobalKey returns the current state of the global key sequence (for checkpoints).
func GlobalKey() [2]uint32 { globalMu.Lock(); defer globalMu.Unlock(); return globalKey }

// SetGlobalKey restores a state returned by GlobalKey.
func SetGlobalKey(k [2]uint32) { globalMu.Lock(); globalKey = k; globalMu.Unlock() }

// Key returns a PRNG key (a uint32 array of shape [2]) for seed.
func Key(seed uint64) *Array { return FromSlice([]uint32{uint32(seed >> 32), uint32(seed)}) }

func keyOrNext(key *Array) *Array {
	if key == nil {
		return nextKey()
	}
	if key.Size() != 2 {
		panicf("random", "a key must have 2 elements, got shape %v", key.shape)
	}
	return key
}

// SplitKey splits key into num new keys, shape [num, 2].
func SplitKey(key *Array, num int) *Array {
	key = keyOrNext(key)
	return newArray([]int{num, 2}, Uint32, randPrim{"Split", func(out *Array, k0, k1 uint32) {
		o, commit := outInts(out)
		for i := 0; i < num; i++ {
			a, b := threefry2x32(k0, k1, 0, uint32(i))
			o[2*i], o[2*i+1] = int64(a), int64(b)
		}
		commit()
	}}, key)
}

// Bits returns uniformly random uint32 words.
func Bits(shape []int, key *Array) *Array {
	key = keyOrNext(key)
	return newArray(checkShape("Bits", shape), Uint32, randPrim{"Bits", func(out *Array, k0, k1 uint32) {
		o, commit := outInts(out)
		for i, b := range randomBits(k0, k1, len(o)) {
			o[i] = int64(b)
		}
		commit()
	}}, key)
}

func unitFloat(b uint32) float32 { return float32(b>>8) / (1 << 24) } // [0, 1)

func floatRand(name string, shape []int, dt Dtype, key *Array, f func(u []uint32, o []float32)) *Array {
	key = keyOrNext(key)
	if !dt.IsFloat() {
		panicf(name, "needs a floating-point dtype, got %s", dt)
	}
	return newArray(checkShape(name, shape), dt, randPrim{name, func(out *Array, k0, k1 uint32) {
		o, commit := outFloats(out)
		f(randomBits(k0, k1, len(o)), o)
		commit()
	}}, key)
}

// Uniform returns values uniform in [low, high). A nil key draws from the global sequence.
func Uniform(low, high float64, shape []int, dt Dtype, key *Array) *Array {
	return floatRand("Uniform", shape, dt, key, func(u []uint32, o []float32) {
		for i, b := range u {
			v := float32(low + (high-low)*float64(unitFloat(b)))
			if v >= float32(high) {
				v = math.Nextafter32(float32(high), float32(low))
			}
			o[i] = v
		}
	})
}

// Normal returns normally distributed values with the given mean and standard deviation.
func Normal(shape []int, mean, std float64, dt Dtype, key *Array) *Array {
	return floatRand("Normal", shape, dt, key, func(u []uint32, o []float32) {
		for i, b := range u {
			x := 2*(float64(b>>8)+0.5)/(1<<24) - 1 // open interval (-1, 1)
			o[i] = float32(mean + std*math.Sqrt2*math.Erfinv(x))
		}
	})
}

// TruncatedNormal returns standard normal values restricted to [lower, upper].
func TruncatedNormal(lower, upper float64, shape []int, dt Dtype, key *Array) *Array {
	cdf := func(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
	lo, hi := cdf(lower), cdf(upper)
	return floatRand("TruncatedNormal", shape, dt, key, func(u []uint32, o []float32) {
		for i, b := range u {
			p := lo + (hi-lo)*(float64(b>>8)+0.5)/(1<<24)
			v := math.Sqrt2 * math.Erfinv(2*p-1)
			o[i] = float32(math.Min(math.Max(v, lower), upper))
		}
	})
}

// Bernoulli returns true with probability p.
func Bernoulli(p float64, shape []int, key *Array) *Array {
	return Less(Uniform(0, 1, shape, Float32, key), p)
}

// RandInt returns int32 values uniform in [low, high).
func RandInt(low, high int, shape []int, key *Array) *Array {
	if high <= low {
		panicf("RandInt", "empty range [%d, %d)", low, high)
	}
	key = keyOrNext(key)
	span := uint64(high - low)
	return newArray(checkShape("RandInt", shape), Int32, randPrim{"RandInt", func(out *Array, k0, k1 uint32) {
		o, commit := outInts(out)
		for i, b := range randomBits(k0, k1, len(o)) {
			o[i] = int64(low) + int64(uint64(b)*span>>32)
		}
		commit()
	}}, key)
}

// Categorical samples indices along axis from the unnormalised log-probabilities logits
// (the Gumbel-max trick).
func Categorical(logits *Array, axis int, key *Array) *Array {
	u := Uniform(1e-20, 1, logits.shape, Float32, key)
	gumbel := Negative(Log(Negative(Log(u))))
	return ArgMax(Add(StopGradient(logits), gumbel), axis, false)
}
