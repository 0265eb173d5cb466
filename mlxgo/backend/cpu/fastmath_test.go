package cpu

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 2000000; i++ {
		x := float32(-103 + 191.7*float64(i)/2000000)
		got := float64(expf(x))
		want := math.Exp(float64(x))
		if want < 1.2e-38 || want > 3.4e38 { // subnormal or overflowing results carry fewer bits
			continue
		}
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Fatalf("worst relative error %g (float32 ulp is 6e-8)", worst)
	}
	if expf(float32(math.NaN())) == expf(float32(math.NaN())) || expf(100) != float32(math.Inf(1)) || expf(-200) != 0 {
		t.Fatal("special values")
	}
}
