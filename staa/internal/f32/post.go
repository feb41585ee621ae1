package f32

// Kernels of the post-processing: the maps are short (a value per patch and
// frame), so the scalar loops' cost per value, not memory, had set the time.
// Each value gets the same operations on both paths, so the same bits.

// IntPow returns r^k for k ≥ 1 by repeated squaring: p = 1, then for each
// bit of k from the lowest, p ·= r if the bit is set and r ·= r if a higher
// bit is left.
func IntPow(r float64, k int) float64 {
	p := 1.0
	for ; k > 0; k >>= 1 {
		if k&1 == 1 {
			p *= r
		}
		if k > 1 {
			r *= r
		}
	}
	return p
}

// PowScaled sets x[i] = float32(p_i) with p_i = IntPow(float64(x[i])·inv, k),
// k ≥ 1, and returns Σ p_i in float64: eight partial sums s_l of the p_i
// with i ≡ l (mod 8) over the first len(x)&^7 values, folded as
// ((s0+s4) + (s2+s6)) + ((s1+s5) + (s3+s7)), then the last values in turn.
// (Added one after the other, the sum's latency had set the time.)
func PowScaled(x []float32, inv float64, k int) float64 {
	n := len(x) &^ 7
	var sum float64
	if useAsm && n > 0 {
		sum = powScaledAVX2(&x[0], len(x), inv, k)
	} else {
		var s [8]float64
		for i := 0; i < n; i += 8 {
			for l := range s {
				p := IntPow(float64(x[i+l])*inv, k)
				s[l] += p
				x[i+l] = float32(p)
			}
		}
		sum = fold8(&s)
	}
	for i, v := range x[n:] {
		p := IntPow(float64(v)*inv, k)
		sum += p
		x[n+i] = float32(p)
	}
	return sum
}

// Sum64 returns Σ x_i in float64, added in PowScaled's order.
func Sum64(x []float32) float64 {
	n := len(x) &^ 7
	var sum float64
	if useAsm && n > 0 {
		sum = sum64AVX2(&x[0], len(x))
	} else {
		var s [8]float64
		for i := 0; i < n; i += 8 {
			for l := range s {
				s[l] += float64(x[i+l])
			}
		}
		sum = fold8(&s)
	}
	for _, v := range x[n:] {
		sum += float64(v)
	}
	return sum
}

// fold8 adds PowScaled's eight partial sums in its order:
// ((s0+s4) + (s2+s6)) + ((s1+s5) + (s3+s7)), as the assembly folds them.
func fold8(s *[8]float64) float64 {
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

// DivScaled sets x[i] = float32(float64(x[i]) / s).
func DivScaled(x []float32, s float64) {
	n := 0
	if useAsm && len(x) >= 4 {
		divScaledAVX2(&x[0], len(x), s)
		n = len(x) &^ 3
	}
	for i, v := range x[n:] {
		x[n+i] = float32(float64(v) / s)
	}
}

// DivBy sets x[i] = x[i] / m in float32.
func DivBy(x []float32, m float32) {
	n := 0
	if useAsm && len(x) >= 8 {
		divByAVX2(&x[0], len(x), m)
		n = len(x) &^ 7
	}
	for i, v := range x[n:] {
		x[n+i] = v / m
	}
}

// Max returns the largest of 0 and the values of x, none of which may be
// NaN (the result does not depend on the order: max is exact).
func Max(x []float32) float32 {
	var m float32
	n := 0
	if useAsm && len(x) >= 8 {
		m = maxAVX2(&x[0], len(x))
		n = len(x) &^ 7
	}
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// NonNegFinite reports whether every value of x is in [0, MaxFloat32]:
// not negative (−0 is fine), not infinite, not NaN.
func NonNegFinite(x []float32) bool {
	n := 0
	if useAsm && len(x) >= 8 {
		if !nonNegFiniteAVX2(&x[0], len(x)) {
			return false
		}
		n = len(x) &^ 7
	}
	for _, v := range x[n:] {
		if !(v >= 0 && v <= maxFloat32) {
			return false
		}
	}
	return true
}

const maxFloat32 = 0x1p127 * (1 + (1 - 0x1p-23))
