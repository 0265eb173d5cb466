package blas

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrent runs products from several goroutines at once, through
// whatever backend is loaded, and checks each against the same product
// computed alone.
func TestConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const m, n, k = 150, 130, 170
	type job struct{ a, b, want []float32 }
	jobs := make([]job, 8)
	for i := range jobs {
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		want := make([]float32, m*n)
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
		jobs[i] = job{a, b, want}
	}
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			j := jobs[i]
			for rep := 0; rep < 20; rep++ {
				c := make([]float32, m*n)
				Sgemm(false, true, m, n, k, 1, j.a, k, j.b, k, 0, c, n)
				for x := range c {
					if math.Abs(float64(c[x]-j.want[x])) > 1e-4*(1+math.Abs(float64(j.want[x]))) {
						t.Errorf("job %d rep %d: c[%d] = %v, alone %v", i, rep, x, c[x], j.want[x])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
