#include "textflag.h"

// func adamAVX2(gr, p, m, v, np, nm, nv *float32, n int, c *[8]float32)
//
// Eight elements at a time, one rounding per operation as adamStepKernel's loop
// (multiplies and adds kept apart, no fused multiply-add): c holds β₁, 1 − β₁, β₂,
// 1 − β₂, Eps, Decay, SqrtC2 and Rate. A division by an SqrtC2 of 1 and a product
// with a Decay of 1 are exact, so they run always. n is a multiple of 8.
TEXT ·adamAVX2(SB), NOSPLIT, $0-72
	MOVQ gr+0(FP), AX
	MOVQ p+8(FP), BX
	MOVQ m+16(FP), CX
	MOVQ v+24(FP), DX
	MOVQ np+32(FP), SI
	MOVQ nm+40(FP), DI
	MOVQ nv+48(FP), R8
	MOVQ n+56(FP), R9
	MOVQ c+64(FP), R10
	VBROADCASTSS 0(R10), Y8
	VBROADCASTSS 4(R10), Y9
	VBROADCASTSS 8(R10), Y10
	VBROADCASTSS 12(R10), Y11
	VBROADCASTSS 16(R10), Y12
	VBROADCASTSS 20(R10), Y13
	VBROADCASTSS 24(R10), Y14
	VBROADCASTSS 28(R10), Y15
	XORQ R11, R11

adamLoop:
	CMPQ    R9, $8
	JLT     adamDone
	VMOVUPS (AX)(R11*4), Y0
	VMULPS  (CX)(R11*4), Y8, Y1  // m·β₁
	VMULPS  Y0, Y9, Y2           // g·(1 − β₁)
	VADDPS  Y2, Y1, Y1           // m'
	VMULPS  Y0, Y0, Y3           // g²
	VMULPS  Y3, Y11, Y3          // g²·(1 − β₂)
	VMULPS  (DX)(R11*4), Y10, Y4 // v·β₂
	VADDPS  Y3, Y4, Y4           // v'
	VSQRTPS Y4, Y5
	VDIVPS  Y14, Y5, Y5          // √v' / SqrtC2
	VADDPS  Y12, Y5, Y5          // + Eps
	VDIVPS  Y5, Y1, Y6           // m' / (…)
	VMULPS  Y15, Y6, Y6          // · Rate
	VMULPS  (BX)(R11*4), Y13, Y7 // p·Decay
	VSUBPS  Y6, Y7, Y7           // p'
	VMOVUPS Y7, (SI)(R11*4)
	VMOVUPS Y1, (DI)(R11*4)
	VMOVUPS Y4, (R8)(R11*4)
	ADDQ    $8, R11
	SUBQ    $8, R9
	JMP     adamLoop

adamDone:
	VZEROUPPER
	RET
