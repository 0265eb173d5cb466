package half

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// refF16Value is an independent float64 decoding of a non-negative binary16
// bit pattern without the sign bit. 0x7c00 decodes to 65536 (2^16), the
// value an unbounded exponent would give; the rounding reference relies on
// that to decide overflow.
func refF16Value(h uint16) float64 {
	e := int(h >> 10)
	m := float64(h & 0x3ff)
	if e == 0 {
		return math.Ldexp(m, -24)
	}
	return math.Ldexp(1024+m, e-25)
}

// refF32ToF16 rounds f to binary16 by searching the sorted list of
// binary16 magnitudes in float64, ties to the even bit pattern.
func refF32ToF16(f float32) uint16 {
	x := float64(f)
	var sign uint16
	if math.Signbit(x) {
		sign = 0x8000
		x = -x
	}
	if math.IsInf(x, 0) {
		return sign | 0x7c00
	}
	// Largest h in [0, 0x7c00] with value(h) <= x.
	lo := sort.Search(0x7c01, func(h int) bool { return refF16Value(uint16(h)) > x }) - 1
	if lo >= 0x7c00 {
		return sign | 0x7c00
	}
	hi := lo + 1
	dl := x - refF16Value(uint16(lo))
	dh := refF16Value(uint16(hi)) - x
	r := lo
	if dh < dl || (dh == dl && hi&1 == 0) {
		r = hi
	}
	return sign | uint16(r)
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToF32(h)
		mag := h & 0x7fff
		neg := h&0x8000 != 0
		switch {
		case mag > 0x7c00:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("F16ToF32(%#04x) = %v, want NaN", h, got)
			}
			if math.Signbit(float64(got)) != neg {
				t.Fatalf("F16ToF32(%#04x): NaN sign lost", h)
			}
		case mag == 0x7c00:
			if !math.IsInf(float64(got), map[bool]int{true: -1, false: 1}[neg]) {
				t.Fatalf("F16ToF32(%#04x) = %v, want inf", h, got)
			}
		default:
			want := refF16Value(mag)
			if neg {
				want = -want
			}
			if float64(got) != want || math.Signbit(float64(got)) != neg {
				t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
			}
		}
	}
}

func TestF16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		// Bit level: exact for every pattern, NaN payloads included.
		if got := f32BitsToF16(f16ToF32Bits(h)); got != h {
			t.Fatalf("bits round trip %#04x -> %#04x", h, got)
		}
		got := F32ToF16(F16ToF32(h))
		if h&0x7fff > 0x7c00 {
			if got&0x7fff <= 0x7c00 || got&0x8000 != h&0x8000 {
				t.Fatalf("round trip of NaN %#04x gave %#04x", h, got)
			}
			continue
		}
		if got != h {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, F16ToF32(h), got)
		}
	}
}

func TestBF16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) bits %#08x", h, math.Float32bits(f))
		}
		got := F32ToBF16(f)
		if h&0x7fff > 0x7f80 {
			if got&0x7fff <= 0x7f80 || got&0x8000 != h&0x8000 {
				t.Fatalf("round trip of NaN %#04x gave %#04x", h, got)
			}
			continue
		}
		if got != h {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f, got)
		}
	}
}

// f16EdgeValues returns float32 inputs that stress rounding: every exact
// midpoint between adjacent binary16 magnitudes (these need 12 significant
// bits, so they are exact in float32), the float32 neighbours of each
// midpoint and of each binary16 value, and special values.
func f16EdgeValues() []float32 {
	var vs []float32
	for h := uint16(0); h < 0x7c00; h++ {
		v := refF16Value(h)
		mid := float32((v + refF16Value(h+1)) / 2)
		if float64(mid) != (v+refF16Value(h+1))/2 {
			panic("midpoint not exact")
		}
		for _, x := range []float32{
			float32(v), mid,
			math.Nextafter32(mid, 0), math.Nextafter32(mid, math.MaxFloat32),
			math.Nextafter32(float32(v), 0), math.Nextafter32(float32(v), math.MaxFloat32),
		} {
			vs = append(vs, x, -x)
		}
	}
	vs = append(vs,
		0, float32(math.Copysign(0, -1)),
		65504, 65519, 65519.998, 65520, 65520.002, 65536, 1e10, math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1e-40, 0x1p-126,
		0x1p-24, 0x1p-25, math.Nextafter32(0x1p-25, 1), math.Nextafter32(0x1p-25, 0),
		0x1.8p-25, 0x1.8p-24, 0x1p-14, math.Nextafter32(0x1p-14, 0),
		float32(math.Inf(1)), float32(math.Inf(-1)),
	)
	return vs
}

