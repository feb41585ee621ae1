package metrics_test

import (
	"math"
	"slices"
	"testing"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/metricstest"
	"gonum.org/v1/gonum/stat"
)

func TestFaithfulnessHandComputed(t *testing.T) {
	m, x := tiny()
	e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(m, x, metrics.Options{}))
	// Keep 2 of 4 tubes, zeros elsewhere.
	cases := []struct {
		name string
		v    staa.Volume
		z0   float64 // the kept pixels' logit
	}{
		{"perfect", vol(1, 2, 2, 4, 3, 2, 1), 7},  // keeps a, b
		{"random", vol(1, 2, 2, 4, 1, 3, 2), 6},   // keeps a, c
		{"inverted", vol(1, 2, 2, 1, 2, 3, 4), 3}, // keeps c, d
	}
	var got []float64
	for _, c := range cases {
		f := must[float64](t)(e.Faithfulness(c.v, metrics.FaithfulnessOptions{}))
		// z′ = (z0, 2, 0) with z0 > 2: mm(z′) = (1, 2/z0, 0); mm(z) = (1, 0.2, 0).
		near(t, c.name, f, 1-math.Abs(2/c.z0-0.2)/3, 1e-12)
		got = append(got, f)
	}
	if !(got[0] > got[1] && got[1] > got[2]) {
		t.Errorf("faithfulness perfect %v, random %v, inverted %v: want decreasing", got[0], got[1], got[2])
	}
	// Keeping everything changes nothing.
	near(t, "keep 1", must[float64](t)(e.Faithfulness(cases[2].v, metrics.FaithfulnessOptions{Keep: 1})), 1, 0)
	// Probabilities: mm over softmax(z).
	p := metrics.MinMax([]float64{softmax3(10, 2, 0), softmax3(2, 10, 0), softmax3(0, 10, 2)})
	q := metrics.MinMax([]float64{softmax3(7, 2, 0), softmax3(2, 7, 0), softmax3(0, 7, 2)})
	want := 1 - (math.Abs(p[0]-q[0])+math.Abs(p[1]-q[1])+math.Abs(p[2]-q[2]))/3
	near(t, "probabilities", must[float64](t)(e.Faithfulness(cases[0].v, metrics.FaithfulnessOptions{Scores: metrics.Probabilities})), want, 1e-7)
}

func TestMonotonicityHandComputed(t *testing.T) {
	m, x := tiny()
	e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(m, x, metrics.Options{}))
	fr := []float64{0.25, 0.5, 0.75, 1}
	// Positive contributions: whatever the order, keeping more brings z0
	// closer to 10, d_p falls and τ = −1 (the metric cannot tell orders
	// apart on such a model).
	for _, v := range []staa.Volume{vol(1, 2, 2, 4, 3, 2, 1), vol(1, 2, 2, 1, 2, 3, 4)} {
		r := must[metrics.MonotonicityResult](t)(e.Monotonicity(v, metrics.MonotonicityOptions{Fractions: fr}))
		near(t, "tau", r.Tau, -1, 0)
		near(t, "d_1", r.Distances[3], 0, 0)
	}
	// Perfect order a, b, c, d: z0 = 4, 7, 9, 10, all > 2, d = |2/z0 − 0.2|/3.
	r := must[metrics.MonotonicityResult](t)(e.Monotonicity(vol(1, 2, 2, 4, 3, 2, 1), metrics.MonotonicityOptions{Fractions: fr}))
	for k, z0 := range []float64{4, 7, 9, 10} {
		near(t, "d", r.Distances[k], math.Abs(2/z0-0.2)/3, 1e-12)
	}

	// Mixed signs, z0 = 4a + 3b − 2c − d: the hand-computed τ-b.
	m.Weights[0] = []float64{4, 3, -2, -1}
	e = must[*metrics.Evaluator](t)(metrics.NewEvaluator(m, x, metrics.Options{}))
	// z = (4, 2, 0), mm = (1, 0.5, 0). Order by true contribution a, b, d, c:
	// z0 = 4, 7, 6, 4 → d = 0, (0.5 − 2/7)/3, (0.5 − 1/3)/3, 0: C = 2, D = 3,
	// one tie in d: τ-b = −1/√30.
	r = must[metrics.MonotonicityResult](t)(e.Monotonicity(vol(1, 2, 2, 4, 3, -2, -1), metrics.MonotonicityOptions{Fractions: fr}))
	near(t, "mixed perfect tau", r.Tau, -1/math.Sqrt(30), 1e-12)
	// Inverted, c, d, b, a: z0 = −2, −3, 0, 4 → d = 2/3, 0.7, 0.5, 0: τ = −4/6.
	r = must[metrics.MonotonicityResult](t)(e.Monotonicity(vol(1, 2, 2, -4, -3, 2, 1), metrics.MonotonicityOptions{Fractions: fr}))
	near(t, "mixed inverted tau", r.Tau, -4.0/6, 1e-12)
	for k, want := range []float64{2.0 / 3, 0.7, 0.5, 0} {
		near(t, "mixed inverted d", r.Distances[k], want, 1e-12)
	}
}

