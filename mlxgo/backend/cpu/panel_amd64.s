#include "textflag.h"

// func panel64Asm(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)
//
// c rows at DI (stride R8 bytes), a rows at SI (stride R9, along k R10), b at DX
// (stride R11); R12 rows left, R13 = k. Four rows of c are sixteen registers
// (Z0–Z15); each step along k loads a row of b (Z16–Z19), broadcasts one
// element of a per row of c and adds the products.

// ROWLOAD, ROWSTORE and ROWZERO load, store and zero the 64 floats of a row of c.
#define ROWLOAD(base, z0, z1, z2, z3) \
	VMOVUPS (base), z0; \
	VMOVUPS 64(base), z1; \
	VMOVUPS 128(base), z2; \
	VMOVUPS 192(base), z3

#define ROWSTORE(base, z0, z1, z2, z3) \
	VMOVUPS z0, (base); \
	VMOVUPS z1, 64(base); \
	VMOVUPS z2, 128(base); \
	VMOVUPS z3, 192(base)

#define ROWZERO(z0, z1, z2, z3) \
	VPXORD z0, z0, z0; \
	VPXORD z1, z1, z1; \
	VPXORD z2, z2, z2; \
	VPXORD z3, z3, z3

// ROWFMA adds x times the row of b in Z16–Z19 to z0–z3.
#define ROWFMA(x, z0, z1, z2, z3) \
	VFMADD231PS Z16, x, z0; \
	VFMADD231PS Z17, x, z1; \
	VFMADD231PS Z18, x, z2; \
	VFMADD231PS Z19, x, z3

TEXT ·panel64Asm(SB), NOSPLIT, $0-73
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ a+16(FP), SI
	MOVQ as+24(FP), R9
	SHLQ $2, R9
	MOVQ ak+32(FP), R10
	SHLQ $2, R10
	MOVQ b+40(FP), DX
	MOVQ ldb+48(FP), R11
	SHLQ $2, R11
	MOVQ m+56(FP), R12
	MOVQ k+64(FP), R13

rows4:
	CMPQ R12, $4
	JLT  rows1
	LEAQ (DI)(R8*2), BX // row 2 of c
	CMPB acc+72(FP), $0
	JEQ  zero4
	ROWLOAD(DI, Z0, Z1, Z2, Z3)
	ADDQ R8, DI
	ROWLOAD(DI, Z4, Z5, Z6, Z7)
	SUBQ R8, DI
	ROWLOAD(BX, Z8, Z9, Z10, Z11)
	ADDQ R8, BX
	ROWLOAD(BX, Z12, Z13, Z14, Z15)
	JMP  k4

zero4:
	ROWZERO(Z0, Z1, Z2, Z3)
	ROWZERO(Z4, Z5, Z6, Z7)
	ROWZERO(Z8, Z9, Z10, Z11)
	ROWZERO(Z12, Z13, Z14, Z15)

k4:
	MOVQ  SI, AX            // row 0 of a
	LEAQ  (SI)(R9*2), BX
	ADDQ  R9, BX            // row 3 of a
	MOVQ  DX, R15
	MOVQ  R13, CX
	TESTQ CX, CX
	JZ    store4

loop4:
	VMOVUPS      (R15), Z16
	VMOVUPS      64(R15), Z17
	VMOVUPS      128(R15), Z18
	VMOVUPS      192(R15), Z19
	VBROADCASTSS (AX), Z20
	VBROADCASTSS (AX)(R9*1), Z21
	VBROADCASTSS (AX)(R9*2), Z22
	VBROADCASTSS (BX), Z23
	ROWFMA(Z20, Z0, Z1, Z2, Z3)
	ROWFMA(Z21, Z4, Z5, Z6, Z7)
	ROWFMA(Z22, Z8, Z9, Z10, Z11)
	ROWFMA(Z23, Z12, Z13, Z14, Z15)
	ADDQ         R10, AX
	ADDQ         R10, BX
	ADDQ         R11, R15
	DECQ         CX
	JNZ          loop4

store4:
	ROWSTORE(DI, Z0, Z1, Z2, Z3)
	ADDQ R8, DI
	ROWSTORE(DI, Z4, Z5, Z6, Z7)
	ADDQ R8, DI
	ROWSTORE(DI, Z8, Z9, Z10, Z11)
	ADDQ R8, DI
	ROWSTORE(DI, Z12, Z13, Z14, Z15)
	ADDQ R8, DI
	LEAQ (SI)(R9*4), SI
	SUBQ $4, R12
	JMP  rows4

rows1:
	TESTQ R12, R12
	JZ    done
	CMPB  acc+72(FP), $0
	JEQ   zero1
	ROWLOAD(DI, Z0, Z1, Z2, Z3)
	JMP   k1

zero1:
	ROWZERO(Z0, Z1, Z2, Z3)

k1:
	MOVQ  SI, AX
	MOVQ  DX, R15
	MOVQ  R13, CX
	TESTQ CX, CX
	JZ    store1

loop1:
	VMOVUPS      (R15), Z16
	VMOVUPS      64(R15), Z17
	VMOVUPS      128(R15), Z18
	VMOVUPS      192(R15), Z19
	VBROADCASTSS (AX), Z20
	ROWFMA(Z20, Z0, Z1, Z2, Z3)
	ADDQ         R10, AX
	ADDQ         R11, R15
	DECQ         CX
	JNZ          loop1

store1:
	ROWSTORE(DI, Z0, Z1, Z2, Z3)
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R12
	JMP  rows1

done:
	VZEROUPPER
	RET
