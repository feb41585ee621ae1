package baselines_test

import (
	"math"
	"slices"
	"testing"

	"github.com/staa-dev/staa/staa/baselines"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/metricstest"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

// shapModel is a linear model over 8 frames × 1 channel × 4×4 pixels whose
// class 0 weights frames 2 and 5 alike (and the clip has the same content
// in both: symmetric segments), ignores frame 7 (a dummy segment) and
// weights the other frames differently; class 1 has weights of its own, so
// that the probability of class 0 is not additive over frames.
func shapModel() (*metricstest.Linear, metrics.Clip) {
	const F, H, W = 8, 4, 4
	x := metricstest.RandomClip(F, 1, H, W, 0, 1, 3)
	copy(x.Frame(5), x.Frame(2))
	n := x.Len()
	w0, w1 := make([]float64, n), make([]float64, n)
	for f := range F {
		for k := range H * W {
			i := f*H*W + k
			switch f {
			case 5:
				w0[i] = w0[2*H*W+k]
			case 7:
				w0[i] = 0
			default:
				w0[i] = 0.05 * float64((f*7+k*3)%11-3)
			}
			if f != 7 && f != 2 && f != 5 {
				w1[i] = 0.03 * float64((f*5+k)%7-2)
			}
		}
	}
	return &metricstest.Linear{Weights: [][]float64{w0, w1, make([]float64, n)}, Bias: []float64{0.3, 0.1, 0}}, x
}

func TestSHAPAxioms(t *testing.T) {
	m, x := shapModel()
	for _, scores := range []metrics.Scores{metrics.Probabilities, metrics.Logits} {
		r, err := baselines.TemporalSHAP(m, x, 0, baselines.SHAPOptions{Scores: scores, Height: 2, Width: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Values) != 8 || !slices.Equal(r.Bounds, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("values %v, bounds %v", r.Values, r.Bounds)
		}
		sum := 0.0
		for _, v := range r.Values {
			sum += v
		}
		near(t, scores.String()+" efficiency Σφ", sum, r.Full-r.Empty, 1e-12)
		near(t, scores.String()+" symmetry φ_5", r.Values[5], r.Values[2], 1e-12)
		near(t, scores.String()+" dummy φ_7", r.Values[7], 0, 1e-12)
		if r.Values[2] == 0 {
			t.Errorf("%s: φ_2 = 0, the test does not test symmetry", scores)
		}
		// v(N) is the unperturbed clip, v(∅) the zeros clip.
		rows, _ := m.Predict([]metrics.Clip{x, metrics.NewClip(8, 1, 4, 4)})
		want := func(r []float32) float64 { return scores.Apply(r)[0] }
		near(t, "full", r.Full, want(rows[0]), 1e-12)
		near(t, "empty", r.Empty, want(rows[1]), 1e-12)
		if scores == metrics.Logits {
			// Additive game: φ_s is the segment's contribution, exactly.
			contrib := m.Contribution(x, metrics.NewClip(8, 1, 4, 4), 0)
			for f := range 8 {
				s := 0.0
				for _, c := range contrib[f*16 : (f+1)*16] {
					s += c
				}
				near(t, "logit φ", r.Values[f], s, 1e-5) // float32 logits
			}
		}
		// The volume: max(φ_s, 0)/(|s|·h·w) in every cell of frame s.
		for f := range 8 {
			for _, v := range r.Volume.Frame(f) {
				near(t, "volume", float64(v), math.Max(r.Values[f], 0)/4, 1e-7)
			}
		}
	}
}

// TestSHAPPermutations checks the Shapley values against their other
// definition, the mean marginal contribution over all S! orders, on a
// game that is not additive (probabilities) with segments of unequal size.
func TestSHAPPermutations(t *testing.T) {
	m, x := shapModel()
	const S = 3 // frames 0–1, 2–4, 5–7
	r, err := baselines.TemporalSHAP(m, x, metrics.PredictedClass, baselines.SHAPOptions{Segments: S, Baseline: metrics.MeanFrame, Height: 1, Width: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Bounds, []int{0, 2, 5, 8}) {
		t.Fatalf("bounds %v", r.Bounds)
	}
	base, _ := metrics.BaselineClip(x, metrics.MeanFrame, 0)
	value := func(c int) float64 {
		y := x.Clone()
		for s := range S {
			if c>>s&1 == 0 {
				for f := r.Bounds[s]; f < r.Bounds[s+1]; f++ {
					copy(y.Frame(f), base.Frame(f))
				}
			}
		}
		rows, _ := m.Predict([]metrics.Clip{y})
		return metrics.Probabilities.Apply(rows[0])[r.Target]
	}
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	phi := make([]float64, S)
	for _, p := range perms {
		c := 0
		for _, s := range p {
			phi[s] += (value(c|1<<s) - value(c)) / float64(len(perms))
			c |= 1 << s
		}
	}
	for s := range S {
		near(t, "φ by permutations", r.Values[s], phi[s], 1e-12)
	}
}

// limeSetup is a linear model over 3 frames × 2 channels × 8×8 pixels on a
// 4×4 grid; the true LIME coefficient of a patch, for its logit and the
// zeros baseline, is the sum of the contributions of its pixels over all
// frames and channels.
func limeSetup() (*metricstest.Linear, metrics.Clip, []float64) {
	x := metricstest.RandomClip(3, 2, 8, 8, -1, 1, 5)
	n := x.Len()
	w0 := make([]float64, n)
	for k := range w0 {
		w0[k] = 0.02 * float64((k*37)%13-6)
	}
	m := &metricstest.Linear{Weights: [][]float64{w0, make([]float64, n)}, Bias: []float64{3, 0}}
	cells := metricstest.CellSums(x, m.Contribution(x, metrics.NewClip(3, 2, 8, 8), 0), 4, 4)
	truth := make([]float64, 16)
	for k, c := range cells {
		truth[k%16] += c
	}
	return m, x, truth
}

func TestLIMERecoversLinearModel(t *testing.T) {
	m, x, truth := limeSetup()
	// Noise-free and linear in the masks: without penalty the fit is exact.
	r, err := baselines.SpatialLIME(m, x, 0, baselines.LIMEOptions{Height: 4, Width: 4, Samples: 300, Alpha: -1, Scores: metrics.Logits, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range r.Coefficients {
		near(t, "OLS coefficient", c, truth[j], 1e-4)
	}
	near(t, "OLS intercept", r.Intercept, 3, 1e-4)
	near(t, "OLS R²", r.Score, 1, 1e-9)
	// lime's defaults (1000 samples, ridge α = 1): shrunk a little.
	r, err = baselines.SpatialLIME(m, x, 0, baselines.LIMEOptions{Height: 4, Width: 4, Scores: metrics.Logits})
	if err != nil {
		t.Fatal(err)
	}
	scale := slices.Max(truth) - slices.Min(truth)
	worst := 0.0
	for j, c := range r.Coefficients {
		near(t, "ridge coefficient", c, truth[j], 0.02*scale)
		worst = math.Max(worst, math.Abs(c-truth[j])/scale)
	}
	t.Logf("ridge α = 1, 1000 samples: largest error %.3g of the coefficients' range, R² %.6f", worst, r.Score)
	if r.Score < 0.999 {
		t.Errorf("ridge R² = %v, want ≥ 0.999", r.Score)
	}
	// The volume: the positive part of β in every frame.
	for f := range 3 {
		for j, v := range r.Volume.Frame(f) {
			near(t, "volume", float64(v), math.Max(r.Coefficients[j], 0), 1e-6)
		}
	}
	// Probabilities: not linear, but the ranking of the patches survives.
	r, err = baselines.SpatialLIME(m, x, metrics.PredictedClass, baselines.LIMEOptions{Height: 4, Width: 4, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Target != 0 {
		t.Fatalf("predicted class %d, want 0", r.Target)
	}
	tau := metrics.KendallTauB(r.Coefficients, truth)
	t.Logf("probabilities: Kendall τ with the true coefficients %.3f, R² %.4f", tau, r.Score)
	if tau < 0.9 {
		t.Errorf("Kendall τ between LIME on probabilities and the true logit coefficients: %v, want ≥ 0.9", tau)
	}
}

func TestLIMESeed(t *testing.T) {
	m, x, _ := limeSetup()
	o := baselines.LIMEOptions{Height: 2, Width: 2, Samples: 50, Seed: 9, Baseline: metrics.Blur, BlurSigma: 1}
	a, err1 := baselines.SpatialLIME(m, x, 0, o)
	b, err2 := baselines.SpatialLIME(m, x, 0, o)
	o.Seed = 10
	c, err3 := baselines.SpatialLIME(m, x, 0, o)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if !slices.Equal(a.Coefficients, b.Coefficients) {
		t.Error("same seed, different coefficients")
	}
	if slices.Equal(a.Coefficients, c.Coefficients) {
		t.Error("different seeds, same coefficients")
	}
}

func TestBatches(t *testing.T) {
	m, x := shapModel()
	rec := &metricstest.Recorder{Model: m}
	var prog [][2]int
	_, err := baselines.TemporalSHAP(rec, x, 0, baselines.SHAPOptions{Segments: 4, BatchSize: 5, Height: 2, Width: 2,
		Progress: func(d, n int) { prog = append(prog, [2]int{d, n}) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Batches(); !slices.Equal(got, []int{5, 5, 5, 1}) {
		t.Errorf("SHAP over 16 coalitions in batches of 5: %v", got)
	}
	if !slices.Equal(prog, [][2]int{{5, 16}, {10, 16}, {15, 16}, {16, 16}}) {
		t.Errorf("SHAP progress %v", prog)
	}
	rec.Reset()
	prog = nil
	_, err = baselines.SpatialLIME(rec, x, 0, baselines.LIMEOptions{Height: 2, Width: 2, Samples: 23, BatchSize: 8,
		Progress: func(d, n int) { prog = append(prog, [2]int{d, n}) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Batches(); !slices.Equal(got, []int{8, 8, 7}) {
		t.Errorf("LIME over 23 samples in batches of 8: %v", got)
	}
	if !slices.Equal(prog, [][2]int{{8, 23}, {16, 23}, {23, 23}}) {
		t.Errorf("LIME progress %v", prog)
	}
	rec.Reset()
	// Defaults: 256 coalitions and 1000 samples in batches of 16.
	if _, err := baselines.TemporalSHAP(rec, x, 0, baselines.SHAPOptions{Height: 2, Width: 2}); err != nil {
		t.Fatal(err)
	}
	if b := rec.Batches(); len(b) != 16 || slices.Max(b) != 16 || slices.Min(b) != 16 {
		t.Errorf("default SHAP batches %v", b)
	}
}

func TestErrors(t *testing.T) {
	m, x := shapModel()
	for name, o := range map[string]baselines.SHAPOptions{
		"too many segments": {Segments: 9, Height: 2, Width: 2},
		"negative grid":     {Height: -1, Width: 2},
		"no grid":           {},
	} {
		if _, err := baselines.TemporalSHAP(m, x, 0, o); err == nil {
			t.Errorf("SHAP %s: no error", name)
		}
	}
	if _, err := baselines.TemporalSHAP(m, x, 5, baselines.SHAPOptions{Segments: 2, Height: 2, Width: 2}); err == nil {
		t.Error("SHAP target 5 of 3 classes: no error")
	}
	for name, o := range map[string]baselines.LIMEOptions{
		"no grid":      {},
		"grid too big": {Height: 5, Width: 5},
		"one sample":   {Height: 2, Width: 2, Samples: 1},
		"bad width":    {Height: 2, Width: 2, KernelWidth: -1},
		"OLS, too few": {Height: 4, Width: 4, Samples: 10, Alpha: -1},
	} {
		if _, err := baselines.SpatialLIME(m, x, 0, o); err == nil {
			t.Errorf("LIME %s: no error", name)
		}
	}
}