func TestKendallTauB(t *testing.T) {
	// scipy.stats.kendalltau([1,2,3,4,5], [5,4,4,2,1]) = −0.9486832980505138.
	near(t, "ties", metrics.KendallTauB([]float64{1, 2, 3, 4, 5}, []float64{5, 4, 4, 2, 1}), -9/math.Sqrt(90), 1e-15)
	near(t, "constant", metrics.KendallTauB([]float64{1, 2, 3}, []float64{1, 1, 1}), math.NaN(), 0)
	// Without ties τ-b is τ-a, which gonum computes.
	x := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	y := []float64{0.9, 0.5, 0.7, 0.2, 0.3, 0.1}
	near(t, "no ties", metrics.KendallTauB(x, y), stat.Kendall(x, y, nil), 1e-15)
}

func TestCurvesHandComputed(t *testing.T) {
	m, x := tiny()
	e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(m, x, metrics.Options{}))
	o := metrics.CurveOptions{Steps: 4, Baseline: metrics.Zeros}
	trap := func(s []float64) float64 {
		a := 0.0
		for k := 0; k+1 < len(s); k++ {
			a += 0.25 * (s[k] + s[k+1]) / 2
		}
		return a
	}
	probs := func(z0 ...float64) []float64 {
		s := make([]float64, len(z0))
		for k, z := range z0 {
			s[k] = softmax3(z, 2, 0)
		}
		return s
	}
	cases := []struct {
		name     string
		v        staa.Volume
		del, ins []float64 // z0 along the curves
	}{
		{"perfect", vol(1, 2, 2, 4, 3, 2, 1), []float64{10, 6, 3, 1, 0}, []float64{0, 4, 7, 9, 10}},
		{"random", vol(1, 2, 2, 4, 1, 3, 2), []float64{10, 6, 4, 3, 0}, []float64{0, 4, 6, 7, 10}}, // a, c, d, b
		{"inverted", vol(1, 2, 2, 1, 2, 3, 4), []float64{10, 9, 7, 4, 0}, []float64{0, 1, 3, 6, 10}},
	}
	var dels, inss []float64
	for _, c := range cases {
		d := must[metrics.Curve](t)(e.Deletion(c.v, metrics.PredictedClass, o))
		i := must[metrics.Curve](t)(e.Insertion(c.v, 0, o))
		if d.Target != 0 || !slices.Equal(d.Fractions, []float64{0, 0.25, 0.5, 0.75, 1}) {
			t.Fatalf("%s: target %d, fractions %v", c.name, d.Target, d.Fractions)
		}
		for k := range d.Scores {
			near(t, c.name+" deletion score", d.Scores[k], probs(c.del...)[k], 1e-7)
			near(t, c.name+" insertion score", i.Scores[k], probs(c.ins...)[k], 1e-7)
		}
		near(t, c.name+" deletion AUC", d.AUC, trap(probs(c.del...)), 1e-7)
		near(t, c.name+" insertion AUC", i.AUC, trap(probs(c.ins...)), 1e-7)
		dels, inss = append(dels, d.AUC), append(inss, i.AUC)
	}
	if !(dels[0] < dels[1] && dels[1] < dels[2]) {
		t.Errorf("deletion AUC %v: want increasing from perfect to inverted", dels)
	}
	if !(inss[0] > inss[1] && inss[1] > inss[2]) {
		t.Errorf("insertion AUC %v: want decreasing from perfect to inverted", inss)
	}
	// Logits: the curve of z0 itself.
	d := must[metrics.Curve](t)(e.Deletion(cases[0].v, 0, metrics.CurveOptions{Steps: 4, Scores: metrics.Logits}))
	near(t, "logit deletion AUC", d.AUC, trap([]float64{10, 6, 3, 1, 0}), 1e-12)
	// More steps than tubes: one tube per step.
	d = must[metrics.Curve](t)(e.Deletion(cases[0].v, 0, metrics.CurveOptions{Steps: 100}))
	if len(d.Fractions) != 5 {
		t.Errorf("100 steps over 4 tubes: %d points, want 5", len(d.Fractions))
	}
	if _, err := e.Deletion(cases[0].v, 3, o); err == nil {
		t.Error("target 3 of 3 classes: no error")
	}
}