func checkF32ToF16(t *testing.T, f float32) {
	t.Helper()
	got := F32ToF16(f)
	if math.IsNaN(float64(f)) {
		if got&0x7fff <= 0x7c00 {
			t.Fatalf("F32ToF16(NaN %#08x) = %#04x, not NaN", math.Float32bits(f), got)
		}
		if (got&0x8000 != 0) != math.Signbit(float64(f)) {
			t.Fatalf("F32ToF16(NaN %#08x) = %#04x: sign lost", math.Float32bits(f), got)
		}
		return
	}
	if want := refF32ToF16(f); got != want {
		t.Fatalf("F32ToF16(%v [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
	}
}

func TestF32ToF16Edges(t *testing.T) {
	for _, f := range f16EdgeValues() {
		checkF32ToF16(t, f)
	}
	// Specific tie cases, spelled out.
	cases := []struct {
		f    float32
		want uint16
	}{
		{1 + 0x1p-11, 0x3c00},                // tie between 1 and 1+2^-10: even is 1
		{1 + 3*0x1p-11, 0x3c02},              // tie, rounds up to even
		{65520, 0x7c00},                      // tie between max and "2^16": infinity
		{math.Nextafter32(65520, 0), 0x7bff}, // just below: max finite
		{0x1p-25, 0x0000},                    // tie between 0 and min subnormal
		{math.Nextafter32(0x1p-25, 1), 0x0001},
		{0x1.8p-24, 0x0002}, // tie between subnormals 1 and 2
		{-2, 0xc000},
		{float32(math.NaN()), 0x7e00},
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	// A NaN whose payload lives only in the low bits must stay a NaN.
	if got := F32ToF16(math.Float32frombits(0x7f800001)); got&0x7fff <= 0x7c00 {
		t.Errorf("low-payload NaN became %#04x", got)
	}
}

func TestF32ToF16Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 1 << 20
	if testing.Short() {
		n = 1 << 16
	}
	for i := 0; i < n; i++ {
		b := r.Uint32()
		if i%2 == 0 {
			// Concentrate half the samples on the binary16 range.
			b = b&0x807fffff | uint32(127-26+r.IntN(44))<<23
		}
		checkF32ToF16(t, math.Float32frombits(b))
	}
}

// refF32ToBF16 rounds with float64 distances between the two bfloat16
// candidates that bracket f.
func refF32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	lo := b &^ 0xffff
	if lo == b || lo&0x7fffffff == 0x7f800000 {
		return uint16(b >> 16)
	}
	hi := lo + 0x10000 // next magnitude up; may be infinity
	x := math.Abs(float64(f))
	vl := math.Abs(float64(math.Float32frombits(lo)))
	var vh float64
	if hi&0x7fffffff == 0x7f800000 {
		vh = math.Ldexp(1, 128) // where the next value would be
	} else {
		vh = math.Abs(float64(math.Float32frombits(hi)))
	}
	dl, dh := x-vl, vh-x
	if dh < dl || (dh == dl && (hi>>16)&1 == 0) {
		return uint16(hi >> 16)
	}
	return uint16(lo >> 16)
}

