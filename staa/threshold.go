package staa

import (
	"math"
	"slices"
)

// Dynamic per-frame thresholds (conventions.md, "Post-processing", step 3).
//
// Every threshold is computed from the frame's values widened to float64, as
// the numpy reference (bindings/python/tests/reference.py) computes them on
// float64 arrays. The percentile and Otsu thresholds reproduce numpy's
// arithmetic operation for operation: both are discrete decisions (which
// value, which bin) where a last-bit difference can move a value across θ.

// otsuBins is the number of histogram bins of Otsu's threshold, as
// skimage.filters.threshold_otsu's default.
const otsuBins = 256

// thresholdFrame sets to 0 the values of x strictly below the frame's
// threshold θ. buf is scratch of at least len(x) values for the percentile.
func thresholdFrame(x []float32, t Threshold, buf []float64) {
	var theta float64
	switch t.Mode {
	case ThresholdMeanStd:
		theta = meanStdThreshold(x, t.K)
	case ThresholdPercentile:
		theta = percentileLinear(x, t.P, buf)
	case ThresholdOtsu:
		theta = otsuThreshold(x)
	default:
		return
	}
	for i, v := range x {
		if float64(v) < theta {
			x[i] = 0
		}
	}
}

// meanStdThreshold returns θ = μ + k·σ with μ the mean of x and σ its
// population standard deviation,
//
//	σ² = Σ_i (x_i − μ)² / n,
//
// both in float64, σ with the two-pass formula (as numpy.std, ddof 0), so
// that a constant frame has σ = 0 exactly and keeps all its values.
func meanStdThreshold(x []float32, k float64) float64 {
	n := float64(len(x))
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	mu := s / n
	if k == 0 {
		return mu
	}
	ss := 0.0
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	return mu + k*math.Sqrt(ss/n)
}

// percentileLinear returns numpy.percentile(x, p) (method "linear") of the frame's
// values as float64, with 0 ≤ p ≤ 100: with x sorted ascending,
// g = (n−1)·(p/100), i = ⌊g⌋, t = g − i,
//
//	θ = x_i + (x_{i+1} − x_i)·t         if t < 0.5,
//	θ = x_{i+1} − (x_{i+1} − x_i)·(1−t)  otherwise,
//
// the two forms of numpy's _lerp, bit for bit. buf is scratch holding at
// least len(x) values.
func percentileLinear(x []float32, p float64, buf []float64) float64 {
	s := buf[:len(x)]
	for i, v := range x {
		s[i] = float64(v)
	}
	slices.Sort(s)
	g := float64(len(s)-1) * (p / 100)
	i := int(math.Floor(g))
	j := min(i+1, len(s)-1)
	t := g - float64(i)
	a, b := s[i], s[j]
	d := b - a
	// The explicit conversions keep the compiler from fusing into an FMA
	// (allowed by the Go spec on some CPUs), which would round differently.
	if t >= 0.5 {
		return b - float64(d*(1-t))
	}
	return a + float64(d*t)
}

// otsuThreshold returns skimage.filters.threshold_otsu(x, nbins=256) of the
// frame's values as float64 (finite).
//
// If all values are equal, θ is that value. Otherwise the 256 equal bins of
// numpy.histogram over [min, max] (edges as numpy.linspace makes them, the
// last bin closed) give counts n_b and centres c_b, and with
//
//	w1_b = Σ_{a≤b} n_a,           w2_b = Σ_{a≥b} n_a,
//	m1_b = Σ_{a≤b} n_a·c_a / w1_b, m2_b = Σ_{a≥b} n_a·c_a / w2_b,
//	σ²_b = w1_b·w2_{b+1}·(m1_b − m2_{b+1})²,  b = 0…254,
//
// θ = c_b for the first b maximising σ²_b, every operation as numpy does it
// in float64. (float64 edges over float32 data always increase strictly: two
// distinct float32 values are 2²⁹ float64 steps apart at least, so numpy's
// "Too many bins for data range" cannot happen.)
func otsuThreshold(x []float32) float64 {
	lo, hi := x[0], x[0]
	for _, v := range x[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if lo == hi {
		return float64(x[0])
	}
	var e [otsuBins + 1]float64
	histogramEdges(&e, float64(lo), float64(hi))
	var counts [otsuBins]int64
	delta := float64(hi) - float64(lo)
	for _, v := range x {
		counts[histogramBin(&e, float64(v), float64(lo), delta)]++
	}
	var centres [otsuBins]float64
	for b := range centres {
		centres[b] = (e[b] + e[b+1]) / 2
	}

	// Cumulative sums from the top: w2 and the numerator of m2. The explicit
	// float64 conversions keep the compiler from fusing a multiply-add into
	// an FMA, which would round differently from numpy.
	var w2 [otsuBins]int64
	var s2 [otsuBins]float64
	var cw int64
	cs := 0.0
	for b := otsuBins - 1; b >= 0; b-- {
		cw += counts[b]
		cs += float64(float64(counts[b]) * centres[b])
		w2[b], s2[b] = cw, cs
	}
	best, arg := math.Inf(-1), 0
	var w1 int64
	s1 := 0.0
	for b := range otsuBins - 1 {
		w1 += counts[b]
		s1 += float64(float64(counts[b]) * centres[b])
		m1 := s1 / float64(w1) // w1 ≥ 1: bin 0 holds the minimum
		m2 := s2[b+1] / float64(w2[b+1])
		d := m1 - m2
		v := float64(w1*w2[b+1]) * float64(d*d)
		if v > best {
			best, arg = v, b
		}
	}
	return centres[arg]
}

// histogramEdges fills e with numpy.linspace(lo, hi, 257) for lo < hi, as
// numpy computes it: step = (hi−lo)/256, e_b = b·step + lo, e_256 = hi
// (e_b = (b/256)·(hi−lo) + lo should the step underflow to 0).
func histogramEdges(e *[otsuBins + 1]float64, lo, hi float64) {
	delta := hi - lo
	step := delta / otsuBins
	for b := range otsuBins {
		if step == 0 {
			e[b] = float64(float64(b)/otsuBins*delta) + lo
		} else {
			e[b] = float64(float64(b)*step) + lo
		}
	}
	e[otsuBins] = hi
}

// histogramBin returns the bin of v as numpy.histogram's equal-bin fast path
// finds it: the guess ⌊(v−lo)/delta·256⌋, then corrected so that
// e_b ≤ v < e_{b+1} (the last bin includes hi).
func histogramBin(e *[otsuBins + 1]float64, v, lo, delta float64) int {
	b := int((v - lo) / delta * otsuBins)
	if b == otsuBins {
		b--
	}
	if v < e[b] {
		b--
	}
	if v >= e[b+1] && b != otsuBins-1 {
		b++
	}
	return b
}
