#include "textflag.h"
#include "panel_amd64.h"

// func panel64AVX512(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)
//
// c rows at DI (stride R8 bytes), a rows at SI (stride R9, along k R10), b at DX
// (stride R11); R12 rows left, R13 = k. Six rows of c are twenty-four registers
// (Z0–Z23); each step along k loads a row of b (Z24–Z27), broadcasts one
// element of a per row of c and adds the products: each row of b read from the
// second-level cache feeds 24 multiply-adds (16 with four rows, which left the
// kernel waiting on that cache on Intel cores with two FMA units). The last
// rows go four, then one at a time.

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

// ROWFMA6 adds x times the row of b in Z24–Z27 to z0–z3.
#define ROWFMA6(x, z0, z1, z2, z3) \
	VFMADD231PS Z24, x, z0; \
	VFMADD231PS Z25, x, z1; \
	VFMADD231PS Z26, x, z2; \
	VFMADD231PS Z27, x, z3

// ROWFMA adds x times the row of b in Z16–Z19 to z0–z3.
#define ROWFMA(x, z0, z1, z2, z3) \
	VFMADD231PS Z16, x, z0; \
	VFMADD231PS Z17, x, z1; \
	VFMADD231PS Z18, x, z2; \
	VFMADD231PS Z19, x, z3

TEXT ·panel64AVX512(SB), NOSPLIT, $0-73
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

rows6:
	CMPQ R12, $6
	JLT  rows4
	CMPB acc+72(FP), $0
	JEQ  zero6
	MOVQ DI, BX
	ROWLOAD(BX, Z0, Z1, Z2, Z3)
	ADDQ R8, BX
	ROWLOAD(BX, Z4, Z5, Z6, Z7)
	ADDQ R8, BX
	ROWLOAD(BX, Z8, Z9, Z10, Z11)
	ADDQ R8, BX
	ROWLOAD(BX, Z12, Z13, Z14, Z15)
	ADDQ R8, BX
	ROWLOAD(BX, Z16, Z17, Z18, Z19)
	ADDQ R8, BX
	ROWLOAD(BX, Z20, Z21, Z22, Z23)
	JMP  k6

zero6:
	ROWZERO(Z0, Z1, Z2, Z3)
	ROWZERO(Z4, Z5, Z6, Z7)
	ROWZERO(Z8, Z9, Z10, Z11)
	ROWZERO(Z12, Z13, Z14, Z15)
	ROWZERO(Z16, Z17, Z18, Z19)
	ROWZERO(Z20, Z21, Z22, Z23)

k6:
	MOVQ  SI, AX            // rows 0–2 of a: AX, AX+R9, AX+2·R9
	LEAQ  (SI)(R9*2), BX
	ADDQ  R9, BX            // rows 3–5: BX, BX+R9, BX+2·R9
	MOVQ  DX, R15
	MOVQ  R13, CX
	TESTQ CX, CX
	JZ    store6

loop6:
	VMOVUPS      (R15), Z24
	VMOVUPS      64(R15), Z25
	VMOVUPS      128(R15), Z26
	VMOVUPS      192(R15), Z27
	VBROADCASTSS (AX), Z28
	VBROADCASTSS (AX)(R9*1), Z29
	VBROADCASTSS (AX)(R9*2), Z30
	VBROADCASTSS (BX), Z31
	ROWFMA6(Z28, Z0, Z1, Z2, Z3)
	ROWFMA6(Z29, Z4, Z5, Z6, Z7)
	ROWFMA6(Z30, Z8, Z9, Z10, Z11)
	ROWFMA6(Z31, Z12, Z13, Z14, Z15)
	VBROADCASTSS (BX)(R9*1), Z28
	VBROADCASTSS (BX)(R9*2), Z29
	ROWFMA6(Z28, Z16, Z17, Z18, Z19)
	ROWFMA6(Z29, Z20, Z21, Z22, Z23)
	ADDQ         R10, AX
	ADDQ         R10, BX
	ADDQ         R11, R15
	DECQ         CX
	JNZ          loop6

