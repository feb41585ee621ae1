package f32

import "fmt"

// Sum returns Σ_i x[i], added in the blocked order:
//
//	acc[q][l] += x[32b + 8q + l]   for each full 32-element block b (q < 4, l < 8)
//	acc[0][l] += x[k + l]          for each remaining full 8-element chunk at k
//	acc[0][l] += x[k + l]          for l < r, the last r < 8 elements at k
//	v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
//	Σ = ((v[0]+v[4]) + (v[2]+v[6])) + ((v[1]+v[5]) + (v[3]+v[7]))
//
// (the order of an 8-lane vector loop with four accumulators).
func Sum(x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	if useAsm {
		return sumAVX2(&x[0], len(x))
	}
	return sumGo(x)
}

// SumStreams returns Σ_i x[i] read as k streams: x's first k·m elements
// (m = len(x)/k rounded down to a multiple of 32) as k segments of m, read
// in turn 32 elements at a time, then the rest. The sum is
// S(segments) + Sum(rest), where S adds block p of segment s into the
// accumulators of Sum in the order p, then s, and reduces as Sum does.
// One core reads memory faster through a few streams than through one: a
// plain read of a large array is slower than the engine's fused row reads,
// which have H streams. It panics unless k ≥ 1.
func SumStreams(x []float32, k int) float32 {
	if k < 1 {
		panic(fmt.Sprintf("f32: SumStreams with %d streams", k))
	}
	m := (len(x) / k) &^ 31
	if m == 0 {
		return Sum(x)
	}
	var s float32
	if useAsm {
		s = sumStreamsAVX2(&x[0], m, k)
	} else {
		s = sumStreamsGo(x, m, k)
	}
	return s + Sum(x[k*m:])
}

// SumEach sets sums[k] = Sum(x[k·n : (k+1)·n]) for k < len(sums): the sums
// of a block of short rows in one call, each in Sum's order. It panics
// unless n ≥ 1 and x holds len(sums)·n values.
func SumEach(sums, x []float32, n int) {
	if n < 1 || len(sums)*n > len(x) {
		panic(fmt.Sprintf("f32: SumEach of %d rows of %d over %d values", len(sums), n, len(x)))
	}
	if len(sums) == 0 {
		return
	}
	if useAsm {
		sumEachAVX2(&sums[0], &x[0], n, len(sums))
		return
	}
	for k := range sums {
		sums[k] = sumGo(x[k*n : (k+1)*n])
	}
}

// The row kernels below fuse rows of src, rows ≥ 1 of them stride elements
// apart, into dst: row k is src[k·stride : k·stride+len(dst)]. They read
// each source value once, 8 lanes at a time across all the rows, write each
// dst value once and return Σ_j dst[j] in the blocked order of Sum. They
// panic unless rows ≥ 1, stride ≥ 0 and src holds (rows−1)·stride + len(dst)
// values.

// SumRows sets dst[j] = Σ_k src[k·stride + j], adding the rows in order
// k = 0, 1, …, rows−1, and returns Σ_j dst[j]. A NaN or an infinity among the
// values makes the returned sum NaN or infinite.
func SumRows(dst, src []float32, rows, stride int) float32 {
	checkRows("SumRows", len(dst), len(src), rows, stride)
	if len(dst) == 0 {
		return 0
	}
	if useAsm {
		return sumRowsAVX2(&dst[0], &src[0], len(dst), rows, stride)
	}
	return sumRowsGo(dst, src, rows, stride)
}

// SumRowsEach is SumRows for groups of rows one after the other: for
// g < len(dst)/n, dst[g·n : (g+1)·n] = SumRows of src[g·gstride:], the
// same values as one call per group, in one call. It returns the sum of
// the groups' returns (not finite if any was not). It panics unless n ≥ 1
// divides len(dst) and src holds every group's rows.
func SumRowsEach(dst, src []float32, n, rows, stride, gstride int) float32 {
	if n < 1 || len(dst)%n != 0 || gstride < 0 {
		panic(fmt.Sprintf("f32: SumRowsEach of %d values in groups of %d, %d apart", len(dst), n, gstride))
	}
	groups := len(dst) / n
	if groups == 0 {
		return 0
	}
	checkRows("SumRowsEach", n, len(src)-(groups-1)*gstride, rows, stride)
	if useAsm {
		return sumRowsEachAVX2(&dst[0], &src[0], n, rows, stride, groups, gstride)
	}
	var s float32
	for g := range groups {
		s += sumRowsGo(dst[g*n:(g+1)*n], src[g*gstride:], rows, stride)
	}
	return s
}

