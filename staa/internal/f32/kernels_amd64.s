//go:build !purego

#include "textflag.h"

// The kernels work on 8-lane YMM vectors, four at a time (32 floats) in the
// main loop, then one at a time, then a masked vector for the last n mod 8
// elements (masked-out lanes are neither read nor written, and load as 0).
// Sums go into four accumulators Y8–Y11 in the order documented on Sum
// (generic.go spells it out in Go); REDUCE folds them into X0. No load or
// result depends on the alignment of the data.

// maskTable<>+4·(8−r) holds the mask of the first r lanes.
DATA maskTable<>+0(SB)/4, $0xffffffff
DATA maskTable<>+4(SB)/4, $0xffffffff
DATA maskTable<>+8(SB)/4, $0xffffffff
DATA maskTable<>+12(SB)/4, $0xffffffff
DATA maskTable<>+16(SB)/4, $0xffffffff
DATA maskTable<>+20(SB)/4, $0xffffffff
DATA maskTable<>+24(SB)/4, $0xffffffff
DATA maskTable<>+28(SB)/4, $0xffffffff
DATA maskTable<>+32(SB)/4, $0
DATA maskTable<>+36(SB)/4, $0
DATA maskTable<>+40(SB)/4, $0
DATA maskTable<>+44(SB)/4, $0
DATA maskTable<>+48(SB)/4, $0
DATA maskTable<>+52(SB)/4, $0
DATA maskTable<>+56(SB)/4, $0
DATA maskTable<>+60(SB)/4, $0
GLOBL maskTable<>(SB), RODATA|NOPTR, $64

// MASK loads into Y7 the mask of the first CX lanes (1 ≤ CX ≤ 7).
#define MASK \
	LEAQ    maskTable<>(SB), AX; \
	MOVQ    $8, DX;              \
	SUBQ    CX, DX;              \
	VMOVDQU (AX)(DX*4), Y7

// X0 = ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)), v = (Y8+Y9)+(Y10+Y11).
#define REDUCE \
	VADDPS       Y9, Y8, Y8;    \
	VADDPS       Y11, Y10, Y10; \
	VADDPS       Y10, Y8, Y8;   \
	VEXTRACTF128 $1, Y8, X1;    \
	VADDPS       X1, X8, X0;    \
	VMOVHLPS     X0, X0, X1;    \
	VADDPS       X1, X0, X0;    \
	VMOVSHDUP    X0, X1;        \
	VADDSS       X1, X0, X0

// SUM adds the CX ≥ 1 floats at SI into Y8–Y11 in Sum's order, advancing SI
// and CX (the masked tail leaves them); its labels are local to the
// one function that uses it.
#define SUM \
	CMPQ CX, $64;              \
	JL   s_32;                \
s_64:                         \
	VADDPS (SI), Y8, Y8;       \
	VADDPS 32(SI), Y9, Y9;     \
	VADDPS 64(SI), Y10, Y10;   \
	VADDPS 96(SI), Y11, Y11;   \
	VADDPS 128(SI), Y8, Y8;    \
	VADDPS 160(SI), Y9, Y9;    \
	VADDPS 192(SI), Y10, Y10;  \
	VADDPS 224(SI), Y11, Y11;  \
	ADDQ   $256, SI;           \
	SUBQ   $64, CX;            \
	CMPQ   CX, $64;            \
	JGE    s_64;              \
s_32:                         \
	CMPQ   CX, $32;            \
	JL     s_8;               \
	VADDPS (SI), Y8, Y8;       \
	VADDPS 32(SI), Y9, Y9;     \
	VADDPS 64(SI), Y10, Y10;   \
	VADDPS 96(SI), Y11, Y11;   \
	ADDQ   $128, SI;           \
	SUBQ   $32, CX;            \
s_8:                          \
	CMPQ   CX, $8;             \
	JL     s_Tail;            \
	VADDPS (SI), Y8, Y8;       \
	ADDQ   $32, SI;            \
	SUBQ   $8, CX;             \
	JMP    s_8;               \
s_Tail:                       \
	TESTQ      CX, CX;         \
	JZ         s_Done;        \
	MASK;                      \
	VMASKMOVPS (SI), Y7, Y0;   \
	VADDPS     Y0, Y8, Y8;     \
