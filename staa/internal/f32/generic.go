package f32

import "math"

// sumGo is Sum in plain Go, in the same order as the assembly.
func sumGo(x []float32) float32 {
	var acc [4][8]float32
	for len(x) >= 32 {
		for q := range 4 {
			a, c := &acc[q], x[8*q:8*q+8]
			for l := range 8 {
				a[l] += c[l]
			}
		}
		x = x[32:]
	}
	a := &acc[0]
	for len(x) >= 8 {
		for l := range 8 {
			a[l] += x[l]
		}
		x = x[8:]
	}
	for l, c := range x {
		a[l] += c
	}
	return reduce(&acc)
}

// sumStreamsGo is the interleaved part of SumStreams in plain Go.
func sumStreamsGo(x []float32, seg, k int) float32 {
	var acc [4][8]float32
	for p := 0; p < seg; p += 32 {
		for s := 0; s < k; s++ {
			c := x[s*seg+p : s*seg+p+32]
			for q := range 4 {
				for l := range 8 {
					acc[q][l] += c[8*q+l]
				}
			}
		}
	}
	return reduce(&acc)
}

// reduce folds the four 8-lane accumulators: lanewise (0+1)+(2+3), then
// halves of the vector added pairwise, as the assembly does.
func reduce(acc *[4][8]float32) float32 {
	var v [8]float32
	for l := range 8 {
		v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
	}
	var h [4]float32
	for l := range 4 {
		h[l] = v[l] + v[l+4]
	}
	return (h[0] + h[2]) + (h[1] + h[3])
}

// sumRowsGo is SumRows in plain Go.
func sumRowsGo(dst, src []float32, rows, stride int) float32 {
	n := len(dst)
	copy(dst, src[:n])
	for k := 1; k < rows; k++ {
		for j, x := range src[k*stride : k*stride+n] {
			dst[j] += x
		}
	}
	return sumGo(dst)
}

// extremeRowsGo is MaxRows (max true) and MinRows in plain Go.
func extremeRowsGo(dst, src []float32, rows, stride int, max bool) float32 {
	n := len(dst)
	finite := true
	for k := 0; k < rows; k++ {
		for j, x := range src[k*stride : k*stride+n] {
			finite = finite && x-x == 0
			if k == 0 || (max && x > dst[j]) || (!max && x < dst[j]) {
				dst[j] = x
			}
		}
	}
	if !finite {
		return float32(math.NaN())
	}
	return sumGo(dst)
}

// sumPosProdRowsGo is SumPosProdRows in plain Go.
func sumPosProdRowsGo(dst, a, b []float32, rows, stride int) float32 {
	n := len(dst)
	clear(dst)
	finite := true
	for k := 0; k < rows; k++ {
		br := b[k*stride : k*stride+n]
		for j, x := range a[k*stride : k*stride+n] {
			p := float32(x * br[j]) // rounded: no fusing into the add
			finite = finite && p-p == 0
			if p > 0 {
				dst[j] += p
			}
		}
	}
	if !finite {
		return float32(math.NaN())
	}
	return sumGo(dst)
}

// axpyGo is Axpy in plain Go. The explicit conversion keeps the compiler
// from fusing the multiply and the add (it may, with GOAMD64=v3).
func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, xi := range x {
		y[i] += float32(a * xi)
	}
}

// fromHalf decodes IEEE 754 binary16 (1 sign, 5 exponent bits with bias 15,
// 10 fraction bits) exactly: a normal value moves its exponent to bias 127,
// a subnormal is frac·2⁻²⁴, ±Inf stays, and a NaN keeps its fraction bits
// and becomes quiet (as the F16C instructions make it).
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(frac) * 0x1p-24
		return math.Float32frombits(sign | math.Float32bits(v))
	case 0x1f:
		if frac != 0 {
			frac |= 0x200 // the quiet bit
		}
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