store6:
	ROWSTORE(DI, Z0, Z1, Z2, Z3)
	ADDQ R8, DI
	ROWSTORE(DI, Z4, Z5, Z6, Z7)
	ADDQ R8, DI
	ROWSTORE(DI, Z8, Z9, Z10, Z11)
	ADDQ R8, DI
	ROWSTORE(DI, Z12, Z13, Z14, Z15)
	ADDQ R8, DI
	ROWSTORE(DI, Z16, Z17, Z18, Z19)
	ADDQ R8, DI
	ROWSTORE(DI, Z20, Z21, Z22, Z23)
	ADDQ R8, DI
	LEAQ (SI)(R9*4), SI
	LEAQ (SI)(R9*2), SI
	SUBQ $6, R12
	JMP  rows6

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

// FOLD adds the upper 256 bits of z to its lower 256.
#define FOLD(z) \
	VSHUFF32X4 $0xee, z, z, Z24; \
	VADDPS     Z24, z, z

// func dotTile4AVX512(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool)
//
// Rows 0–3 of c, columns 4q to 4q+3 for q < quads: the dot products of rows
// 0–3 of a with rows 4q to 4q+3 of b, k floats each (k a positive multiple
// of 16). Accumulator Z(4r+j) holds 16 partial sums of row r, column j; they
// are added up at the end of each group of four columns.
TEXT ·dotTile4AVX512(SB), NOSPLIT, $0-65
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R13
	SHLQ $2, R13
	LEAQ (SI)(R13*1), R9  // row 1 of a
	LEAQ (SI)(R13*2), R11 // row 2
	LEAQ (R11)(R13*1), BX // row 3
	MOVQ b+32(FP), DX
	MOVQ quads+48(FP), R10
	MOVQ k+56(FP), CX
	SHLQ $2, CX

quad:
	MOVQ ldb+40(FP), R13
	SHLQ $2, R13
	LEAQ (DX)(R13*1), R12  // row 1 of the group of b
	LEAQ (DX)(R13*2), R14  // row 2
	LEAQ (R14)(R13*1), R15 // row 3
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	XORQ   AX, AX

dots:
	VMOVUPS     (SI)(AX*1), Z16
	VMOVUPS     (R9)(AX*1), Z17
	VMOVUPS     (R11)(AX*1), Z18
	VMOVUPS     (BX)(AX*1), Z19
	VMOVUPS     (DX)(AX*1), Z20
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z20, Z17, Z4
	VFMADD231PS Z20, Z18, Z8
	VFMADD231PS Z20, Z19, Z12
	VMOVUPS     (R12)(AX*1), Z21
	VFMADD231PS Z21, Z16, Z1
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z21, Z18, Z9
	VFMADD231PS Z21, Z19, Z13
	VMOVUPS     (R14)(AX*1), Z22
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z22, Z17, Z6
	VFMADD231PS Z22, Z18, Z10
	VFMADD231PS Z22, Z19, Z14
	VMOVUPS     (R15)(AX*1), Z23
	VFMADD231PS Z23, Z16, Z3
	VFMADD231PS Z23, Z17, Z7
	VFMADD231PS Z23, Z18, Z11
	VFMADD231PS Z23, Z19, Z15
	ADDQ        $64, AX
	CMPQ        AX, CX
	JLT         dots

	// Fold each accumulator's upper 256 bits onto its lower ones.
	FOLD(Z0)
	FOLD(Z1)
	FOLD(Z2)
	FOLD(Z3)
	FOLD(Z4)
	FOLD(Z5)
	FOLD(Z6)
	FOLD(Z7)
	FOLD(Z8)
	FOLD(Z9)
	FOLD(Z10)
	FOLD(Z11)
	FOLD(Z12)
	FOLD(Z13)
	FOLD(Z14)
	FOLD(Z15)

	// Row r's four sums in X(4r), added to c's (when acc) and stored.
	SUM4(Y0, Y1, Y2, Y3, X0, X1)
	SUM4(Y4, Y5, Y6, Y7, X4, X5)
	SUM4(Y8, Y9, Y10, Y11, X8, X9)
	SUM4(Y12, Y13, Y14, Y15, X12, X13)
	LEAQ (DI)(R8*2), R13
	CMPB acc+64(FP), $0
	JEQ  store
	VADDPS (DI), X0, X0
	VADDPS (DI)(R8*1), X4, X4
	VADDPS (R13), X8, X8
	VADDPS (R13)(R8*1), X12, X12

store:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (DI)(R8*1)
	VMOVUPS X8, (R13)
	VMOVUPS X12, (R13)(R8*1)
	ADDQ    $16, DI
	MOVQ    ldb+40(FP), R13
	SHLQ    $4, R13             // four rows of b
	ADDQ    R13, DX
	DECQ    R10
	JNZ     quad
	VZEROUPPER
	RET