s_Done:

// func sumAVX2(x *float32, n int) float32
//
// Two 32-element blocks per iteration of the main loop: the same order as
// one at a time.
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	SUM
	REDUCE
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// rowOrder<> puts the sums of 8 rows, reduced as [r0 r2 r4 r6 | r1 r3 r5 r7],
// back in order (VPERMPS indices).
DATA rowOrder<>+0(SB)/4, $0
DATA rowOrder<>+4(SB)/4, $4
DATA rowOrder<>+8(SB)/4, $1
DATA rowOrder<>+12(SB)/4, $5
DATA rowOrder<>+16(SB)/4, $2
DATA rowOrder<>+20(SB)/4, $6
DATA rowOrder<>+24(SB)/4, $3
DATA rowOrder<>+28(SB)/4, $7
GLOBL rowOrder<>(SB), RODATA|NOPTR, $32

// func sumEachAVX2(sums, x *float32, n, rows int)
//
// sumAVX2 of each of rows consecutive rows of n ≥ 1 floats: one call for a
// block of short rows.
//
// Rows of fewer than 32 floats go 8 at a time: Sum adds such a row into one
// accumulator (from zero, its 8-float chunks in order, then the masked
// tail; the other three stay zero and change nothing), so the 8 rows'
// accumulators Y8–Y15 are built side by side, and REDUCE's steps — low half
// plus high half, then lanes 0+2 and 1+3, then those two — are done for the
// 8 rows at once with shuffles: 3 vector additions for 8 rows instead of 5
// scalar steps per row, and the same sums.
TEXT ·sumEachAVX2(SB), NOSPLIT, $0-32
	MOVQ sums+0(FP), DI
	MOVQ x+8(FP), R10
	MOVQ n+16(FP), R8
	MOVQ rows+24(FP), R9
	CMPQ R8, $32
	JGE  eachRow

	MOVQ R8, R12
	SHLQ $2, R12             // the stride of a row, in bytes
	LEAQ (R12)(R12*2), R13   // 3 strides
	LEAQ (R12)(R12*4), R14   // 5 strides
	LEAQ (R13)(R12*4), BX    // 7 strides
	MOVQ R8, R11
	SHRQ $3, R11             // full chunks per row
	MOVQ R8, CX
	ANDQ $7, CX              // the tail
	JZ   batch
	MASK

batch:
	CMPQ   R9, $8
	JL     eachRest
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ   R10, SI
	MOVQ   R11, AX

batchChunk:
	TESTQ  AX, AX
	JZ     batchTail
	VADDPS (SI), Y8, Y8
	VADDPS (SI)(R12*1), Y9, Y9
	VADDPS (SI)(R12*2), Y10, Y10
	VADDPS (SI)(R13*1), Y11, Y11
	VADDPS (SI)(R12*4), Y12, Y12
	VADDPS (SI)(R14*1), Y13, Y13
	VADDPS (SI)(R13*2), Y14, Y14
	VADDPS (SI)(BX*1), Y15, Y15
	ADDQ   $32, SI
	DECQ   AX
	JMP    batchChunk

batchTail:
	TESTQ      CX, CX
	JZ         batchReduce
	VMASKMOVPS (SI), Y7, Y0
	VADDPS     Y0, Y8, Y8
	VMASKMOVPS (SI)(R12*1), Y7, Y0
	VADDPS     Y0, Y9, Y9
	VMASKMOVPS (SI)(R12*2), Y7, Y0
	VADDPS     Y0, Y10, Y10
	VMASKMOVPS (SI)(R13*1), Y7, Y0
	VADDPS     Y0, Y11, Y11
	VMASKMOVPS (SI)(R12*4), Y7, Y0
	VADDPS     Y0, Y12, Y12
	VMASKMOVPS (SI)(R14*1), Y7, Y0
	VADDPS     Y0, Y13, Y13
	VMASKMOVPS (SI)(R13*2), Y7, Y0
	VADDPS     Y0, Y14, Y14
	VMASKMOVPS (SI)(BX*1), Y7, Y0
	VADDPS     Y0, Y15, Y15

