//go:build !purego

#include "textflag.h"

DATA one64<>+0(SB)/8, $1.0
GLOBL one64<>(SB), RODATA|NOPTR, $8

DATA maxFloat32<>+0(SB)/4, $0x7f7fffff
GLOBL maxFloat32<>(SB), RODATA|NOPTR, $4

// func powScaledAVX2(x *float32, n int, inv float64, k int) float64
//
// For the n&^7 first values, 8 at a time in float64 (two chains of 4): r =
// x·inv, then p = r^k by IntPow's steps (p = 1; for each bit of k, low
// first: p ·= r if it is set, then r ·= r unless no bit is left), x =
// float32(p). The p go into 8 partial sums (lane l: the values i ≡ l mod 8),
// returned folded as in PowScaled.
TEXT ·powScaledAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD inv+16(FP), Y14
	MOVQ         k+24(FP), R8
	VBROADCASTSD one64<>(SB), Y13
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	SHRQ         $3, CX
	JZ           powFold

powNext:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y2
	VMULPD    Y14, Y0, Y0 // r, values 0–3
	VMULPD    Y14, Y2, Y2 // r, values 4–7
	VMOVAPD   Y13, Y1     // p, values 0–3
	VMOVAPD   Y13, Y3     // p, values 4–7
	MOVQ      R8, DX

powBit:
	TESTQ  $1, DX
	JZ     powSquare
	VMULPD Y0, Y1, Y1
	VMULPD Y2, Y3, Y3

powSquare:
	SHRQ   $1, DX
	JZ     powStore
	VMULPD Y0, Y0, Y0
	VMULPD Y2, Y2, Y2
	JMP    powBit

powStore:
	VCVTPD2PSY Y1, X4
	VCVTPD2PSY Y3, X5
	VMOVUPS    X4, (SI)
	VMOVUPS    X5, 16(SI)
	VADDPD     Y1, Y10, Y10
	VADDPD     Y3, Y11, Y11
	ADDQ       $32, SI
	DECQ       CX
	JNZ        powNext

powFold:
	// ((s0+s4) + (s2+s6)) + ((s1+s5) + (s3+s7))
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X1
	VADDPD       X1, X10, X0
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+32(FP)
	RET

// func divScaledAVX2(x *float32, n int, s float64)
//
// x = float32(float64(x) / s) for the n&^3 first values, 4 at a time.
TEXT ·divScaledAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD s+16(FP), Y14
	SHRQ         $2, CX
	JZ           divDone

divNext:
	VCVTPS2PD  (SI), Y0
	VDIVPD     Y14, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (SI)
	ADDQ       $16, SI
	DECQ       CX
	JNZ        divNext

divDone:
	VZEROUPPER
	RET

// func divByAVX2(x *float32, n int, m float32)
//
// x = x / m (float32) for the n&^7 first values.
TEXT ·divByAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y14
	SHRQ         $3, CX
	JZ           divByDone

divByNext:
	VMOVUPS (SI), Y0
	VDIVPS  Y14, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     divByNext

divByDone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
//
// The largest of 0 and the n&^7 first values (none of them NaN).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y0, Y0, Y0
	SHRQ   $3, CX
	JZ     maxReduce

maxNext:
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	DECQ   CX
	JNZ    maxNext

maxReduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// func nonNegFiniteAVX2(x *float32, n int) bool
//
// Whether each of the n&^7 first values is in [0, MaxFloat32] (−0 is; NaN
// is not).
TEXT ·nonNegFiniteAVX2(SB), NOSPLIT, $0-17
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VXORPS       Y15, Y15, Y15
	VBROADCASTSS maxFloat32<>(SB), Y14
	SHRQ         $3, CX
	JZ           nnfYes

nnfNext:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1d, Y15, Y0, Y1 // x ≥ 0, ordered
	VCMPPS  $0x12, Y14, Y0, Y2 // x ≤ MaxFloat32, ordered
	VANDPS  Y2, Y1, Y1
	VMOVMSKPS Y1, AX
	CMPL    AX, $0xff
	JNE     nnfNo
	ADDQ    $32, SI
	DECQ    CX
	JNZ     nnfNext

nnfYes:
	VZEROUPPER
	MOVB $1, ret+16(FP)
	RET

nnfNo:
	VZEROUPPER
	MOVB $0, ret+16(FP)
	RET

// func sum64AVX2(x *float32, n int) float64
//
// PowScaled's sum of the n&^7 first values themselves: 8 partial sums in
// float64, folded the same way.
TEXT ·sum64AVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	SHRQ   $3, CX
	JZ     sum64Fold

sum64Next:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VADDPD    Y0, Y10, Y10
	VADDPD    Y1, Y11, Y11
	ADDQ      $32, SI
	DECQ      CX
	JNZ       sum64Next

sum64Fold:
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X1
	VADDPD       X1, X10, X0
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+16(FP)
	RET
