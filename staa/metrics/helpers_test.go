package metrics_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/metricstest"
)

// tiny is the hand-computable model of the tests: one frame, one channel,
// 2×2 pixels a b / c d, each its own patch tube on a 2×2 grid, and
//
//	z0 = 4a + 3b + 2c + d,  z1 = 2,  z2 = 0.
//
// On the all-ones clip z = (10, 2, 0), mm(z) = (1, 0.2, 0).
func tiny() (*metricstest.Linear, metrics.Clip) {
	m := &metricstest.Linear{
		Weights: [][]float64{{4, 3, 2, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}},
		Bias:    []float64{0, 2, 0},
	}
	x := metrics.NewClip(1, 1, 2, 2)
	for k := range x.Data {
		x.Data[k] = 1
	}
	return m, x
}

func vol(frames, h, w int, data ...float32) staa.Volume {
	return staa.Volume{Frames: frames, Height: h, Width: w, Data: data}
}

// setup is the ordering benchmark: a linear model over 4 frames × 2
// channels × 8×8 pixels on a 4×4 patch grid whose class 0 depends on every
// pixel with weights ≥ 0 of very different sizes, and classes 1 and 2 are
// constants; x > 0, so every contribution to class 0 is ≥ 0 and the true
// attribution of a tube is the sum of its contributions.
type setup struct {
	model                    *metricstest.Linear
	x                        metrics.Clip
	perfect, random, inverse staa.Volume
}

func newSetup(t testing.TB, tubelet int) setup {
	t.Helper()
	const F, C, H, W, h, w = 4, 2, 8, 8, 4, 4
	x := metricstest.RandomClip(F, C, H, W, 0.2, 1, 1)
	rng := rand.New(rand.NewPCG(7, 7))
	n := x.Len()
	w0 := make([]float64, n)
	for k := range w0 {
		// Heavy-tailed, so that a few tubes carry most of the evidence.
		w0[k] = 0.5 * math.Pow(rng.Float64(), 4)
	}
	m := &metricstest.Linear{Weights: [][]float64{w0, make([]float64, n), make([]float64, n)}, Bias: []float64{-2, 1, 0}}
	truth := metricstest.CellSums(x, m.Contribution(x, metrics.NewClip(F, C, H, W), 0), h, w)
	// With τ > 1 every frame of a tube gets the tube's total, so that the
	// ranking of tubes is the true one.
	if tubelet > 1 {
		for f0 := 0; f0 < F; f0 += tubelet {
			for k := range h * w {
				s := 0.0
				for f := f0; f < f0+tubelet; f++ {
					s += truth[f*h*w+k]
				}
				for f := f0; f < f0+tubelet; f++ {
					truth[f*h*w+k] = s
				}
			}
		}
	}
	s := setup{model: m, x: x,
		perfect: staa.NewVolume(F, h, w), random: staa.NewVolume(F, h, w), inverse: staa.NewVolume(F, h, w)}
	hi := slices.Max(truth)
	for k, v := range truth {
		s.perfect.Data[k] = float32(v)
		s.inverse.Data[k] = float32(hi - v)
		s.random.Data[k] = float32(rng.Float64())
	}
	return s
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func softmax3(z0, z1, z2 float64) float64 {
	return math.Exp(z0) / (math.Exp(z0) + math.Exp(z1) + math.Exp(z2))
}