batchReduce:
	// low half + high half: [h(row 2i) | h(row 2i+1)], h = 4 floats
	VPERM2F128 $0x20, Y9, Y8, Y0
	VPERM2F128 $0x31, Y9, Y8, Y1
	VADDPS     Y1, Y0, Y0
	VPERM2F128 $0x20, Y11, Y10, Y1
	VPERM2F128 $0x31, Y11, Y10, Y2
	VADDPS     Y2, Y1, Y1
	VPERM2F128 $0x20, Y13, Y12, Y2
	VPERM2F128 $0x31, Y13, Y12, Y3
	VADDPS     Y3, Y2, Y2
	VPERM2F128 $0x20, Y15, Y14, Y3
	VPERM2F128 $0x31, Y15, Y14, Y4
	VADDPS     Y4, Y3, Y3
	// h0+h2 and h1+h3
	VSHUFPS    $0x44, Y1, Y0, Y4
	VSHUFPS    $0xEE, Y1, Y0, Y5
	VADDPS     Y5, Y4, Y4
	VSHUFPS    $0x44, Y3, Y2, Y5
	VSHUFPS    $0xEE, Y3, Y2, Y6
	VADDPS     Y6, Y5, Y5
	// (h0+h2) + (h1+h3): [r0 r2 r4 r6 | r1 r3 r5 r7], then in order
	VSHUFPS    $0x88, Y5, Y4, Y0
	VSHUFPS    $0xDD, Y5, Y4, Y1
	VADDPS     Y1, Y0, Y0
	VMOVDQU    rowOrder<>(SB), Y1
	VPERMPS    Y0, Y1, Y0
	VMOVUPS    Y0, (DI)
	ADDQ       $32, DI
	LEAQ       (R10)(R12*8), R10
	SUBQ       $8, R9
	JMP        batch

eachRest:
	TESTQ R9, R9
	JZ    eachDone

eachRow:
	MOVQ   R10, SI
	MOVQ   R8, CX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	SUM
	REDUCE
	MOVSS  X0, (DI)
	ADDQ   $4, DI
	LEAQ   (R10)(R8*4), R10
	DECQ   R9
	JNZ    eachRow

eachDone:
	VZEROUPPER
	RET

// ROWS is the body of the row kernels. Registers on entry: DI dst, SI row 0
// of the source, BX row 0 of the second source (grad; SI otherwise), CX n,
// R9 rows, R10 the stride in elements. For each chunk of dst (four vectors,
// then one, then a masked one), FIRST(i, Yacc) loads vector i of row 0's
// chunk, NEXT(i, Yacc) folds in vector i of the next row's (at R8, R12),
// rows in order; the chunk is stored once and added into the accumulators.
// Y12 collects poison lanes (NaN where a value was not finite; the
// comparing kernels' only sign of one), added in before the reduction;
// Y13 is 0. Leaves the sum in X0.
#define ROWS \
	SHLQ   $2, R10;       \
	DECQ   R9;            \
	VXORPS Y8, Y8, Y8;    \
	VXORPS Y9, Y9, Y9;    \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
r32:                      \
	CMPQ   CX, $32;       \
	JL     r8;            \
	FIRST(0, Y0);         \
	FIRST(1, Y1);         \
	FIRST(2, Y2);         \
	FIRST(3, Y3);         \
	MOVQ   SI, R8;        \
	MOVQ   BX, R12;       \
	MOVQ   R9, R11;       \
	TESTQ  R11, R11;      \
	JZ     r32store;      \
r32next:                  \
	ADDQ   R10, R8;       \
	ADDQ   R10, R12;      \
	NEXT(0, Y0);          \
	NEXT(1, Y1);          \
	NEXT(2, Y2);          \
	NEXT(3, Y3);          \
	DECQ   R11;           \
	JNZ    r32next;       \
r32store:                 \
	VMOVUPS Y0, (DI);     \
	VMOVUPS Y1, 32(DI);   \
	VMOVUPS Y2, 64(DI);   \
	VMOVUPS Y3, 96(DI);   \
	VADDPS Y0, Y8, Y8;    \
	VADDPS Y1, Y9, Y9;    \
	VADDPS Y2, Y10, Y10;  \
	VADDPS Y3, Y11, Y11;  \
	ADDQ   $128, SI;      \
	ADDQ   $128, BX;      \
	ADDQ   $128, DI;      \
	SUBQ   $32, CX;       \
	JMP    r32;           \