// func transposePanelAVX512(dst, src *float32, lds, kk int)
//
// dst (kk rows of 64 floats) = the transpose of src's 64 rows of kk floats
// (lds apart), kk a multiple of 16: sixteen rows of src at a time (R13
// groups), a 16×16 block at a time along them (CX blocks): rows in Z0–Z15,
// interleaved by single floats, pairs, groups of four and of eight. Each load asks for the line 512 bytes further along its row, so
// that the sixteen rows stream in from memory ahead of the blocks (the weight
// of a layer is read once per panel, and comes from beyond the second-level
// cache).
TEXT ·transposePanelAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), R9
	SHLQ $2, R9
	MOVQ kk+24(FP), R10
	SHRQ $4, R10
	MOVQ R9, R8
	SHLQ $4, R8
	MOVQ $4, R13
	TESTQ R10, R10
	JZ   tpDone

tpGroup:
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R10, CX

tpBlock:
	MOVQ R11, AX
	VMOVUPS    (AX), Z0
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z1
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z2
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z3
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z4
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z5
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z6
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z7
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z8
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z9
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z10
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z11
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z12
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z13
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z14
	PREFETCHT0 512(AX)
	ADDQ       R9, AX
	VMOVUPS    (AX), Z15
	PREFETCHT0 512(AX)
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0xdd, Z4, Z0, Z20
	VSHUFF32X4 $0x88, Z12, Z8, Z24
	VSHUFF32X4 $0xdd, Z12, Z8, Z28
	VSHUFF32X4 $0x88, Z5, Z1, Z17
	VSHUFF32X4 $0xdd, Z5, Z1, Z21
	VSHUFF32X4 $0x88, Z13, Z9, Z25
	VSHUFF32X4 $0xdd, Z13, Z9, Z29
	VSHUFF32X4 $0x88, Z6, Z2, Z18
	VSHUFF32X4 $0xdd, Z6, Z2, Z22
	VSHUFF32X4 $0x88, Z14, Z10, Z26
	VSHUFF32X4 $0xdd, Z14, Z10, Z30
	VSHUFF32X4 $0x88, Z7, Z3, Z19
	VSHUFF32X4 $0xdd, Z7, Z3, Z23
	VSHUFF32X4 $0x88, Z15, Z11, Z27
	VSHUFF32X4 $0xdd, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z24, Z16, Z0
	VSHUFF32X4 $0x88, Z28, Z20, Z4
	VSHUFF32X4 $0xdd, Z24, Z16, Z8
	VSHUFF32X4 $0xdd, Z28, Z20, Z12
	VSHUFF32X4 $0x88, Z25, Z17, Z1
	VSHUFF32X4 $0x88, Z29, Z21, Z5
	VSHUFF32X4 $0xdd, Z25, Z17, Z9
	VSHUFF32X4 $0xdd, Z29, Z21, Z13
	VSHUFF32X4 $0x88, Z26, Z18, Z2
	VSHUFF32X4 $0x88, Z30, Z22, Z6
	VSHUFF32X4 $0xdd, Z26, Z18, Z10
	VSHUFF32X4 $0xdd, Z30, Z22, Z14
	VSHUFF32X4 $0x88, Z27, Z19, Z3
	VSHUFF32X4 $0x88, Z31, Z23, Z7
	VSHUFF32X4 $0xdd, Z27, Z19, Z11
	VSHUFF32X4 $0xdd, Z31, Z23, Z15
	MOVQ R12, BX
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, 256(BX)
	VMOVUPS Z2, 512(BX)
	VMOVUPS Z3, 768(BX)
	VMOVUPS Z4, 1024(BX)
	VMOVUPS Z5, 1280(BX)
	VMOVUPS Z6, 1536(BX)
	VMOVUPS Z7, 1792(BX)
	VMOVUPS Z8, 2048(BX)
	VMOVUPS Z9, 2304(BX)
	VMOVUPS Z10, 2560(BX)
	VMOVUPS Z11, 2816(BX)
	VMOVUPS Z12, 3072(BX)
	VMOVUPS Z13, 3328(BX)
	VMOVUPS Z14, 3584(BX)
	VMOVUPS Z15, 3840(BX)
	ADDQ $64, R11
	ADDQ $4096, R12
	DECQ CX
	JNZ  tpBlock
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ R13
	JNZ  tpGroup

tpDone:
	VZEROUPPER
	RET
