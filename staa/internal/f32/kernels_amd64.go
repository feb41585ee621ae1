//go:build !purego

package f32

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAsm selects the AVX2 kernels, useF16C the float16 widening (F16C, a
// VEX extension that every AVX2 CPU has in practice, checked all the same);
// tests clear them to run the Go code.
var (
	useAsm  = cpu.X86.HasAVX2
	useF16C = useAsm && cpuidECX1()&(1<<29) != 0
)

// The kernels below are in kernels_amd64.s; their callers check the bounds
// and pass n ≥ 1 (and rows ≥ 1).

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func sumEachAVX2(sums, x *float32, n, rows int)

//go:noescape
func sumRowsAVX2(dst, src *float32, n, rows, stride int) float32

//go:noescape
func maxRowsAVX2(dst, src *float32, n, rows, stride int) float32

//go:noescape
func minRowsAVX2(dst, src *float32, n, rows, stride int) float32

//go:noescape
func sumPosProdRowsAVX2(dst, a, b *float32, n, rows, stride int) float32

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

//go:noescape
func axpyRowsAVX2(y, a, x, d *float32, n, rows int)

//go:noescape
func rolloutWeightsAVX2(coef, diag, v, sums *float32, m int, scale, a, b, alpha float32) bool

//go:noescape
func sumStreamsAVX2(x *float32, seg, k int) float32

//go:noescape
func fromHalfRowsAVX2(dst *float32, src *uint16, n, rows, stride int)

func cpuidECX1() uint32

// In layout_amd64.s.

//go:noescape
func transposeTilesAVX2(dst, src *float32, rows, cols int)

//go:noescape
func hasZeroAVX2(x *float32, n int) bool

// In post_amd64.s.

//go:noescape
func powScaledAVX2(x *float32, n int, inv float64, k int) float64

//go:noescape
func divScaledAVX2(x *float32, n int, s float64)

//go:noescape
func divByAVX2(x *float32, n int, m float32)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func nonNegFiniteAVX2(x *float32, n int) bool

//go:noescape
func sum64AVX2(x *float32, n int) float64

//go:noescape
func prefetchL2(p unsafe.Pointer, bytes int)

//go:noescape
func sumRowsEachAVX2(dst, src *float32, n, rows, stride, groups, gstride int) float32

//go:noescape
func axpyRowsEachAVX2(y, a, x, d *float32, n, groups int)

//go:noescape
func prefetchRowsL2(p unsafe.Pointer, bytes, rows, stride int)