r8:                       \
	CMPQ   CX, $8;        \
	JL     rtail;         \
	FIRST(0, Y0);         \
	MOVQ   SI, R8;        \
	MOVQ   BX, R12;       \
	MOVQ   R9, R11;       \
	TESTQ  R11, R11;      \
	JZ     r8store;       \
r8next:                   \
	ADDQ   R10, R8;       \
	ADDQ   R10, R12;      \
	NEXT(0, Y0);          \
	DECQ   R11;           \
	JNZ    r8next;        \
r8store:                  \
	VMOVUPS Y0, (DI);     \
	VADDPS Y0, Y8, Y8;    \
	ADDQ   $32, SI;       \
	ADDQ   $32, BX;       \
	ADDQ   $32, DI;       \
	SUBQ   $8, CX;        \
	JMP    r8;            \
rtail:                    \
	TESTQ  CX, CX;        \
	JZ     rdone;         \
	MASK;                 \
	FIRSTM(Y0);           \
	MOVQ   SI, R8;        \
	MOVQ   BX, R12;       \
	MOVQ   R9, R11;       \
	TESTQ  R11, R11;      \
	JZ     rtailstore;    \
rtailnext:                \
	ADDQ   R10, R8;       \
	ADDQ   R10, R12;      \
	NEXTM(Y0);            \
	DECQ   R11;           \
	JNZ    rtailnext;     \
rtailstore:               \
	VMASKMOVPS Y0, Y7, (DI); \
	VADDPS Y0, Y8, Y8;    \
rdone:                    \
	VADDPS Y12, Y8, Y8;   \
	REDUCE;               \
	VZEROUPPER

// POISON ors into Y12 the lanes of y−y: 0 for a finite value, NaN otherwise.
#define POISON(y) VSUBPS y, y, Y5; VORPS Y5, Y12, Y12

// func sumRowsAVX2(dst, src *float32, n, rows, stride int) float32
#define FIRST(i, acc) VMOVUPS (i*32)(SI), acc
#define NEXT(i, acc) VADDPS (i*32)(R8), acc, acc
#define FIRSTM(acc) VMASKMOVPS (SI), Y7, acc
#define NEXTM(acc) VMASKMOVPS (R8), Y7, Y4; VADDPS Y4, acc, acc
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ SI, BX
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), R9
	MOVQ stride+32(FP), R10
	ROWS
	MOVSS X0, ret+40(FP)
	RET
#undef FIRST
#undef NEXT
#undef FIRSTM
#undef NEXTM

// func maxRowsAVX2(dst, src *float32, n, rows, stride int) float32
//
// VMAXPS acc, x, acc sets acc = x > acc ? x : acc (acc if either is NaN).
#define FIRST(i, acc) VMOVUPS (i*32)(SI), acc; POISON(acc)
#define NEXT(i, acc) VMOVUPS (i*32)(R8), Y4; POISON(Y4); VMAXPS acc, Y4, acc
#define FIRSTM(acc) VMASKMOVPS (SI), Y7, acc; POISON(acc)
#define NEXTM(acc) VMASKMOVPS (R8), Y7, Y4; POISON(Y4); VMAXPS acc, Y4, acc
TEXT ·maxRowsAVX2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ SI, BX
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), R9
	MOVQ stride+32(FP), R10
	ROWS
	MOVSS X0, ret+40(FP)
	RET
#undef FIRST
#undef NEXT
#undef FIRSTM
#undef NEXTM

// func minRowsAVX2(dst, src *float32, n, rows, stride int) float32
//
// VMINPS acc, x, acc sets acc = x < acc ? x : acc (acc if either is NaN).
#define FIRST(i, acc) VMOVUPS (i*32)(SI), acc; POISON(acc)
#define NEXT(i, acc) VMOVUPS (i*32)(R8), Y4; POISON(Y4); VMINPS acc, Y4, acc
#define FIRSTM(acc) VMASKMOVPS (SI), Y7, acc; POISON(acc)
#define NEXTM(acc) VMASKMOVPS (R8), Y7, Y4; POISON(Y4); VMINPS acc, Y4, acc
TEXT ·minRowsAVX2(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ SI, BX
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), R9
	MOVQ stride+32(FP), R10
	ROWS
	MOVSS X0, ret+40(FP)
	RET
