package f32

import (
	"fmt"
	"unsafe"
)

// Transpose sets dst[c·rows + r] = src[r·cols + c]: dst is the cols × rows
// transpose of the rows × cols matrix src. Values are moved, not computed,
// so both paths give the same bits. It panics unless src and dst hold
// rows·cols values and do not overlap.
func Transpose(dst, src []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(src) < rows*cols || len(dst) < rows*cols {
		panic(fmt.Sprintf("f32: Transpose of %d × %d from %d values into %d", rows, cols, len(src), len(dst)))
	}
	r8, c8 := 0, 0 // the tiles done in assembly: rows < r8, columns < c8
	if useAsm && rows >= 8 && cols >= 8 {
		r8, c8 = rows&^7, cols&^7
		transposeTilesAVX2(&dst[0], &src[0], rows, cols)
	}
	// The rest: rows ≥ r8, then the columns ≥ c8 of rows < r8.
	for r := r8; r < rows; r++ {
		for c, x := range src[r*cols : (r+1)*cols] {
			dst[c*rows+r] = x
		}
	}
	if c8 == cols {
		return
	}
	for r := 0; r < r8; r++ {
		for c, x := range src[r*cols+c8 : (r+1)*cols] {
			dst[(c8+c)*rows+r] = x
		}
	}
}

// HasZero reports whether a value of x equals 0 (+0 or −0).
func HasZero(x []float32) bool {
	n := 0
	if useAsm && len(x) >= 8 {
		if hasZeroAVX2(&x[0], len(x)) {
			return true
		}
		n = len(x) &^ 7
	}
	for _, v := range x[n:] {
		if v == 0 {
			return true
		}
	}
	return false
}

// Prefetch asks for x's cache lines to be brought towards L2 without
// waiting for them (PREFETCHT1, one per 64 bytes): a hint for memory read
// soon, which changes no value. Callers prefetch the next step's attention
// while working on the current one: right after a model's forward pass the
// attention is out of the core's caches.
func Prefetch(x []float32) {
	if useAsm && len(x) > 0 {
		prefetchL2(unsafe.Pointer(&x[0]), 4*len(x))
	}
}

// PrefetchRows is Prefetch for rows ≥ 1 rows of n values, stride apart in x
// (which must hold them).
func PrefetchRows(x []float32, n, rows, stride int) {
	if useAsm && n > 0 && rows > 0 && len(x) >= (rows-1)*stride+n {
		prefetchRowsL2(unsafe.Pointer(&x[0]), 4*n, rows, 4*stride)
	}
}

// PrefetchRowsHalf is PrefetchRows for 16-bit values.
func PrefetchRowsHalf(x []uint16, n, rows, stride int) {
	if useAsm && n > 0 && rows > 0 && len(x) >= (rows-1)*stride+n {
		prefetchRowsL2(unsafe.Pointer(&x[0]), 2*n, rows, 2*stride)
	}
}

// PrefetchHalf is Prefetch for 16-bit values.
func PrefetchHalf(x []uint16) {
	if useAsm && len(x) > 0 {
		prefetchL2(unsafe.Pointer(&x[0]), 2*len(x))
	}
}
