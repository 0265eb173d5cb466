//go:build !amd64

package optim

const haveAdamAVX2 = false

func adamAVX2(gr, p, m, v, np, nm, nv *float32, n int, c *[8]float32) {
	panic("optim: no adamAVX2 on this architecture")
}