#undef FIRST
#undef NEXT
#undef FIRSTM
#undef NEXTM

// func sumPosProdRowsAVX2(dst, a, b *float32, n, rows, stride int) float32
//
// p = a·b, then VMAXPS Y13, p, p sets p = p > 0 ? p : 0 (0 for a NaN).
#define FIRST(i, acc) VMOVUPS (i*32)(SI), acc; VMULPS (i*32)(BX), acc, acc; POISON(acc); VMAXPS Y13, acc, acc
#define NEXT(i, acc) VMOVUPS (i*32)(R8), Y4; VMULPS (i*32)(R12), Y4, Y4; POISON(Y4); VMAXPS Y13, Y4, Y4; VADDPS Y4, acc, acc
#define FIRSTM(acc) VMASKMOVPS (SI), Y7, acc; VMASKMOVPS (BX), Y7, Y6; VMULPS Y6, acc, acc; POISON(acc); VMAXPS Y13, acc, acc
#define NEXTM(acc) VMASKMOVPS (R8), Y7, Y4; VMASKMOVPS (R12), Y7, Y6; VMULPS Y6, Y4, Y4; POISON(Y4); VMAXPS Y13, Y4, Y4; VADDPS Y4, acc, acc
TEXT ·sumPosProdRowsAVX2(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ rows+32(FP), R9
	MOVQ stride+40(FP), R10
	ROWS
	MOVSS X0, ret+48(FP)
	RET
#undef FIRST
#undef NEXT
#undef FIRSTM
#undef NEXTM

// AXPY sets y += Y15·x for the CX ≥ 1 floats at SI (x) and DI (y), each
// product rounded before the add; its labels are local to the
// one function that uses it.
#define AXPY \
a_32:                        \
	CMPQ    CX, $32;          \
	JL      a_8;             \
	VMULPS  (SI), Y15, Y0;    \
	VMULPS  32(SI), Y15, Y1;  \
	VMULPS  64(SI), Y15, Y2;  \
	VMULPS  96(SI), Y15, Y3;  \
	VADDPS  (DI), Y0, Y0;     \
	VADDPS  32(DI), Y1, Y1;   \
	VADDPS  64(DI), Y2, Y2;   \
	VADDPS  96(DI), Y3, Y3;   \
	VMOVUPS Y0, (DI);         \
	VMOVUPS Y1, 32(DI);       \
	VMOVUPS Y2, 64(DI);       \
	VMOVUPS Y3, 96(DI);       \
	ADDQ    $128, SI;         \
	ADDQ    $128, DI;         \
	SUBQ    $32, CX;          \
	JMP     a_32;            \
a_8:                         \
	CMPQ    CX, $8;           \
	JL      a_Tail;          \
	VMULPS  (SI), Y15, Y0;    \
	VADDPS  (DI), Y0, Y0;     \
	VMOVUPS Y0, (DI);         \
	ADDQ    $32, SI;          \
	ADDQ    $32, DI;          \
	SUBQ    $8, CX;           \
	JMP     a_8;             \
a_Tail:                      \
	TESTQ  CX, CX;            \
	JZ     a_Done;           \
	VMOVSS (SI), X0;          \
	VMULSS X15, X0, X0;       \
	VADDSS (DI), X0, X0;      \
	VMOVSS X0, (DI);          \
	ADDQ   $4, SI;            \
	ADDQ   $4, DI;            \
	DECQ   CX;                \
	JMP    a_Tail;           \
a_Done:

// func axpyAVX2(a float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	AXPY
	VZEROUPPER
	RET

// func axpyRowsAVX2(y, a, x, d *float32, n, rows int)
//
// axpyAVX2(a[k], row k of x, y, n) for k = 0 … rows−1 in turn, the rows of
// n ≥ 1 floats consecutive in x: one call for a block of short rows; then,
// if d is not nil, y[j] += d[j].
//
// Rows of up to 32 floats keep y in registers for the whole block (Y8–Y11
// its full vectors, Y12 its last n mod 8 values, masked): each element still
// gets y + a[k]·x[k] for k in turn, then + d, so the results are the same,
// without a store and a load of y per row.
TEXT ·axpyRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), R11
	MOVQ a+8(FP), BX
	MOVQ x+16(FP), SI
	MOVQ d+24(FP), R13
	MOVQ n+32(FP), R8
	MOVQ rows+40(FP), R9
	CMPQ R8, $32
	JG   axpyRow

	MOVQ R8, R10
	SHRQ $3, R10      // full vectors
	MOVQ R10, R12
	SHLQ $5, R12      // their bytes: the tail's offset
	MOVQ R8, CX
	ANDQ $7, CX       // tail
	JZ   smallLoad
	MASK
	VMASKMOVPS (R11)(R12*1), Y7, Y12