// TestOrdering checks the expected ordering perfect > random > inverted of
// every perturbation metric on a linear model whose true relevance is
// known, with one-frame tubes and with two-frame tubes.
func TestOrdering(t *testing.T) {
	for _, tubelet := range []int{1, 2} {
		s := newSetup(t, tubelet)
		e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(s.model, s.x, metrics.Options{Tubelet: tubelet, BatchSize: 7, BlurSigma: 1.5}))
		if e.Predicted() != 0 {
			t.Fatalf("the test model predicts class %d for its clip, want 0 (logits %v)", e.Predicted(), e.Logits())
		}
		vols := []staa.Volume{s.perfect, s.random, s.inverse}
		var faith, del, ins [3]float64
		for k, v := range vols {
			// The true relevance is relative to the zeros baseline.
			faith[k] = must[float64](t)(e.Faithfulness(v, metrics.FaithfulnessOptions{Keep: 0.3}))
			del[k] = must[metrics.Curve](t)(e.Deletion(v, 0, metrics.CurveOptions{})).AUC
			ins[k] = must[metrics.Curve](t)(e.Insertion(v, 0, metrics.CurveOptions{Baseline: metrics.Zeros})).AUC
			mono := must[metrics.MonotonicityResult](t)(e.Monotonicity(v, metrics.MonotonicityOptions{}))
			if mono.Tau != -1 {
				t.Errorf("τ %d: monotonicity %v on a model of positive contributions, want −1 (%v)", tubelet, mono.Tau, mono.Distances)
			}
		}
		t.Logf("τ=%d faithfulness %.4f, deletion %.4f, insertion %.4f", tubelet, faith, del, ins)
		if !(faith[0] > faith[1] && faith[1] > faith[2]) {
			t.Errorf("τ %d: faithfulness %v, want perfect > random > inverted", tubelet, faith)
		}
		if !(del[0] < del[1] && del[1] < del[2]) {
			t.Errorf("τ %d: deletion AUC %v, want perfect < random < inverted", tubelet, del)
		}
		if !(ins[0] > ins[1] && ins[1] > ins[2]) {
			t.Errorf("τ %d: insertion AUC %v, want perfect > random > inverted", tubelet, ins)
		}
	}
}

// TestBatches checks that the model sees batches of the requested size,
// the last one holding the remainder, and never one clip at a time when
// more are pending.
func TestBatches(t *testing.T) {
	s := newSetup(t, 1)
	rec := &metricstest.Recorder{Model: s.model}
	e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(rec, s.x, metrics.Options{BatchSize: 4}))
	check := func(what string, want ...int) {
		t.Helper()
		if got := rec.Batches(); !slices.Equal(got, want) {
			t.Errorf("%s: batches %v, want %v", what, got, want)
		}
		rec.Reset()
	}
	check("reference", 1)
	must[metrics.MonotonicityResult](t)(e.Monotonicity(s.perfect, metrics.MonotonicityOptions{}))
	check("monotonicity, 9 fractions", 4, 4, 1)
	must[metrics.Curve](t)(e.Deletion(s.perfect, 0, metrics.CurveOptions{Steps: 10}))
	check("deletion, 10 steps", 4, 4, 2)
	must[metrics.Curve](t)(e.Insertion(s.perfect, 0, metrics.CurveOptions{Steps: 8}))
	check("insertion, 8 steps", 4, 4)
	must[float64](t)(e.Faithfulness(s.perfect, metrics.FaithfulnessOptions{}))
	check("faithfulness", 1)
	if e.Calls() != 1+9+10+8+1 {
		t.Errorf("Calls() = %d, want %d", e.Calls(), 1+9+10+8+1)
	}

	var progress [][2]int
	rows := must[[][]float32](t)(metrics.PredictBatched(rec, s.x, 10, 3, func(k int, dst metrics.Clip) { copy(dst.Data, s.x.Data) },
		func(done, total int) { progress = append(progress, [2]int{done, total}) }))
	check("PredictBatched", 3, 3, 3, 1)
	if len(rows) != 10 || !slices.Equal(progress, [][2]int{{3, 10}, {6, 10}, {9, 10}, {10, 10}}) {
		t.Errorf("%d rows, progress %v", len(rows), progress)
	}
}

