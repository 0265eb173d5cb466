package blas

import "testing"

func BenchmarkTmpGo1(b *testing.B) {
	benchGemm(b, 1024, func(a, bm, c []float32) {
		sgemmGo(false, false, 1024, 1024, 1024, 1, a, 1024, bm, 1024, 0, c, 1024, 1)
	})
}
func BenchmarkTmpKernel(b *testing.B) {
	a := make([]float32, mr*256)
	bb := make([]float32, nr*256)
	var acc [mr * nr]float32
	for b.Loop() {
		kernel(a, bb, &acc)
	}
	b.ReportMetric(float64(2*mr*nr*256)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