smallLoad:
	CMPQ    R10, $1
	JL      smallRow
	VMOVUPS (R11), Y8
	CMPQ    R10, $2
	JL      smallRow
	VMOVUPS 32(R11), Y9
	CMPQ    R10, $3
	JL      smallRow
	VMOVUPS 64(R11), Y10
	CMPQ    R10, $4
	JL      smallRow
	VMOVUPS 96(R11), Y11

smallRow:
	// One row loop per count of full vectors (0–4), chosen once: the
	// same operations per row as one loop with a test per vector.
	CMPQ R10, $2
	JL   smallRows01
	JE   smallRow2
	CMPQ R10, $3
	JE   smallRow3
	JMP  smallRow4

smallRows01:
	TESTQ R10, R10
	JNZ   smallRow1

smallRow0:
	VBROADCASTSS (BX), Y13
	VMASKMOVPS   (SI), Y7, Y1
	VMULPS       Y1, Y13, Y1
	VADDPS       Y1, Y12, Y12
	LEAQ         (SI)(R8*4), SI
	ADDQ         $4, BX
	DECQ         R9
	JNZ          smallRow0
	JMP          smallRowsDone

smallRow1:
	VBROADCASTSS (BX), Y13
	VMULPS       (SI), Y13, Y0
	VADDPS       Y0, Y8, Y8
	TESTQ        CX, CX
	JZ           smallNext1
	VMASKMOVPS   32(SI), Y7, Y1
	VMULPS       Y1, Y13, Y1
	VADDPS       Y1, Y12, Y12

smallNext1:
	LEAQ (SI)(R8*4), SI
	ADDQ $4, BX
	DECQ R9
	JNZ  smallRow1
	JMP  smallRowsDone

smallRow2:
	VBROADCASTSS (BX), Y13
	VMULPS       (SI), Y13, Y0
	VADDPS       Y0, Y8, Y8
	VMULPS       32(SI), Y13, Y0
	VADDPS       Y0, Y9, Y9
	TESTQ        CX, CX
	JZ           smallNext2
	VMASKMOVPS   64(SI), Y7, Y1
	VMULPS       Y1, Y13, Y1
	VADDPS       Y1, Y12, Y12

smallNext2:
	LEAQ (SI)(R8*4), SI
	ADDQ $4, BX
	DECQ R9
	JNZ  smallRow2
	JMP  smallRowsDone

smallRow3:
	VBROADCASTSS (BX), Y13
	VMULPS       (SI), Y13, Y0
	VADDPS       Y0, Y8, Y8
	VMULPS       32(SI), Y13, Y0
	VADDPS       Y0, Y9, Y9
	VMULPS       64(SI), Y13, Y0
	VADDPS       Y0, Y10, Y10
	TESTQ        CX, CX
	JZ           smallNext3
	VMASKMOVPS   96(SI), Y7, Y1
	VMULPS       Y1, Y13, Y1
	VADDPS       Y1, Y12, Y12

smallNext3:
	LEAQ (SI)(R8*4), SI
	ADDQ $4, BX
	DECQ R9
	JNZ  smallRow3
	JMP  smallRowsDone

