//go:build !purego

#include "textflag.h"

// func transposeTilesAVX2(dst, src *float32, rows, cols int)
//
// dst[c·rows + r] = src[r·cols + c] for the full 8×8 tiles of a rows × cols
// matrix (r < rows&^7, c < cols&^7): each tile is 8 row loads, 24 shuffles
// and 8 row stores; the caller does the edges.
TEXT ·transposeTilesAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ R9, R10
	SHLQ $2, R10          // source row stride in bytes
	MOVQ R8, R11
	SHLQ $2, R11          // destination row stride in bytes
	MOVQ R8, R12
	SHRQ $3, R12          // row tiles
	MOVQ R9, R13
	SHRQ $3, R13          // column tiles
	TESTQ R12, R12
	JZ    tDone
	TESTQ R13, R13
	JZ    tDone
	XORQ  BX, BX          // row tile

tRow:
	XORQ CX, CX           // column tile

tCol:
	// AX = src + (8·BX·cols + 8·CX)·4
	MOVQ BX, AX
	IMULQ R10, AX
	SHLQ $3, AX
	LEAQ (AX)(CX*8), AX
	LEAQ (AX)(CX*8), AX
	LEAQ (AX)(CX*8), AX
	LEAQ (AX)(CX*8), AX
	ADDQ SI, AX
	VMOVUPS (AX), Y0
	ADDQ    R10, AX
	VMOVUPS (AX), Y1
	ADDQ    R10, AX
	VMOVUPS (AX), Y2
	ADDQ    R10, AX
	VMOVUPS (AX), Y3
	ADDQ    R10, AX
	VMOVUPS (AX), Y4
	ADDQ    R10, AX
	VMOVUPS (AX), Y5
	ADDQ    R10, AX
	VMOVUPS (AX), Y6
	ADDQ    R10, AX
	VMOVUPS (AX), Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xee, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xee, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xee, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xee, Y15, Y13, Y7

	// DX = dst + (8·CX·rows + 8·BX)·4
	MOVQ CX, DX
	IMULQ R11, DX
	SHLQ $3, DX
	LEAQ (DX)(BX*8), DX
	LEAQ (DX)(BX*8), DX
	LEAQ (DX)(BX*8), DX
	LEAQ (DX)(BX*8), DX
	ADDQ DI, DX
	VPERM2F128 $0x20, Y4, Y0, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x20, Y5, Y1, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x20, Y6, Y2, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x20, Y7, Y3, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x31, Y4, Y0, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x31, Y5, Y1, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x31, Y6, Y2, Y8
	VMOVUPS    Y8, (DX)
	ADDQ       R11, DX
	VPERM2F128 $0x31, Y7, Y3, Y8
	VMOVUPS    Y8, (DX)

	INCQ CX
	CMPQ CX, R13
	JL   tCol
	INCQ BX
	CMPQ BX, R12
	JL   tRow

tDone:
	VZEROUPPER
	RET

// func hasZeroAVX2(x *float32, n int) bool
//
// Whether one of the n&^7 first values compares equal to 0 (±0; not NaN);
// the caller checks the rest.
TEXT ·hasZeroAVX2(SB), NOSPLIT, $0-17
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $3, CX
	VXORPS Y15, Y15, Y15
	TESTQ  CX, CX
	JZ     zNone

zNext:
	VCMPPS $0, (SI), Y15, Y0
	VPTEST Y0, Y0
	JNZ    zFound
	ADDQ   $32, SI
	DECQ   CX
	JNZ    zNext

zNone:
	VZEROUPPER
	MOVB $0, ret+16(FP)
	RET

zFound:
	VZEROUPPER
	MOVB $1, ret+16(FP)
	RET