func TestF32ToBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var vs []float32
	for i := 0; i < 1<<20; i++ {
		vs = append(vs, math.Float32frombits(r.Uint32()))
	}
	for h := uint32(0); h < 1<<16; h++ {
		base := h << 16
		for _, low := range []uint32{0x7fff, 0x8000, 0x8001, 0xffff, 1} {
			vs = append(vs, math.Float32frombits(base|low))
		}
	}
	for _, f := range vs {
		got := F32ToBF16(f)
		if math.IsNaN(float64(f)) {
			if got&0x7fff <= 0x7f80 || (got&0x8000 != 0) != math.Signbit(float64(f)) {
				t.Fatalf("F32ToBF16(NaN %#08x) = %#04x", math.Float32bits(f), got)
			}
			continue
		}
		if want := refF32ToBF16(f); got != want {
			t.Fatalf("F32ToBF16(%v [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	cases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, rounds up to even
		{0x7f7fffff, 0x7f80}, // max float32 rounds to infinity
		{0x7f800001, 0x7fc0}, // signalling NaN with low payload stays NaN
		{0xff800000, 0xff80}, // -inf
		{0x80000001, 0x8000}, // tiny negative: -0
		{0x00018000, 0x0002}, // subnormal tie: 1 is odd, rounds up to 2
	}
	for _, c := range cases {
		if got := F32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
}

func TestSlices(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	f := make([]float32, len(src))
	F16sToF32s(f, src)
	for i, h := range src {
		if math.Float32bits(f[i]) != f16ToF32Bits(h) {
			t.Fatalf("F16sToF32s[%#04x] = %#08x", h, math.Float32bits(f[i]))
		}
	}
	back := make([]uint16, len(src))
	F32sToF16s(back, f)
	for i, h := range src {
		if back[i] != F32ToF16(f[i]) {
			t.Fatalf("F32sToF16s[%#04x] = %#04x", h, back[i])
		}
	}
	F32sToF16s(back[:3], f[:3]) // shorter source is fine
	// The slice version has its own inlined fast path: compare it with the
	// scalar one on random and edge inputs.
	r := rand.New(rand.NewPCG(7, 8))
	rf := f16EdgeValues()
	for range 1 << 18 {
		rf = append(rf, math.Float32frombits(r.Uint32()))
	}
	rh := make([]uint16, len(rf))
	F32sToF16s(rh, rf)
	for i, x := range rf {
		if want := F32ToF16(x); rh[i] != want {
			t.Fatalf("F32sToF16s(%#08x) = %#04x, want %#04x", math.Float32bits(x), rh[i], want)
		}
	}
	BF16sToF32s(f, src)
	for i, h := range src {
		if f[i] != BF16ToF32(h) && !math.IsNaN(float64(f[i])) {
			t.Fatalf("BF16sToF32s[%#04x] = %v", h, f[i])
		}
	}
	F32sToBF16s(back, f)
	for i := range src {
		if back[i] != F32ToBF16(f[i]) {
			t.Fatalf("F32sToBF16s[%d] = %#04x", i, back[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("short destination did not panic")
		}
	}()
	F16sToF32s(f[:1], src[:2])
}

var sink float32

func BenchmarkF16sToF32s(b *testing.B) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i * 7)
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src) * 2))
	for b.Loop() {
		F16sToF32s(dst, src)
	}
	sink = dst[1]
}

func BenchmarkF16ToF32Scalar(b *testing.B) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i * 7)
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src) * 2))
	for b.Loop() {
		for i, h := range src {
			dst[i] = F16ToF32(h)
		}
	}
	sink = dst[1]
}

func BenchmarkF32sToF16s(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, 1<<16)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	dst := make([]uint16, len(src))
	b.SetBytes(int64(len(src) * 4))
	for b.Loop() {
		F32sToF16s(dst, src)
	}
}

func BenchmarkBF16sToF32s(b *testing.B) {
	src := make([]uint16, 1<<16)
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src) * 2))
	for b.Loop() {
		BF16sToF32s(dst, src)
	}
}