smallRow4: // n = 32: no tail
	VBROADCASTSS (BX), Y13
	VMULPS       (SI), Y13, Y0
	VADDPS       Y0, Y8, Y8
	VMULPS       32(SI), Y13, Y0
	VADDPS       Y0, Y9, Y9
	VMULPS       64(SI), Y13, Y0
	VADDPS       Y0, Y10, Y10
	VMULPS       96(SI), Y13, Y0
	VADDPS       Y0, Y11, Y11
	LEAQ         (SI)(R8*4), SI
	ADDQ         $4, BX
	DECQ         R9
	JNZ          smallRow4

smallRowsDone:
	TESTQ  R13, R13
	JZ     smallStore
	CMPQ   R10, $1
	JL     smallDiagTail
	VADDPS (R13), Y8, Y8
	CMPQ   R10, $2
	JL     smallDiagTail
	VADDPS 32(R13), Y9, Y9
	CMPQ   R10, $3
	JL     smallDiagTail
	VADDPS 64(R13), Y10, Y10
	CMPQ   R10, $4
	JL     smallDiagTail
	VADDPS 96(R13), Y11, Y11

smallDiagTail:
	TESTQ      CX, CX
	JZ         smallStore
	VMASKMOVPS (R13)(R12*1), Y7, Y1
	VADDPS     Y1, Y12, Y12

smallStore:
	CMPQ    R10, $1
	JL      smallStoreTail
	VMOVUPS Y8, (R11)
	CMPQ    R10, $2
	JL      smallStoreTail
	VMOVUPS Y9, 32(R11)
	CMPQ    R10, $3
	JL      smallStoreTail
	VMOVUPS Y10, 64(R11)
	CMPQ    R10, $4
	JL      smallStoreTail
	VMOVUPS Y11, 96(R11)

smallStoreTail:
	TESTQ      CX, CX
	JZ         smallDone
	VMASKMOVPS Y12, Y7, (R11)(R12*1)

smallDone:
	VZEROUPPER
	RET

axpyRow:
	VBROADCASTSS (BX), Y15
	MOVQ         R11, DI
	MOVQ         R8, CX
	AXPY
	ADDQ         $4, BX
	DECQ         R9
	JNZ          axpyRow

	TESTQ R13, R13
	JZ    axpyRowsDone
	MOVQ  R11, DI
	MOVQ  R8, CX

diag8:
	CMPQ    CX, $8
	JL      diagTail
	VMOVUPS (DI), Y0
	VADDPS  (R13), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, R13
	SUBQ    $8, CX
	JMP     diag8

diagTail:
	TESTQ  CX, CX
	JZ     axpyRowsDone
	VMOVSS (DI), X0
	VADDSS (R13), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, R13
	DECQ   CX
	JMP    diagTail

axpyRowsDone:
	VZEROUPPER
	RET

// WEIGHTS computes RolloutWeight on 8 lanes: Y0 the sums, Y1 the weights v;
// Y10 scale, Y11 a, Y12 b, Y13 alpha, Y14 zero. Leaves coef in Y2, diag in
// Y3; jumps to weightsBad if a lane's s is not finite (masked-out lanes load
// as 0, which is finite).
#define WEIGHTS \
	VMULPS    Y10, Y0, Y0;  \
	VSUBPS    Y0, Y0, Y4;   \
	VCMPPS    $4, Y14, Y4, Y4; \
	VPTEST    Y4, Y4;       \
	JNZ       weightsBad;   \
	VMULPS    Y11, Y0, Y5;  \
	VADDPS    Y13, Y5, Y5;  \
	VDIVPS    Y5, Y1, Y6;   \
	VCMPPS    $0, Y14, Y5, Y5; \
	VANDNPS   Y6, Y5, Y6;   \
	VMULPS    Y12, Y6, Y2;  \
	VMULPS    Y13, Y6, Y3

// func rolloutWeightsAVX2(coef, diag, v, sums *float32, m int, scale, a, b, alpha float32) bool
//
// 8 rows at a time (a masked vector for the last m mod 8): the operations of
// RolloutWeight, lane by lane, in the same order. A lane whose r is 0 gets 0
// weights (its w, an infinity or a NaN, is cleared). Returns false at the
// first vector holding a sum that is not finite (s − s ≠ 0).
TEXT ·rolloutWeightsAVX2(SB), NOSPLIT, $0-57
	MOVQ         coef+0(FP), DI
	MOVQ         diag+8(FP), R8
	MOVQ         v+16(FP), SI
	MOVQ         sums+24(FP), BX
	MOVQ         m+32(FP), CX
	VBROADCASTSS scale+40(FP), Y10
	VBROADCASTSS a+44(FP), Y11
	VBROADCASTSS b+48(FP), Y12
	VBROADCASTSS alpha+52(FP), Y13
	VXORPS       Y14, Y14, Y14

