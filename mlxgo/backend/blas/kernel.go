package blas

// Micro-kernel tile: mr rows of op(A) by nr columns of op(B).
const (
	mr = 4
	nr = 2
)

// kernel computes the 4×2 tile acc = sum over p of a[p*mr:p*mr+mr] (a
// column of an A strip) times b[p*nr:p*nr+nr] (a row of a B strip), for
// p in index order. It overwrites acc.
//
// The body is unrolled 4 times in k with every accumulator in its own local
// variable, so that the compiler keeps all 8 of them in registers: the Go
// scheduler places an accumulator update late unless a later update in the
// same block uses it, and unrolling gives all but the last update such a use.
// Built with GOAMD64=v3 the multiply-adds become FMA instructions.
func kernel(a, b []float32, acc *[mr * nr]float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	for len(a) >= 16 && len(b) >= 8 {
		c00 += a[0] * b[0]
		c01 += a[0] * b[1]
		c10 += a[1] * b[0]
		c11 += a[1] * b[1]
		c20 += a[2] * b[0]
		c21 += a[2] * b[1]
		c30 += a[3] * b[0]
		c31 += a[3] * b[1]
		c00 += a[4] * b[2]
		c01 += a[4] * b[3]
		c10 += a[5] * b[2]
		c11 += a[5] * b[3]
		c20 += a[6] * b[2]
		c21 += a[6] * b[3]
		c30 += a[7] * b[2]
		c31 += a[7] * b[3]
		c00 += a[8] * b[4]
		c01 += a[8] * b[5]
		c10 += a[9] * b[4]
		c11 += a[9] * b[5]
		c20 += a[10] * b[4]
		c21 += a[10] * b[5]
		c30 += a[11] * b[4]
		c31 += a[11] * b[5]
		c00 += a[12] * b[6]
		c01 += a[12] * b[7]
		c10 += a[13] * b[6]
		c11 += a[13] * b[7]
		c20 += a[14] * b[6]
		c21 += a[14] * b[7]
		c30 += a[15] * b[6]
		c31 += a[15] * b[7]
		a = a[16:]
		b = b[8:]
	}
	for len(a) >= 4 && len(b) >= 2 {
		c00 += a[0] * b[0]
		c01 += a[0] * b[1]
		c10 += a[1] * b[0]
		c11 += a[1] * b[1]
		c20 += a[2] * b[0]
		c21 += a[2] * b[1]
		c30 += a[3] * b[0]
		c31 += a[3] * b[1]
		a = a[4:]
		b = b[2:]
	}
	acc[0], acc[1] = c00, c01
	acc[2], acc[3] = c10, c11
	acc[4], acc[5] = c20, c21
	acc[6], acc[7] = c30, c31
}

// storeTile adds alpha*acc to the full 4×2 tile of c whose top-left
// element is c[0]; rows are ldc apart.
func storeTile(c []float32, ldc int, alpha float32, acc *[mr * nr]float32) {
	r0 := c[:2]
	r0[0] += alpha * acc[0]
	r0[1] += alpha * acc[1]
	r1 := c[1*ldc : 1*ldc+2]
	r1[0] += alpha * acc[2]
	r1[1] += alpha * acc[3]
	r2 := c[2*ldc : 2*ldc+2]
	r2[0] += alpha * acc[4]
	r2[1] += alpha * acc[5]
	r3 := c[3*ldc : 3*ldc+2]
	r3[0] += alpha * acc[6]
	r3[1] += alpha * acc[7]
}