func TestModelErrors(t *testing.T) {
	_, x := tiny()
	bad := []metrics.ModelFunc{
		func(c []metrics.Clip) ([][]float32, error) { return [][]float32{}, nil },
		func(c []metrics.Clip) ([][]float32, error) { return [][]float32{{}}, nil },
		func(c []metrics.Clip) ([][]float32, error) { return [][]float32{{float32(math.NaN())}}, nil },
	}
	for i, m := range bad {
		if _, err := metrics.NewEvaluator(m, x, metrics.Options{}); err == nil {
			t.Errorf("bad model %d: no error", i)
		}
	}
	m, _ := tiny()
	e := must[*metrics.Evaluator](t)(metrics.NewEvaluator(m, x, metrics.Options{}))
	for name, v := range map[string]staa.Volume{
		"wrong frames": vol(2, 2, 2, 1, 2, 3, 4, 1, 2, 3, 4),
		"finer grid":   staa.NewVolume(1, 4, 4),
		"NaN":          vol(1, 2, 2, 1, float32(math.NaN()), 3, 4),
		"short":        vol(1, 2, 2, 1, 2, 3),
	} {
		if _, err := e.Faithfulness(v, metrics.FaithfulnessOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := e.Faithfulness(vol(1, 2, 2, 1, 2, 3, 4), metrics.FaithfulnessOptions{Keep: 1.5}); err == nil {
		t.Error("keep 1.5: no error")
	}
	if _, err := metrics.NewEvaluator(m, x, metrics.Options{Tubelet: 3}); err == nil {
		t.Error("tubelet 3 of 1 frame: no error")
	}
}

func TestBaselineClips(t *testing.T) {
	x := metrics.NewClip(2, 1, 3, 4)
	for k := range x.Data {
		x.Data[k] = float32(k)
	}
	z := must[metrics.Clip](t)(metrics.BaselineClip(x, metrics.Zeros, 0))
	if slices.Max(z.Data) != 0 || slices.Min(z.Data) != 0 {
		t.Error("zeros baseline is not zero")
	}
	mf := must[metrics.Clip](t)(metrics.BaselineClip(x, metrics.MeanFrame, 0))
	for k := range 12 {
		want := float32(k) + 6 // mean of k and k + 12
		if mf.Data[k] != want || mf.Data[12+k] != want {
			t.Fatalf("mean frame at %d: %v, %v, want %v", k, mf.Data[k], mf.Data[12+k], want)
		}
	}
	// A constant plane stays constant; an impulse far from the borders
	// spreads symmetrically and keeps its mass.
	c := metrics.NewClip(1, 2, 41, 41)
	for k := range 41 * 41 {
		c.Data[k] = 3
	}
	c.Data[41*41+20*41+20] = 1
	b := must[metrics.Clip](t)(metrics.BaselineClip(c, metrics.Blur, 2))
	sum := 0.0
	for k := range 41 * 41 {
		near(t, "constant plane", float64(b.Data[k]), 3, 1e-6)
		sum += float64(b.Data[41*41+k])
	}
	near(t, "impulse mass", sum, 1, 1e-6)
	p := b.Data[41*41:]
	near(t, "symmetry", float64(p[20*41+17]), float64(p[17*41+20]), 1e-9)
	near(t, "symmetry", float64(p[20*41+23]), float64(p[20*41+17]), 1e-9)
	// The centre weight of a σ = 2 blur: (1/Σ_k exp(−k²/8))², k = −6…6.
	s := 0.0
	for k := -6; k <= 6; k++ {
		s += math.Exp(-float64(k*k) / 8)
	}
	near(t, "centre", float64(p[20*41+20]), 1/(s*s), 1e-7)
}

func TestTubesCompose(t *testing.T) {
	// 5 pixels on 2 cells: rows 0, 1, 2 → cell 0, rows 3, 4 → cell 1.
	x := metrics.NewClip(2, 1, 5, 3)
	for k := range x.Data {
		x.Data[k] = 1
	}
	base := metrics.NewClip(2, 1, 5, 3)
	tu := must[*metrics.Tubes](t)(metrics.NewTubes(x, 2, 1, 2))
	if tu.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tu.Len())
	}
	dst := metrics.NewClip(2, 1, 5, 3)
	tu.Compose(dst, x, base, []bool{false, true})
	for f := range 2 {
		for y := range 5 {
			for xx := range 3 {
				want := float32(0)
				if y >= 3 {
					want = 1
				}
				if got := dst.Data[(f*5+y)*3+xx]; got != want {
					t.Fatalf("frame %d pixel (%d, %d) = %v, want %v", f, y, xx, got, want)
				}
			}
		}
	}
	// Tube scores sum the τ frames; order is by decreasing score, ties by index.
	sc := must[[]float64](t)(tu.Scores(vol(2, 2, 1, 1, 2, 3, 4)))
	if !slices.Equal(sc, []float64{4, 6}) {
		t.Errorf("scores %v, want [4 6]", sc)
	}
	ord := must[[]int](t)(tu.Order(vol(2, 2, 1, 1, 1, 1, 1)))
	if !slices.Equal(ord, []int{0, 1}) {
		t.Errorf("tied order %v, want [0 1]", ord)
	}
}
