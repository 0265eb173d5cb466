#include "textflag.h"

// AVX-512 forms of the exponential kernels of vecmath_amd64.s, 16 floats at a
// time; n is a multiple of 16. The same reduction and polynomial, with the
// result scaled by 2**n in one correctly rounded VSCALEFPS, which also gives
// +Inf past overflow and 0 past underflow.

#define CONST16(name, bits) \
	DATA name<>+0(SB)/4, $bits; \
	DATA name<>+4(SB)/4, $bits; \
	DATA name<>+8(SB)/4, $bits; \
	DATA name<>+12(SB)/4, $bits; \
	DATA name<>+16(SB)/4, $bits; \
	DATA name<>+20(SB)/4, $bits; \
	DATA name<>+24(SB)/4, $bits; \
	DATA name<>+28(SB)/4, $bits; \
	DATA name<>+32(SB)/4, $bits; \
	DATA name<>+36(SB)/4, $bits; \
	DATA name<>+40(SB)/4, $bits; \
	DATA name<>+44(SB)/4, $bits; \
	DATA name<>+48(SB)/4, $bits; \
	DATA name<>+52(SB)/4, $bits; \
	DATA name<>+56(SB)/4, $bits; \
	DATA name<>+60(SB)/4, $bits; \
	GLOBL name<>(SB), RODATA|NOPTR, $64

CONST16(hi16, 0x42b20000)    // 89: past overflow
CONST16(lo16, 0xc2d00000)    // -104: past underflow
CONST16(flush16, 0xc2aea8f6) // -87.33
CONST16(log2e16, 0x3fb8aa3b)
CONST16(ln2hi16, 0x3f317200)
CONST16(ln2lo16, 0x35bfbe8e)
CONST16(c716, 0x39500d01)
CONST16(c616, 0x3ab60b61)
CONST16(c516, 0x3c088889)
CONST16(c416, 0x3d2aaaab)
CONST16(c316, 0x3e2aaaab)
CONST16(c216, 0x3f000000)
CONST16(one16, 0x3f800000)
CONST16(sign16, 0x80000000)

// EXP16 sets p = exp(x) for the 16 floats of x (kept); r and k are clobbered,
// and mask K1.
#define EXP16(x, p, r, k) \
	VMINPS hi16<>(SB), x, r; \
	VMAXPS lo16<>(SB), r, r; \
	VMULPS log2e16<>(SB), r, k; \
	VRNDSCALEPS $0, k, k; \
	VFNMADD231PS ln2hi16<>(SB), k, r; \
	VFNMADD231PS ln2lo16<>(SB), k, r; \
	VMOVUPS c716<>(SB), p; \
	VFMADD213PS c616<>(SB), r, p; \
	VFMADD213PS c516<>(SB), r, p; \
	VFMADD213PS c416<>(SB), r, p; \
	VFMADD213PS c316<>(SB), r, p; \
	VFMADD213PS c216<>(SB), r, p; \
	VFMADD213PS one16<>(SB), r, p; \
	VFMADD213PS one16<>(SB), r, p; \
	VSCALEFPS k, p, p; \
	VCMPPS $3, x, x, K1; \
	VMOVAPS x, K1, p

// FLUSH16 zeroes the lanes of p whose exponent x is below -87.33; z must be zero.
#define FLUSH16(x, p, z) \
	VCMPPS $1, flush16<>(SB), x, K2; \
	VMOVAPS z, K2, p

// SIGMOID16 sets p = 1/(1 + exp(-x)); n, r and k are clobbered.
#define SIGMOID16(x, p, n, r, k) \
	VXORPS sign16<>(SB), x, n; \
	EXP16(n, p, r, k); \
	VADDPS one16<>(SB), p, p; \
	VMOVUPS one16<>(SB), k; \
	VDIVPS p, k, p

// func expAVX512(dst, src *float32, n int)
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS (SI), Z0
	EXP16(Z0, Z1, Z2, Z3)
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func sigmoidAVX512(dst, src *float32, n int)
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS (SI), Z0
	SIGMOID16(Z0, Z1, Z4, Z2, Z3)
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func siluAVX512(dst, src *float32, n int)
TEXT ·siluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS (SI), Z0
	SIGMOID16(Z0, Z1, Z4, Z2, Z3)
	VMULPS  Z0, Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func siluGradAVX512(dst, x, gr *float32, n int)
TEXT ·siluGradAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS     (SI), Z0
	SIGMOID16(Z0, Z1, Z4, Z2, Z3)
	VMOVUPS     one16<>(SB), Z2
	VSUBPS      Z1, Z2, Z2
	VMOVUPS     one16<>(SB), Z3
	VFMADD231PS Z2, Z0, Z3
	VMULPS      (DX), Z1, Z1
	VMULPS      Z3, Z1, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET

// func expSubSumAVX512(dst, src *float32, n int, m float32) float64
TEXT ·expSubSumAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Z7
	VXORPD       Z8, Z8, Z8
	VXORPD       Z9, Z9, Z9
	VXORPS       Z10, Z10, Z10
	SHRQ         $4, CX
	JZ           done

loop:
	VMOVUPS        (SI), Z0
	VSUBPS         Z7, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3)
	FLUSH16(Z0, Z1, Z10)
	VMOVUPS        Z1, (DI)
	VCVTPS2PD      Y1, Z5
	VEXTRACTF64X4  $1, Z1, Y6
	VCVTPS2PD      Y6, Z6
	VADDPD         Z5, Z8, Z8
	VADDPD         Z6, Z9, Z9
	ADDQ           $64, SI
	ADDQ           $64, DI
	DECQ           CX
	JNZ            loop

done:
	VADDPD        Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z8, Y9
	VADDPD        Y9, Y8, Y8
	VEXTRACTF128  $1, Y8, X9
	VADDPD        X9, X8, X8
	VHADDPD       X8, X8, X8
	MOVSD         X8, ret+32(FP)
	VZEROUPPER
	RET

// func sumExpSubAVX512(src *float32, n int, m float32) float64
TEXT ·sumExpSubAVX512(SB), NOSPLIT, $0-32
	MOVQ         src+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Z7
	VXORPD       Z8, Z8, Z8
	VXORPD       Z9, Z9, Z9
	VXORPS       Z10, Z10, Z10
	SHRQ         $4, CX
	JZ           done

loop:
	VMOVUPS        (SI), Z0
	VSUBPS         Z7, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3)
	FLUSH16(Z0, Z1, Z10)
	VCVTPS2PD      Y1, Z5
	VEXTRACTF64X4  $1, Z1, Y6
	VCVTPS2PD      Y6, Z6
	VADDPD         Z5, Z8, Z8
	VADDPD         Z6, Z9, Z9
	ADDQ           $64, SI
	DECQ           CX
	JNZ            loop

done:
	VADDPD        Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z8, Y9
	VADDPD        Y9, Y8, Y8
	VEXTRACTF128  $1, Y8, X9
	VADDPD        X9, X8, X8
	VHADDPD       X8, X8, X8
	MOVSD         X8, ret+24(FP)
	VZEROUPPER
	RET

// func expGradAVX512(p, dp *float32, n int, l, dl, scale float32)
TEXT ·expGradAVX512(SB), NOSPLIT, $0-36
	MOVQ         p+0(FP), DI
	MOVQ         dp+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS l+24(FP), Z7
	VBROADCASTSS dl+28(FP), Z8
	VBROADCASTSS scale+32(FP), Z9
	VXORPS       Z10, Z10, Z10
	SHRQ         $4, CX
	JZ           done

loop:
	VMOVUPS (DI), Z0
	VSUBPS  Z7, Z0, Z0
	VMINPS  Z10, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3)
	FLUSH16(Z0, Z1, Z10)
	VMOVUPS Z1, (DI)
	VMOVUPS (DX), Z2
	VSUBPS  Z8, Z2, Z2
	VMULPS  Z1, Z2, Z2
	VMULPS  Z9, Z2, Z2
	VMOVUPS Z2, (DX)
	ADDQ    $64, DI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func swigluGradAVX512(dgate, dup, gate, up, gr *float32, n int)
// With s = sigmoid(gate) computed once: dup = g·(gate·s), and dgate = (g·up)·s·(1 +
// gate·(1 − s)), each operation as siluAVX512, siluGradAVX512 and a multiply do it.
TEXT ·swigluGradAVX512(SB), NOSPLIT, $0-48
	MOVQ dgate+0(FP), DI
	MOVQ dup+8(FP), R8
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), R9
	MOVQ gr+32(FP), DX
	MOVQ n+40(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS     (SI), Z0
	SIGMOID16(Z0, Z1, Z4, Z2, Z3)
	VMOVUPS     (DX), Z5
	VMULPS      Z0, Z1, Z6
	VMULPS      Z6, Z5, Z6
	VMOVUPS     Z6, (R8)
	VMULPS      (R9), Z5, Z7
	VMOVUPS     one16<>(SB), Z2
	VSUBPS      Z1, Z2, Z2
	VMOVUPS     one16<>(SB), Z3
	VFMADD231PS Z2, Z0, Z3
	VMULPS      Z7, Z1, Z1
	VMULPS      Z3, Z1, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET
