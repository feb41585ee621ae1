//go:build !amd64 || purego

package f32

import "unsafe"

// useAsm and useF16C are false: there are no assembly kernels here.
var useAsm, useF16C = false, false

const noAsm = "f32: no assembly kernels"

func sumAVX2(x *float32, n int) float32                                  { panic(noAsm) }
func sumEachAVX2(sums, x *float32, n, rows int)                          { panic(noAsm) }
func axpyRowsAVX2(y, a, x, d *float32, n, rows int)                      { panic(noAsm) }
func sumRowsAVX2(dst, src *float32, n, rows, stride int) float32         { panic(noAsm) }
func maxRowsAVX2(dst, src *float32, n, rows, stride int) float32         { panic(noAsm) }
func minRowsAVX2(dst, src *float32, n, rows, stride int) float32         { panic(noAsm) }
func sumPosProdRowsAVX2(dst, a, b *float32, n, rows, stride int) float32 { panic(noAsm) }
func axpyAVX2(a float32, x, y *float32, n int)                           { panic(noAsm) }
func fromHalfRowsAVX2(dst *float32, src *uint16, n, rows, stride int)    { panic(noAsm) }
func sumStreamsAVX2(x *float32, seg, k int) float32                      { panic(noAsm) }
func transposeTilesAVX2(dst, src *float32, rows, cols int)               { panic(noAsm) }
func hasZeroAVX2(x *float32, n int) bool                                 { panic(noAsm) }
func powScaledAVX2(x *float32, n int, inv float64, k int) float64        { panic(noAsm) }
func sum64AVX2(x *float32, n int) float64                                { panic(noAsm) }
func divScaledAVX2(x *float32, n int, s float64)                         { panic(noAsm) }
func divByAVX2(x *float32, n int, m float32)                             { panic(noAsm) }
func maxAVX2(x *float32, n int) float32                                  { panic(noAsm) }
func nonNegFiniteAVX2(x *float32, n int) bool                            { panic(noAsm) }
func sumRowsEachAVX2(dst, src *float32, n, rows, stride, groups, gstride int) float32 {
	panic(noAsm)
}
func axpyRowsEachAVX2(y, a, x, d *float32, n, groups int) { panic(noAsm) }
func rolloutWeightsAVX2(coef, diag, v, sums *float32, m int, scale, a, b, alpha float32) bool {
	panic(noAsm)
}
func prefetchL2(p unsafe.Pointer, bytes int)                   { panic(noAsm) }
func prefetchRowsL2(p unsafe.Pointer, bytes, rows, stride int) { panic(noAsm) }