// MaxRows sets dst[j] = max_k src[k·stride + j], taking the rows in order and
// replacing the running maximum m by x only when x > m (so a NaN is passed
// over), and returns Σ_j dst[j], or NaN if any value read is a NaN or an
// infinity.
func MaxRows(dst, src []float32, rows, stride int) float32 {
	checkRows("MaxRows", len(dst), len(src), rows, stride)
	if len(dst) == 0 {
		return 0
	}
	if useAsm {
		return maxRowsAVX2(&dst[0], &src[0], len(dst), rows, stride)
	}
	return extremeRowsGo(dst, src, rows, stride, true)
}

// MinRows is MaxRows with min: x replaces the running minimum m when x < m.
func MinRows(dst, src []float32, rows, stride int) float32 {
	checkRows("MinRows", len(dst), len(src), rows, stride)
	if len(dst) == 0 {
		return 0
	}
	if useAsm {
		return minRowsAVX2(&dst[0], &src[0], len(dst), rows, stride)
	}
	return extremeRowsGo(dst, src, rows, stride, false)
}

// SumPosProdRows sets dst[j] = Σ_k max(a[k·stride + j]·b[k·stride + j], 0),
// each product rounded to float32 and the rows added in order (a NaN product
// counts as 0), and returns Σ_j dst[j], or NaN if any product is a NaN or an
// infinity. a and b have the same layout.
func SumPosProdRows(dst, a, b []float32, rows, stride int) float32 {
	checkRows("SumPosProdRows", len(dst), min(len(a), len(b)), rows, stride)
	if len(dst) == 0 {
		return 0
	}
	if useAsm {
		return sumPosProdRowsAVX2(&dst[0], &a[0], &b[0], len(dst), rows, stride)
	}
	return sumPosProdRowsGo(dst, a, b, rows, stride)
}

func checkRows(name string, n, m, rows, stride int) {
	if rows < 1 || stride < 0 || (rows-1)*stride+n > m {
		panic(fmt.Sprintf("f32: %s of %d rows of %d at stride %d over %d values", name, rows, n, stride, m))
	}
}

// Axpy sets y[i] += a·x[i] for i < len(x), the product rounded to float32
// before the addition (no fused multiply-add, so that both paths agree). It
// panics if y is shorter than x.
func Axpy(a float32, x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("f32: Axpy with len(x) %d > len(y) %d", len(x), len(y)))
	}
	if len(x) == 0 {
		return
	}
	if useAsm {
		axpyAVX2(a, &x[0], &y[0], len(x))
		return
	}
	axpyGo(a, x, y)
}

// AxpyRows is Axpy(a[k], x[k·n : (k+1)·n], y) for k = 0, 1, …, len(a)−1 in
// turn, n = len(y): y += aᵀ·X for a block of short rows X in one call, with
// the results of the row-by-row calls; then, if d is not nil, y[j] += d[j]
// (a diagonal term, added after every row; d must not overlap y). It panics
// unless x holds len(a)·n values and d is nil or as long as y.
func AxpyRows(y, a, x, d []float32) {
	n := len(y)
	if len(a)*n > len(x) || d != nil && len(d) != n {
		panic(fmt.Sprintf("f32: AxpyRows of %d rows of %d over %d values, %d diagonal terms", len(a), n, len(x), len(d)))
	}
	if n == 0 {
		return
	}
	if useAsm && len(a) > 0 {
		var dp *float32
		if d != nil {
			dp = &d[0]
		}
		axpyRowsAVX2(&y[0], &a[0], &x[0], dp, n, len(a))
		return
	}
	for k, ak := range a {
		axpyGo(ak, x[k*n:(k+1)*n], y)
	}
	for j, dj := range d {
		y[j] += dj
	}
}

// AxpyRowsEach is AxpyRows for groups one after the other, each with its own
// y, a and d of n values and its n rows of x: for g < len(y)/n,
// AxpyRows(y[g·n:(g+1)·n], a[g·n:(g+1)·n], x[g·n²:(g+1)·n²], d[g·n:(g+1)·n]),
// in one call. It panics unless n ≥ 1 divides len(y) and a, x and d hold
// every group's values.
func AxpyRowsEach(y, a, x, d []float32, n int) {
	if n < 1 || len(y)%n != 0 || len(a) < len(y) || len(d) < len(y) || len(x) < len(y)*n {
		panic(fmt.Sprintf("f32: AxpyRowsEach of %d values in groups of %d with %d weights, %d rows, %d diagonal terms", len(y), n, len(a), len(x), len(d)))
	}
	if len(y) == 0 {
		return
	}
	if useAsm {
		axpyRowsEachAVX2(&y[0], &a[0], &x[0], &d[0], n, len(y)/n)
		return
	}
	for g := range len(y) / n {
		r := g * n
		AxpyRows(y[r:r+n], a[r:r+n], x[r*n:(r+n)*n], d[r:r+n])
	}
}

