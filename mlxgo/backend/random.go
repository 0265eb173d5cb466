package backend

import "math/bits"

// Threefry2x32 is the 20-round Threefry-2x32 block cipher that mlxgo's random numbers
// come from (as MLX's): the same key (k0, k1) and counter (x0, x1) always give the same
// two words, on every backend.
func Threefry2x32(k0, k1, x0, x1 uint32) (uint32, uint32) {
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

// RandomBitsFor returns the n words RandomBits draws for key (k0, k1): word i and word
// i+⌈n/2⌉ are the two outputs of Threefry2x32(k0, k1, 0, i).
func RandomBitsFor(k0, k1 uint32, n int) []uint32 {
	out := make([]uint32, n)
	half := (n + 1) / 2
	for i := 0; i < half; i++ {
		a, b := Threefry2x32(k0, k1, 0, uint32(i))
		out[i] = a
		if i+half < n {
			out[i+half] = b
		}
	}
	return out
}
