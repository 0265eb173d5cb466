//go:build !amd64

package cpu

import "github.com/mlxgo/mlxgo/mlxgo/backend"

// Without assembly the vector kernels are the loops of vecmath.go.

// haveVec is false: there is no assembly to run (the benchmarks toggle it).
var haveVec = false

func expVec(dst, src []float32)                        { expVecGo(dst, src) }
func sigmoidVec(dst, src []float32)                    { sigmoidVecGo(dst, src) }
func siluVec(dst, src []float32)                       { siluVecGo(dst, src) }
func siluGradVec(dst, x, g []float32)                  { siluGradVecGo(dst, x, g) }
func swigluGradVec(dgate, dup, gate, up, g []float32)  { swigluGradVecGo(dgate, dup, gate, up, g) }
func expSubSum(dst, src []float32, m float32) float64  { return expSubSumGo(dst, src, m) }
func sumExpSub(src []float32, m float32) float64       { return sumExpSubGo(src, m) }
func expGradRow(p, dp []float32, l, dl, scale float32) { expGradRowGo(p, dp, l, dl, scale) }
func maxVec(x []float32) float32                       { return maxVecGo(x) }
func scaleVec(x []float32, s float32)                  { scaleVecGo(x, s) }
func dotVec(x, y []float32) float32                    { return dotVecGo(x, y) }
func softmaxGradRow(dp, p []float32, dot, scale float32) {
	softmaxGradRowGo(dp, p, dot, scale)
}

// binaryVec reports false: floatVV runs its loops.
func binaryVec(k backend.BinaryKind, o, x, y []float32) bool { return false }

// binaryScalarVec reports false: floatVS runs its loops.
func binaryScalarVec(k backend.BinaryKind, o, x []float32, s float32) bool { return false }

// ropeVec is rope's loop.
func ropeVec(o1, o2, x1, x2, c, s []float32) { ropeVecGo(o1, o2, x1, x2, c, s) }