weights8:
	CMPQ    CX, $8
	JL      weightsTail
	VMOVUPS (BX), Y0
	VMOVUPS (SI), Y1
	WEIGHTS
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (R8)
	ADDQ    $32, BX
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R8
	SUBQ    $8, CX
	JMP     weights8

weightsTail:
	TESTQ      CX, CX
	JZ         weightsOK
	MASK
	VMASKMOVPS (BX), Y7, Y0
	VMASKMOVPS (SI), Y7, Y1
	WEIGHTS
	VMASKMOVPS Y2, Y7, (DI)
	VMASKMOVPS Y3, Y7, (R8)

weightsOK:
	VZEROUPPER
	MOVB $1, ret+56(FP)
	RET

weightsBad:
	VZEROUPPER
	MOVB $0, ret+56(FP)
	RET

// func fromHalfRowsAVX2(dst *float32, src *uint16, n, rows, stride int)
//
// VCVTPH2PS widens 8 binary16 values exactly. A row's last n mod 8 values
// are widened with the 8 that end the row (n ≥ 8): the lanes written twice
// get the same values.
TEXT ·fromHalfRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ rows+24(FP), R9
	MOVQ stride+32(FP), R10
	SHLQ $1, R10

halfRow:
	MOVQ SI, R8
	MOVQ DI, R11
	MOVQ CX, DX

half32:
	CMPQ      DX, $32
	JL        half8
	VCVTPH2PS (R8), Y0
	VCVTPH2PS 16(R8), Y1
	VCVTPH2PS 32(R8), Y2
	VCVTPH2PS 48(R8), Y3
	VMOVUPS   Y0, (R11)
	VMOVUPS   Y1, 32(R11)
	VMOVUPS   Y2, 64(R11)
	VMOVUPS   Y3, 96(R11)
	ADDQ      $64, R8
	ADDQ      $128, R11
	SUBQ      $32, DX
	JMP       half32

half8:
	CMPQ      DX, $8
	JL        halfTail
	VCVTPH2PS (R8), Y0
	VMOVUPS   Y0, (R11)
	ADDQ      $16, R8
	ADDQ      $32, R11
	SUBQ      $8, DX
	JMP       half8

halfTail:
	TESTQ     DX, DX
	JZ        halfNext
	MOVQ      $8, AX
	SUBQ      DX, AX
	SHLQ      $1, AX
	SUBQ      AX, R8
	SHLQ      $1, AX
	SUBQ      AX, R11
	VCVTPH2PS (R8), Y0
	VMOVUPS   Y0, (R11)

halfNext:
	ADDQ R10, SI
	LEAQ (DI)(CX*4), DI
	DECQ R9
	JNZ  halfRow
	VZEROUPPER
	RET

// func cpuidECX1() uint32: ECX of CPUID leaf 1 (bit 29: F16C).
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

// func sumStreamsAVX2(x *float32, seg, k int) float32
//
// k segments of seg floats (seg a positive multiple of 32), read in turn 32
// floats at a time: k streams in flight, which one core reads faster than one.
TEXT ·sumStreamsAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   seg+8(FP), CX
	MOVQ   k+16(FP), R9
	MOVQ   CX, R10
	SHLQ   $2, R10
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

streamsBlock:
	MOVQ SI, R8
	MOVQ R9, R11

streamsNext:
	VADDPS (R8), Y8, Y8
	VADDPS 32(R8), Y9, Y9
	VADDPS 64(R8), Y10, Y10
	VADDPS 96(R8), Y11, Y11
	ADDQ   R10, R8
	DECQ   R11
	JNZ    streamsNext
	ADDQ   $128, SI
	SUBQ   $32, CX
	JNZ    streamsBlock
	REDUCE
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET
