package staa

import (
	"math"
	"testing"
)

// thresholded runs Postprocess with the threshold alone on one h×w frame.
func thresholded(t *testing.T, h, w int, x []float32, th Threshold) []float32 {
	t.Helper()
	v := Volume{Frames: 1, Height: h, Width: w, Data: x}
	s, _, err := Postprocess(v, Post{Threshold: th})
	if err != nil {
		t.Fatal(err)
	}
	return s.Data
}

func TestThresholdMeanStd(t *testing.T) {
	// [1, 2, 3, 4]: μ = 2.5, σ² = (2.25+0.25+0.25+2.25)/4 = 1.25.
	x := []float32{1, 2, 3, 4}
	sd := math.Sqrt(1.25)
	if got := meanStdThreshold(x, 1); math.Abs(got-(2.5+sd)) > 1e-15 {
		t.Errorf("θ(k=1) = %v, want %v", got, 2.5+sd)
	}
	for _, c := range []struct {
		k    float64
		want []float32
	}{
		{0, []float32{0, 0, 3, 4}},  // θ = 2.5
		{1, []float32{0, 0, 0, 4}},  // θ = 3.618
		{-1, []float32{0, 2, 3, 4}}, // θ = 1.382
		{-2, []float32{1, 2, 3, 4}}, // θ = 0.264
	} {
		got := thresholded(t, 1, 4, []float32{1, 2, 3, 4}, Threshold{Mode: ThresholdMeanStd, K: c.k})
		closeSlices32(t, "meanstd", got, widen(c.want), 0)
	}
	// A constant frame has σ = 0 exactly and θ = its value: nothing goes.
	got := thresholded(t, 2, 3, []float32{0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, Threshold{Mode: ThresholdMeanStd, K: 3})
	closeSlices32(t, "constant frame", got, widen([]float32{0.1, 0.1, 0.1, 0.1, 0.1, 0.1}), 0)
}

func TestThresholdPercentile(t *testing.T) {
	// Sorted [1, 2, 3, 4]: g = 3·p/100.
	for _, c := range []struct {
		p     float64
		theta float64
		want  []float32
	}{
		{50, 2.5, []float32{4, 0, 3, 0}},      // g = 1.5: 3 − 1·0.5
		{25, 1.75, []float32{4, 0, 3, 2}},     // g = 0.75: 2 − 1·0.25
		{0, 1, []float32{4, 1, 3, 2}},         // the minimum: all kept
		{100, 4, []float32{4, 0, 0, 0}},       // the maximum alone
		{100.0 / 3, 2, []float32{4, 0, 3, 2}}, // g = 1: an element
	} {
		x := []float32{4, 1, 3, 2}
		if got := percentileLinear(x, c.p, make([]float64, 4)); got != c.theta {
			t.Errorf("p = %v: θ = %v, want %v", c.p, got, c.theta)
		}
		got := thresholded(t, 2, 2, x, Threshold{Mode: ThresholdPercentile, P: c.p})
		closeSlices32(t, "percentile", got, widen(c.want), 0)
	}
	// [10 … 50], p = 10: g = 0.4, θ = 10 + 10·0.4 = 14.
	got := thresholded(t, 1, 5, []float32{50, 10, 40, 20, 30}, Threshold{Mode: ThresholdPercentile, P: 10})
	closeSlices32(t, "5 values", got, widen([]float32{50, 0, 40, 20, 30}), 0)
	// For t ≥ 0.5 numpy interpolates from the upper value, b − (b−a)·(1−t),
	// which can differ in the last bit from a + (b−a)·t: for these a, b and
	// p = 70, numpy.percentile gives 0.28030934333801266, not
	// 0.2803093433380127.
	a, b := float32(0.053783923387527466), float32(0.37739166617393494)
	if got := percentileLinear([]float32{b, a}, 70, make([]float64, 2)); got != 0.28030934333801266 {
		t.Errorf("θ = %v, want 0.28030934333801266 as numpy", got)
	}
}

func TestThresholdOtsu(t *testing.T) {
	// Values {1, 2, 3} with counts (2, 3, 3): min 1, max 3, bin width 2/256
	// = 1/128, so 1, 2 and 3 fall in bins 0, 128 and 255 with centres
	// c0 = 1 + 0.5/128, c128 = 1 + 128.5/128, c255 = 1 + 255.5/128. σ²_b is
	// constant for b in 0…127 and for b in 128…254 (empty bins in between):
	//   b = 0:   w1 2, w2 6, m1 = c0, m2 = (3·c128 + 3·c255)/6 = c0 + 1.49609375
	//            → 2·6·1.49609375² = 26.859558…
	//   b = 128: w1 5, w2 3, m1 = (2·c0 + 3·c128)/5 = c0 + 0.6, m2 = c255
	//            → 5·3·1.3921875² = 29.072790…
	// so θ = c128 = 2.00390625, and the 1s and 2s go.
	x := []float32{1, 1, 2, 2, 2, 3, 3, 3}
	if got := otsuThreshold(x); got != 2.00390625 {
		t.Errorf("θ = %v, want 2.00390625", got)
	}
	got := thresholded(t, 2, 4, x, Threshold{Mode: ThresholdOtsu})
	closeSlices32(t, "otsu (2,3,3)", got, widen([]float32{0, 0, 0, 0, 0, 3, 3, 3}), 0)

	// Counts (4, 1, 3): b = 0 wins (16·1.744140625² = 48.67 against
	// 15·1.7921875² = 48.18), θ = c0 = 1.00390625: only the 1s go.
	got = thresholded(t, 4, 2, []float32{1, 1, 1, 1, 2, 3, 3, 3}, Threshold{Mode: ThresholdOtsu})
	closeSlices32(t, "otsu (4,1,3)", got, widen([]float32{0, 0, 0, 0, 2, 3, 3, 3}), 0)

	// Two levels only: every b ties and the first maximum, b = 0, is taken:
	// θ = c0 = 5 + (2/256)/2.
	if got := otsuThreshold([]float32{5, 7, 7, 5}); got != 5+1.0/256 {
		t.Errorf("two levels: θ = %v, want %v", got, 5+1.0/256)
	}

	// All values equal: θ is that value, nothing goes.
	got = thresholded(t, 1, 3, []float32{0.7, 0.7, 0.7}, Threshold{Mode: ThresholdOtsu})
	closeSlices32(t, "constant", got, widen([]float32{0.7, 0.7, 0.7}), 0)

	// a and its float32 successor b: in float64 the edges over one float32
	// step are exact, θ = c0 = a + (b−a)/512.
	a := float32(0.3)
	b := math.Nextafter32(a, 1)
	want := float64(a) + (float64(b)-float64(a))/512
	if got := otsuThreshold([]float32{a, b, a}); got != want {
		t.Errorf("one-ulp range: θ = %v, want %v", got, want)
	}
	got = thresholded(t, 1, 3, []float32{a, b, a}, Threshold{Mode: ThresholdOtsu})
	closeSlices32(t, "one-ulp range", got, widen([]float32{0, b, 0}), 0)
}

func TestHistogramBins(t *testing.T) {
	// Over [0, 1] the float32 edges are b/256 exactly; every edge starts its
	// bin, and the maximum belongs to the last bin.
	var e [otsuBins + 1]float64
	histogramEdges(&e, 0, 1)
	for b := range otsuBins + 1 {
		if e[b] != float64(b)/256 {
			t.Fatalf("edge %d = %v, want %v", b, e[b], float64(b)/256)
		}
	}
	for _, c := range []struct {
		v    float64
		want int
	}{{0, 0}, {1.0 / 256, 1}, {0.5, 128}, {0.5 - 1e-16, 127}, {255.0 / 256, 255}, {1, 255}} {
		if got := histogramBin(&e, c.v, 0, 1); got != c.want {
			t.Errorf("bin of %v = %d, want %d", c.v, got, c.want)
		}
	}
	// Over this range the guess ⌊(v−lo)/Δ·256⌋ is one bin off for these two
	// values, and the edge comparisons correct it as numpy's do:
	// numpy.histogram([lo, v, hi], 256) puts v in bins 1 and 146.
	lo, hi := 0.2697867137638703, 0.6369616873214543
	histogramEdges(&e, lo, hi)
	for _, c := range []struct {
		v           float64
		guess, want int
	}{{0.2712209910043296, 0, 1}, {0.48062546811138923, 147, 146}} {
		if g := int((c.v - lo) / (hi - lo) * otsuBins); g != c.guess {
			t.Errorf("guess for %v = %d, want %d (the case no longer tests a correction)", c.v, g, c.guess)
		}
		if got := histogramBin(&e, c.v, lo, hi-lo); got != c.want {
			t.Errorf("bin of %v over [%v, %v] = %d, want %d", c.v, lo, hi, got, c.want)
		}
	}
}