// func prefetchL2(p unsafe.Pointer, bytes int)
//
// PREFETCHT1 for each 64-byte line of [p, p+bytes), bytes ≥ 1.
TEXT ·prefetchL2(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ bytes+8(FP), CX
	LEAQ (SI)(CX*1), DI
	ANDQ $-64, SI

prefetchNext:
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DI
	JB         prefetchNext
	RET

// func sumRowsEachAVX2(dst, src *float32, n, rows, stride, groups, gstride int) float32
//
// sumRowsAVX2 for groups ≥ 1 groups in turn, group g at dst + g·n and
// src + g·gstride; returns the sum of the returns, added in group order.
// The loop is here rather than in Go: small models have many small groups.
TEXT ·sumRowsEachAVX2(SB), NOSPLIT, $80-60
	MOVQ   dst+0(FP), AX
	MOVQ   AX, 48(SP)     // this group's dst
	MOVQ   src+8(FP), AX
	MOVQ   AX, 56(SP)     // and src
	MOVQ   groups+40(FP), AX
	MOVQ   AX, 64(SP)     // groups left
	XORPS  X0, X0
	MOVSS  X0, 72(SP)     // the sum

sreNext:
	MOVQ  48(SP), AX
	MOVQ  AX, 0(SP)
	MOVQ  56(SP), AX
	MOVQ  AX, 8(SP)
	MOVQ  n+16(FP), AX
	MOVQ  AX, 16(SP)
	MOVQ  rows+24(FP), AX
	MOVQ  AX, 24(SP)
	MOVQ  stride+32(FP), AX
	MOVQ  AX, 32(SP)
	CALL  ·sumRowsAVX2(SB)
	MOVSS 72(SP), X0
	ADDSS 40(SP), X0
	MOVSS X0, 72(SP)
	MOVQ  n+16(FP), AX
	SHLQ  $2, AX
	ADDQ  AX, 48(SP)
	MOVQ  gstride+48(FP), AX
	SHLQ  $2, AX
	ADDQ  AX, 56(SP)
	DECQ  64(SP)
	JNZ   sreNext
	MOVSS 72(SP), X0
	MOVSS X0, ret+56(FP)
	RET

// func axpyRowsEachAVX2(y, a, x, d *float32, n, groups int)
//
// axpyRowsAVX2(y, a, x, d, n, n) for groups ≥ 1 groups in turn: y, a and d
// advance by n, x by n·n.
TEXT ·axpyRowsEachAVX2(SB), NOSPLIT, $88-48
	MOVQ y+0(FP), AX
	MOVQ AX, 48(SP)
	MOVQ a+8(FP), AX
	MOVQ AX, 56(SP)
	MOVQ x+16(FP), AX
	MOVQ AX, 64(SP)
	MOVQ d+24(FP), AX
	MOVQ AX, 72(SP)
	MOVQ groups+40(FP), AX
	MOVQ AX, 80(SP)

areNext:
	MOVQ 48(SP), AX
	MOVQ AX, 0(SP)
	MOVQ 56(SP), AX
	MOVQ AX, 8(SP)
	MOVQ 64(SP), AX
	MOVQ AX, 16(SP)
	MOVQ 72(SP), AX
	MOVQ AX, 24(SP)
	MOVQ n+32(FP), AX
	MOVQ AX, 32(SP)
	MOVQ AX, 40(SP)
	CALL ·axpyRowsAVX2(SB)
	MOVQ n+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, 48(SP)
	ADDQ AX, 56(SP)
	ADDQ AX, 72(SP)
	MOVQ n+32(FP), DX
	IMULQ DX, AX
	ADDQ AX, 64(SP)
	DECQ 80(SP)
	JNZ  areNext
	RET

// func prefetchRowsL2(p unsafe.Pointer, bytes, rows, stride int)
//
// prefetchL2 of rows ≥ 1 rows of bytes ≥ 1 bytes, stride bytes apart.
TEXT ·prefetchRowsL2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), R8
	MOVQ bytes+8(FP), CX
	MOVQ rows+16(FP), R9
	MOVQ stride+24(FP), R10

prefetchRow:
	MOVQ R8, SI
	LEAQ (SI)(CX*1), DI
	ANDQ $-64, SI

prefetchRowNext:
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DI
	JB         prefetchRowNext
	ADDQ       R10, R8
	DECQ       R9
	JNZ        prefetchRow
	RET
