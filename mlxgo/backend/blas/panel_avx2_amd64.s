#include "textflag.h"
#include "panel_amd64.h"

// AVX2 forms of the kernels of panel_amd64.s, for CPUs without AVX-512: half
// as many registers, each half as wide.

// func panel64AVX2(c *float32, ldc int, a *float32, as, ak int, b *float32, ldb, m, k int, acc bool)
//
// The 64 columns as two halves of 32; in each, two rows of c at a time in
// eight registers (Y0–Y7), then one.
TEXT ·panel64AVX2(SB), NOSPLIT, $0-73
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ as+24(FP), R9
	SHLQ $2, R9
	MOVQ ak+32(FP), R10
	SHLQ $2, R10
	MOVQ ldb+48(FP), R11
	SHLQ $2, R11
	MOVQ k+64(FP), R13
	XORQ BX, BX // byte offset of the half: 0, then 128

half:
	MOVQ c+0(FP), DI
	ADDQ BX, DI
	MOVQ a+16(FP), SI
	MOVQ b+40(FP), DX
	ADDQ BX, DX
	MOVQ m+56(FP), R12

rows2:
	CMPQ R12, $2
	JLT  rows1
	CMPB acc+72(FP), $0
	JEQ  zero2
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS (DI)(R8*1), Y4
	VMOVUPS 32(DI)(R8*1), Y5
	VMOVUPS 64(DI)(R8*1), Y6
	VMOVUPS 96(DI)(R8*1), Y7
	JMP     k2

zero2:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

k2:
	MOVQ  SI, AX
	MOVQ  DX, R15
	MOVQ  R13, CX
	TESTQ CX, CX
	JZ    store2

loop2:
	VMOVUPS      (R15), Y8
	VMOVUPS      32(R15), Y9
	VMOVUPS      64(R15), Y10
	VMOVUPS      96(R15), Y11
	VBROADCASTSS (AX), Y12
	VBROADCASTSS (AX)(R9*1), Y13
	VFMADD231PS  Y8, Y12, Y0
	VFMADD231PS  Y9, Y12, Y1
	VFMADD231PS  Y10, Y12, Y2
	VFMADD231PS  Y11, Y12, Y3
	VFMADD231PS  Y8, Y13, Y4
	VFMADD231PS  Y9, Y13, Y5
	VFMADD231PS  Y10, Y13, Y6
	VFMADD231PS  Y11, Y13, Y7
	ADDQ         R10, AX
	ADDQ         R11, R15
	DECQ         CX
	JNZ          loop2

store2:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, (DI)(R8*1)
	VMOVUPS Y5, 32(DI)(R8*1)
	VMOVUPS Y6, 64(DI)(R8*1)
	VMOVUPS Y7, 96(DI)(R8*1)
	LEAQ    (DI)(R8*2), DI
	LEAQ    (SI)(R9*2), SI
	SUBQ    $2, R12
	JMP     rows2

rows1:
	TESTQ R12, R12
	JZ    nexthalf
	CMPB  acc+72(FP), $0
	JEQ   zero1
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	JMP     k1

zero1:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

k1:
	MOVQ  SI, AX
	MOVQ  DX, R15
	MOVQ  R13, CX
	TESTQ CX, CX
	JZ    store1

loop1:
	VBROADCASTSS (AX), Y12
	VFMADD231PS  (R15), Y12, Y0
	VFMADD231PS  32(R15), Y12, Y1
	VFMADD231PS  64(R15), Y12, Y2
	VFMADD231PS  96(R15), Y12, Y3
	ADDQ         R10, AX
	ADDQ         R11, R15
	DECQ         CX
	JNZ          loop1

store1:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)

nexthalf:
	ADDQ $128, BX
	CMPQ BX, $256
	JLT  half
	VZEROUPPER
	RET

// func dotTile4AVX2(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, quads, k int, acc bool)
//
// Rows 0–1 of c, then rows 2–3: for each group of four columns, accumulator
// Y(4r+j) holds eight partial sums of row r, column j.
TEXT ·dotTile4AVX2(SB), NOSPLIT, $0-65
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ lda+24(FP), R13
	SHLQ $2, R13
	MOVQ k+56(FP), CX
	SHLQ $2, CX
	MOVQ c+0(FP), DI
	MOVQ a+16(FP), SI
	MOVQ $2, BX // pairs of rows left

