package staa

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow/float16"
)

// halfTable maps every float16 bit pattern to its float32 value. A table
// rather than arrow-go's float16.Num.Float32, which decodes subnormals
// (|x| < 2⁻¹⁴, common in softmax outputs) wrongly in v18.8; 256 KiB, built once.
var halfTable = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for b := range t {
		t[b] = halfBits(uint16(b))
	}
	return &t
}()

// halfBits decodes IEEE 754 binary16: sign, 5 exponent bits (bias 15), 10
// fraction bits.
func halfBits(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: frac·2⁻²⁴
		return sign * float32(math.Ldexp(frac, -24))
	case 0x1f:
		if frac != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * float32(math.Ldexp(1+frac/1024, exp-15))
}

// halfToFloat32 widens x into dst (len(dst) ≥ len(x)).
func halfToFloat32(dst []float32, x []float16.Num) {
	t := halfTable
	for i, h := range x {
		dst[i] = t[h.Uint16()]
	}
}
