package staa

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/float16"
)

// Tensor is a dense row-major float32 or float16 array. Exactly one of F32 and
// F16 is set; the engine reads it in place, without copying float32 data.
type Tensor struct {
	Shape []int
	F32   []float32
	F16   []float16.Num
}

// Len returns the number of elements held.
func (t Tensor) Len() int {
	if t.F16 != nil {
		return len(t.F16)
	}
	return len(t.F32)
}

// Empty reports whether t holds no data.
func (t Tensor) Empty() bool { return t.F32 == nil && t.F16 == nil }

// elems returns the product of t.Shape.
func (t Tensor) elems() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// row returns t's elements [off, off+n) as float32: a sub-slice of F32 or, for
// float16 data, a conversion into buf (which must hold n elements).
func (t Tensor) row(off, n int, buf []float32) []float32 {
	if t.F16 == nil {
		return t.F32[off : off+n : off+n]
	}
	buf = buf[:n]
	halfToFloat32(buf, t.F16[off:off+n])
	return buf
}

// checkShape reports an error naming what if t's shape is not want. want
// does not escape (the messages print a copy), so callers' literals stay on
// the stack.
func (t Tensor) checkShape(what string, want []int) error {
	if t.F32 != nil && t.F16 != nil {
		return fmt.Errorf("staa: %s holds both float32 and float16 data", what)
	}
	if len(t.Shape) != len(want) {
		return fmt.Errorf("staa: %s has shape %v, want %v", what, t.Shape, slices.Clone(want))
	}
	for i := range want {
		if want[i] >= 0 && t.Shape[i] != want[i] {
			return fmt.Errorf("staa: %s has shape %v, want %v", what, t.Shape, slices.Clone(want))
		}
	}
	if t.elems() != t.Len() {
		return fmt.Errorf("staa: %s has shape %v (%d elements) but holds %d values", what, t.Shape, t.elems(), t.Len())
	}
	return nil
}

// CheckFinite returns an error naming what if t holds a NaN or an infinity.
func (t Tensor) CheckFinite(what string) error {
	if t.F16 != nil {
		for i, h := range t.F16 {
			// float16: exponent bits all ones means Inf or NaN.
			if h.Uint16()&0x7c00 == 0x7c00 {
				return fmt.Errorf("staa: %s holds a non-finite value (%v) at flat index %d", what, halfBits(h.Uint16()), i)
			}
		}
		return nil
	}
	for i, x := range t.F32 {
		if x-x != 0 { // NaN or ±Inf
			return fmt.Errorf("staa: %s holds a non-finite value (%v) at flat index %d", what, x, i)
		}
	}
	return nil
}
