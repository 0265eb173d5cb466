#include "textflag.h"

// AVX2+FMA kernels of vecmath.go, 8 floats at a time; n is a multiple of 8
// (the Go wrappers in vecmath_amd64.go run the tail through a padded block).
//
// exp(x): x is clamped to [-104, 88.72283], n = round(x·log2 e),
// r = x − n·ln2 (ln2 split in a high and a low part), e**r by its Taylor
// polynomial of degree 7 (|r| <= ln2/2, truncation error 3e-9), and the
// result times 2**(n>>1) and 2**(n − n>>1), both normal floats, so that
// results near overflow and in the subnormal range are rounded once.
// x > 88.72283 gives +Inf and NaN stays NaN.

#define CONST8(name, bits) \
	DATA name<>+0(SB)/4, $bits; \
	DATA name<>+4(SB)/4, $bits; \
	DATA name<>+8(SB)/4, $bits; \
	DATA name<>+12(SB)/4, $bits; \
	DATA name<>+16(SB)/4, $bits; \
	DATA name<>+20(SB)/4, $bits; \
	DATA name<>+24(SB)/4, $bits; \
	DATA name<>+28(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST8(expHi, 0x42b17217)    // 88.72283
CONST8(expLo, 0xc2d00000)    // -104
CONST8(expFlush, 0xc2aea8f6) // -87.33: softmax exponents below it give 0
CONST8(log2e, 0x3fb8aa3b)    // 1.442695
CONST8(ln2hi, 0x3f317200)    // 0.693145751953125
CONST8(ln2lo, 0x35bfbe8e)    // 1.4286068e-06
CONST8(c7, 0x39500d01)       // 1/5040
CONST8(c6, 0x3ab60b61)       // 1/720
CONST8(c5, 0x3c088889)       // 1/120
CONST8(c4, 0x3d2aaaab)       // 1/24
CONST8(c3, 0x3e2aaaab)       // 1/6
CONST8(c2, 0x3f000000)       // 1/2
CONST8(one, 0x3f800000)      // 1
CONST8(posInf, 0x7f800000)   // +Inf
CONST8(bias, 0x0000007f)     // 127 (int32)
CONST8(signBit, 0x80000000)  // -0

// EXP8 sets p = exp(x) for the 8 floats of x (kept); r, k and t are clobbered.
#define EXP8(x, p, r, k, t) \
	VMINPS expHi<>(SB), x, r; \
	VMAXPS expLo<>(SB), r, r; \
	VMULPS log2e<>(SB), r, k; \
	VROUNDPS $0, k, k; \
	VFNMADD231PS ln2hi<>(SB), k, r; \
	VFNMADD231PS ln2lo<>(SB), k, r; \
	VMOVUPS c7<>(SB), p; \
	VFMADD213PS c6<>(SB), r, p; \
	VFMADD213PS c5<>(SB), r, p; \
	VFMADD213PS c4<>(SB), r, p; \
	VFMADD213PS c3<>(SB), r, p; \
	VFMADD213PS c2<>(SB), r, p; \
	VFMADD213PS one<>(SB), r, p; \
	VFMADD213PS one<>(SB), r, p; \
	VCVTPS2DQ k, k; \
	VPSRAD $1, k, t; \
	VPSUBD t, k, k; \
	VPADDD bias<>(SB), t, t; \
	VPSLLD $23, t, t; \
	VPADDD bias<>(SB), k, k; \
	VPSLLD $23, k, k; \
	VMULPS t, p, p; \
	VMULPS k, p, p; \
	VCMPPS $0x1e, expHi<>(SB), x, t; \
	VBLENDVPS t, posInf<>(SB), p, p; \
	VCMPPS $3, x, x, t; \
	VBLENDVPS t, x, p, p

// FLUSH8 zeroes the lanes of p whose exponent x is below -87.33 (no
// subnormal probabilities reach the matrix products).
#define FLUSH8(x, p, t) \
	VCMPPS $1, expFlush<>(SB), x, t; \
	VANDNPS p, t, p

// SIGMOID8 sets p = 1/(1 + exp(-x)); n, r, k and t are clobbered.
#define SIGMOID8(x, p, n, r, k, t) \
	VXORPS signBit<>(SB), x, n; \
	EXP8(n, p, r, k, t); \
	VADDPS one<>(SB), p, p; \
	VMOVUPS one<>(SB), t; \
	VDIVPS p, t, p

// func expAVX2(dst, src *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   expDone

expLoop:
	VMOVUPS (SI), Y0
	EXP8(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     expLoop

expDone:
	VZEROUPPER
	RET

// func sigmoidAVX2(dst, src *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   sigDone

sigLoop:
	VMOVUPS (SI), Y0
	SIGMOID8(Y0, Y1, Y5, Y2, Y3, Y4)
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sigLoop

sigDone:
	VZEROUPPER
	RET

// func siluAVX2(dst, src *float32, n int)
TEXT ·siluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   siluDone

siluLoop:
	VMOVUPS (SI), Y0
	SIGMOID8(Y0, Y1, Y5, Y2, Y3, Y4)
	VMULPS  Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     siluLoop

siluDone:
	VZEROUPPER
	RET

// func siluGradAVX2(dst, x, gr *float32, n int)
// dst = g·s·(1 + x·(1 − s)) with s = sigmoid(x).
TEXT ·siluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   sgDone

sgLoop:
	VMOVUPS (SI), Y0
	SIGMOID8(Y0, Y1, Y5, Y2, Y3, Y4)
	VMOVUPS one<>(SB), Y2
	VSUBPS  Y1, Y2, Y2       // 1 − s
	VMOVUPS one<>(SB), Y3
	VFMADD231PS Y2, Y0, Y3   // 1 + x·(1 − s)
	VMULPS  (DX), Y1, Y1     // g·s
	VMULPS  Y3, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sgLoop

sgDone:
	VZEROUPPER
	RET

// func swigluGradAVX2(dgate, dup, gate, up, gr *float32, n int)
// With s = sigmoid(gate) computed once: dup = g·(gate·s), and dgate = (g·up)·s·(1 +
// gate·(1 − s)), each operation as siluAVX2, siluGradAVX2 and a multiply do it.
TEXT ·swigluGradAVX2(SB), NOSPLIT, $0-48
	MOVQ dgate+0(FP), DI
	MOVQ dup+8(FP), R8
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), R9
	MOVQ gr+32(FP), DX
	MOVQ n+40(FP), CX
	SHRQ $3, CX
	JZ   swgDone

swgLoop:
	VMOVUPS (SI), Y0
	SIGMOID8(Y0, Y1, Y5, Y2, Y3, Y4)
	VMOVUPS (DX), Y6
	VMULPS  Y0, Y1, Y7       // silu = s·gate
	VMULPS  Y7, Y6, Y7       // dup = g·silu
	VMOVUPS Y7, (R8)
	VMULPS  (R9), Y6, Y8     // t = g·up
	VMOVUPS one<>(SB), Y2
	VSUBPS  Y1, Y2, Y2       // 1 − s
	VMOVUPS one<>(SB), Y3
	VFMADD231PS Y2, Y0, Y3   // 1 + gate·(1 − s)
	VMULPS  Y8, Y1, Y1       // t·s
	VMULPS  Y3, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     swgLoop

swgDone:
	VZEROUPPER
	RET

// func expSubSumAVX2(dst, src *float32, n int, m float32) float64
// dst = exp(src − m) (flushed below -87.33); returns the sum in float64.
// dst may be src.
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Y7
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	SHRQ         $3, CX
	JZ           essDone

essLoop:
	VMOVUPS (SI), Y0
	VSUBPS  Y7, Y0, Y0
	EXP8(Y0, Y1, Y2, Y3, Y4)
	FLUSH8(Y0, Y1, Y4)
	VMOVUPS Y1, (DI)
	VCVTPS2PD    X1, Y5
	VEXTRACTF128 $1, Y1, X6
	VCVTPS2PD    X6, Y6
	VADDPD       Y5, Y8, Y8
	VADDPD       Y6, Y9, Y9
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     essLoop

essDone:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	MOVSD        X8, ret+32(FP)
	VZEROUPPER
	RET

// func sumExpSubAVX2(src *float32, n int, m float32) float64
// Σ exp(src − m) in float64, as expSubSumAVX2 without storing.
TEXT ·sumExpSubAVX2(SB), NOSPLIT, $0-32
	MOVQ         src+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y7
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	SHRQ         $3, CX
	JZ           sesDone

sesLoop:
	VMOVUPS (SI), Y0
	VSUBPS  Y7, Y0, Y0
	EXP8(Y0, Y1, Y2, Y3, Y4)
	FLUSH8(Y0, Y1, Y4)
	VCVTPS2PD    X1, Y5
	VEXTRACTF128 $1, Y1, X6
	VCVTPS2PD    X6, Y6
	VADDPD       Y5, Y8, Y8
	VADDPD       Y6, Y9, Y9
	ADDQ    $32, SI
	DECQ    CX
	JNZ     sesLoop

sesDone:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	MOVSD        X8, ret+24(FP)
	VZEROUPPER
	RET

// func expGradAVX2(p, dp *float32, n int, l, dl, scale float32)
// e = exp(min(p − l, 0)) (flushed), p = e, dp = e·(dp − dl)·scale.
TEXT ·expGradAVX2(SB), NOSPLIT, $0-36
	MOVQ         p+0(FP), DI
	MOVQ         dp+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS l+24(FP), Y7
	VBROADCASTSS dl+28(FP), Y8
	VBROADCASTSS scale+32(FP), Y9
	VXORPS       Y10, Y10, Y10
	SHRQ         $3, CX
	JZ           egDone

egLoop:
	VMOVUPS (DI), Y0
	VSUBPS  Y7, Y0, Y0
	VMINPS  Y10, Y0, Y0      // NaN gives 0 as min(NaN, 0) in the scalar code
	EXP8(Y0, Y1, Y2, Y3, Y4)
	FLUSH8(Y0, Y1, Y4)
	VMOVUPS Y1, (DI)
	VMOVUPS (DX), Y2
	VSUBPS  Y8, Y2, Y2
	VMULPS  Y1, Y2, Y2
	VMULPS  Y9, Y2, Y2
	VMOVUPS Y2, (DX)
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     egLoop

egDone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The largest element, or NaN when any is NaN (n >= 8).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VXORPS  Y1, Y1, Y1      // NaN lanes seen so far
	SHRQ    $3, CX

maxLoop:
	VMOVUPS (SI), Y2
	VCMPPS  $3, Y2, Y2, Y3
	VORPS   Y3, Y1, Y1
	VMAXPS  Y2, Y0, Y0
	ADDQ    $32, SI
	DECQ    CX
	JNZ     maxLoop

	VEXTRACTF128 $1, Y0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0x4e, X0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0xb1, X0, X2
	VMAXPS       X2, X0, X0
	VEXTRACTF128 $1, Y1, X2
	VORPS        X2, X1, X1
	VPTEST       X1, X1
	JZ           maxNoNaN
	VPCMPEQD     X0, X0, X0     // all ones
	VPSRLD       $1, X0, X0     // 0x7fffffff, a NaN

maxNoNaN:
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ         $3, CX
	JZ           scDone

scLoop:
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     scLoop

scDone:
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DX
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	SHRQ   $3, CX
	JZ     dotDone

dotLoop:
	VMOVUPS     (SI), Y1
	VFMADD231PS (DX), Y1, Y0
	ADDQ        $32, SI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         dotLoop

dotDone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	MOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func softmaxGradAVX2(dp, p *float32, n int, dot, scale float32)
// dp = p·(dp − dot)·scale.
TEXT ·softmaxGradAVX2(SB), NOSPLIT, $0-32
	MOVQ         dp+0(FP), DI
	MOVQ         p+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS dot+24(FP), Y7
	VBROADCASTSS scale+28(FP), Y8
	SHRQ         $3, CX
	JZ           sgrDone

sgrLoop:
	VMOVUPS (DI), Y0
	VSUBPS  Y7, Y0, Y0
	VMULPS  (SI), Y0, Y0
	VMULPS  Y8, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sgrLoop

sgrDone:
	VZEROUPPER
	RET



// VV4 and VV1 apply op (VADDPS, VSUBPS, VMULPS) to 32, then 8, floats of x
// (SI) and y (DX) into dst (DI) and advance the three pointers.
#define VV4(op) \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	op      (DX), Y0, Y0; \
	op      32(DX), Y1, Y1; \
	op      64(DX), Y2, Y2; \
	op      96(DX), Y3, Y3; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	ADDQ    $128, SI; \
	ADDQ    $128, DX; \
	ADDQ    $128, DI

#define VV1(op) \
	VMOVUPS (SI), Y0; \
	op      (DX), Y0, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ    $32, SI; \
	ADDQ    $32, DX; \
	ADDQ    $32, DI

// VS4 and VS1 are VV4 and VV1 with the scalar in Y4 for y.
#define VS4(op) \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	op      Y4, Y0, Y0; \
	op      Y4, Y1, Y1; \
	op      Y4, Y2, Y2; \
	op      Y4, Y3, Y3; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	ADDQ    $128, SI; \
	ADDQ    $128, DI

#define VS1(op) \
	VMOVUPS (SI), Y0; \
	op      Y4, Y0, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ    $32, SI; \
	ADDQ    $32, DI

// func addAVX2(dst, x, y *float32, n int)
//
// dst = x + y for n floats (n a multiple of 8).
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX

add4:
	CMPQ CX, $4
	JLT  add1
	VV4(VADDPS)
	SUBQ $4, CX
	JMP  add4

add1:
	TESTQ CX, CX
	JZ    addDone
	VV1(VADDPS)
	DECQ  CX
	JMP   add1

addDone:
	VZEROUPPER
	RET

// func subAVX2(dst, x, y *float32, n int)
//
// dst = x − y for n floats (n a multiple of 8).
TEXT ·subAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX

sub4:
	CMPQ CX, $4
	JLT  sub1
	VV4(VSUBPS)
	SUBQ $4, CX
	JMP  sub4

sub1:
	TESTQ CX, CX
	JZ    subDone
	VV1(VSUBPS)
	DECQ  CX
	JMP   sub1

subDone:
	VZEROUPPER
	RET

// func mulAVX2(dst, x, y *float32, n int)
//
// dst = x · y for n floats (n a multiple of 8).
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX

mul4:
	CMPQ CX, $4
	JLT  mul1
	VV4(VMULPS)
	SUBQ $4, CX
	JMP  mul4

mul1:
	TESTQ CX, CX
	JZ    mulDone
	VV1(VMULPS)
	DECQ  CX
	JMP   mul1

mulDone:
	VZEROUPPER
	RET

// func addSAVX2(dst, x *float32, n int, s float32)
//
// dst = x + s for n floats (n a multiple of 8).
TEXT ·addSAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y4
	SHRQ         $3, CX

addS4:
	CMPQ CX, $4
	JLT  addS1
	VS4(VADDPS)
	SUBQ $4, CX
	JMP  addS4

addS1:
	TESTQ CX, CX
	JZ    addSDone
	VS1(VADDPS)
	DECQ  CX
	JMP   addS1

addSDone:
	VZEROUPPER
	RET

// func subSAVX2(dst, x *float32, n int, s float32)
//
// dst = x − s for n floats (n a multiple of 8).
TEXT ·subSAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y4
	SHRQ         $3, CX

subS4:
	CMPQ CX, $4
	JLT  subS1
	VS4(VSUBPS)
	SUBQ $4, CX
	JMP  subS4

subS1:
	TESTQ CX, CX
	JZ    subSDone
	VS1(VSUBPS)
	DECQ  CX
	JMP   subS1

subSDone:
	VZEROUPPER
	RET

// func mulSAVX2(dst, x *float32, n int, s float32)
//
// dst = x · s for n floats (n a multiple of 8).
TEXT ·mulSAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y4
	SHRQ         $3, CX

mulS4:
	CMPQ CX, $4
	JLT  mulS1
	VS4(VMULPS)
	SUBQ $4, CX
	JMP  mulS4

mulS1:
	TESTQ CX, CX
	JZ    mulSDone
	VS1(VMULPS)
	DECQ  CX
	JMP   mulS1

mulSDone:
	VZEROUPPER
	RET

// func ropeAVX2(o1, o2, x1, x2, c, s *float32, n int)
//
// o1 = x1·c − x2·s and o2 = x1·s + x2·c for n floats (n a multiple of 8), each
// product rounded before the sum, as in rope's loop.
TEXT ·ropeAVX2(SB), NOSPLIT, $0-56
	MOVQ o1+0(FP), DI
	MOVQ o2+8(FP), R8
	MOVQ x1+16(FP), SI
	MOVQ x2+24(FP), DX
	MOVQ c+32(FP), R9
	MOVQ s+40(FP), R10
	MOVQ n+48(FP), CX
	SHRQ $3, CX
	XORQ AX, AX

ropeLoop:
	TESTQ   CX, CX
	JZ      ropeDone
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS (DX)(AX*1), Y1
	VMOVUPS (R9)(AX*1), Y2
	VMOVUPS (R10)(AX*1), Y3
	VMULPS  Y2, Y0, Y4
	VMULPS  Y3, Y1, Y5
	VSUBPS  Y5, Y4, Y4
	VMULPS  Y3, Y0, Y6
	VMULPS  Y2, Y1, Y7
	VADDPS  Y7, Y6, Y6
	VMOVUPS Y4, (DI)(AX*1)
	VMOVUPS Y6, (R8)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JMP     ropeLoop

ropeDone:
	VZEROUPPER
	RET