pair:
	LEAQ (SI)(R13*1), R9 // the pair's second row of a
	MOVQ b+32(FP), DX
	MOVQ quads+48(FP), R10
	PUSHQ DI

quad:
	MOVQ   ldb+40(FP), R11
	SHLQ   $2, R11
	LEAQ   (DX)(R11*1), R12 // row 1 of the group of b
	LEAQ   (DX)(R11*2), R14 // row 2
	LEAQ   (R14)(R11*1), R15 // row 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

dots:
	VMOVUPS     (SI)(AX*1), Y8
	VMOVUPS     (R9)(AX*1), Y9
	VMOVUPS     (DX)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS     (R12)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS     (R14)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMOVUPS     (R15)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y3
	VFMADD231PS Y11, Y9, Y7
	ADDQ        $32, AX
	CMPQ        AX, CX
	JLT         dots

	SUM4(Y0, Y1, Y2, Y3, X0, X1)
	SUM4(Y4, Y5, Y6, Y7, X4, X5)
	CMPB acc+64(FP), $0
	JEQ  store
	VADDPS (DI), X0, X0
	VADDPS (DI)(R8*1), X4, X4

store:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (DI)(R8*1)
	ADDQ    $16, DI
	SHLQ    $2, R11 // four rows of b
	ADDQ    R11, DX
	DECQ    R10
	JNZ     quad
	POPQ    DI
	LEAQ    (DI)(R8*2), DI // the next pair of rows of c
	LEAQ    (SI)(R13*2), SI
	DECQ    BX
	JNZ     pair
	VZEROUPPER
	RET

// func copyStripAVX2(dst, src *float32, lds, rows int)
//
// Copies rows rows of 64 floats, lds floats apart at src, one after another
// to dst, and asks for the row 16 ahead to be brought into cache (rows a
// weight's width apart fall on a new page every row or two, where the
// hardware's prefetcher does not follow).
TEXT ·copyStripAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), DX
	SHLQ $2, DX
	MOVQ rows+24(FP), CX
	MOVQ DX, R8
	SHLQ $4, R8
	TESTQ CX, CX
	JZ   stripDone

stripLoop:
	PREFETCHT0 (SI)(R8*1)
	PREFETCHT0 64(SI)(R8*1)
	PREFETCHT0 128(SI)(R8*1)
	PREFETCHT0 192(SI)(R8*1)
	VMOVUPS    (SI), Y0
	VMOVUPS    32(SI), Y1
	VMOVUPS    64(SI), Y2
	VMOVUPS    96(SI), Y3
	VMOVUPS    128(SI), Y4
	VMOVUPS    160(SI), Y5
	VMOVUPS    192(SI), Y6
	VMOVUPS    224(SI), Y7
	VMOVUPS    Y0, (DI)
	VMOVUPS    Y1, 32(DI)
	VMOVUPS    Y2, 64(DI)
	VMOVUPS    Y3, 96(DI)
	VMOVUPS    Y4, 128(DI)
	VMOVUPS    Y5, 160(DI)
	VMOVUPS    Y6, 192(DI)
	VMOVUPS    Y7, 224(DI)
	ADDQ       DX, SI
	ADDQ       $256, DI
	DECQ       CX
	JNZ        stripLoop

stripDone:
	VZEROUPPER
	RET

// func prefetchRows(src *float32, lds, rows, lines int)
//
// Asks for the first lines cache lines of rows rows of src (lds floats apart)
// to be brought into the second-level cache (PREFETCHT1).
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ lds+8(FP), DX
	SHLQ $2, DX
	MOVQ rows+16(FP), CX
	MOVQ lines+24(FP), R9
	TESTQ CX, CX
	JZ   pfDone
	TESTQ R9, R9
	JZ   pfDone

pfRow:
	MOVQ SI, AX
	MOVQ R9, BX

pfLine:
	PREFETCHT1 (AX)
	ADDQ       $64, AX
	DECQ       BX
	JNZ        pfLine
	ADDQ       DX, SI
	DECQ       CX
	JNZ        pfRow

pfDone:
	RET