// RolloutGroups is one step of attention rollout over groups of small
// matrices whose heads are fused by their mean: with groups = len(v)/n, group
// g's heads matrices of n×n start at src[g·gstride], one every n² values.
// It is
//
//	s := SumRowsEach(block, src, n², heads, n², gstride)
//	SumEach(sums, block, n)
//	RolloutWeights(coef, diag, v, sums, scale, a, b, alpha)
//	AxpyRowsEach(out, coef, block, diag, n)
//
// in one call (the same operations, so the same results), and returns false,
// out untouched, if s or a row's sum is not finite. block (groups·n² values),
// sums, coef and diag (len(v) each) are scratch.
func RolloutGroups(out, v, src, block, sums, coef, diag []float32, n, heads, gstride int, scale, a, b, alpha float32) bool {
	m := len(v)
	nn := n * n
	if n < 1 || m%n != 0 || heads < 1 || len(out) < m || len(block) < m*n || len(sums) < m || len(coef) < m || len(diag) < m ||
		m > 0 && len(src) < (m/n-1)*gstride+(heads-1)*nn+nn {
		panic(fmt.Sprintf("f32: RolloutGroups of %d weights in groups of %d, %d heads, %d apart, over %d values", m, n, heads, gstride, len(src)))
	}
	if m == 0 {
		return true
	}
	if s := SumRowsEach(block[:m*n], src, nn, heads, nn, gstride); s-s != 0 {
		return false
	}
	SumEach(sums[:m], block, n)
	if !RolloutWeights(coef, diag, v, sums, scale, a, b, alpha) {
		return false
	}
	AxpyRowsEach(out[:m], coef, block, diag, n)
	return true
}

// RolloutWeights sets, for each row k < len(v) whose values sum to sums[k],
// the weights of attention rollout:
//
//	s = sums[k]·scale, r = float32(a·s) + alpha, w = v[k] / r,
//	coef[k] = w·b, diag[k] = w·alpha   (both 0 when r = 0)
//
// each operation rounded to float32 in this order (callers pass a = 1 − α
// and b = (1 − α)·scale, computed in float32). It reports false, leaving coef
// and diag partly written, if some s is not finite. It panics if coef, diag
// or sums is shorter than v.
func RolloutWeights(coef, diag, v, sums []float32, scale, a, b, alpha float32) bool {
	m := len(v)
	if len(coef) < m || len(diag) < m || len(sums) < m {
		panic(fmt.Sprintf("f32: RolloutWeights of %d rows into %d, %d with %d sums", m, len(coef), len(diag), len(sums)))
	}
	if m == 0 {
		return true
	}
	if useAsm {
		return rolloutWeightsAVX2(&coef[0], &diag[0], &v[0], &sums[0], m, scale, a, b, alpha)
	}
	for k, vk := range v {
		c, d, ok := RolloutWeight(vk, sums[k], scale, a, b, alpha)
		if !ok {
			return false
		}
		coef[k], diag[k] = c, d
	}
	return true
}

// RolloutWeight is RolloutWeights for one row: (coef, diag, ok).
func RolloutWeight(v, sum, scale, a, b, alpha float32) (coef, diag float32, ok bool) {
	s := sum * scale
	if s-s != 0 {
		return 0, 0, false
	}
	r := float32(a*s) + alpha // the conversion keeps the compiler from fusing a multiply-add
	if r == 0 {
		return 0, 0, true
	}
	w := v / r
	return w * b, w * alpha, true
}

// FromHalfRows widens rows of IEEE 754 binary16 values (given by their bits)
// to float32, exactly: dst[k·n + j] = src[k·stride + j] for j < n, k < rows.
// It panics unless dst holds rows·n values and src (rows−1)·stride + n.
func FromHalfRows(dst []float32, src []uint16, n, rows, stride int) {
	if n < 0 || rows < 0 || stride < 0 || len(dst) < rows*n || rows > 0 && (rows-1)*stride+n > len(src) {
		panic(fmt.Sprintf("f32: FromHalfRows of %d rows of %d at stride %d over %d values into %d", rows, n, stride, len(src), len(dst)))
	}
	if rows == 0 || n == 0 {
		return
	}
	if useF16C && n >= 8 {
		fromHalfRowsAVX2(&dst[0], &src[0], n, rows, stride)
		return
	}
	for k := 0; k < rows; k++ {
		d := dst[k*n : (k+1)*n]
		for j, h := range src[k*stride : k*stride+n] {
			d[j] = fromHalf(h)
		}
	}
}
