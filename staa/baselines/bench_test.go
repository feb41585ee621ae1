package baselines_test

import (
	"math/rand/v2"
	"testing"

	"github.com/staa-dev/staa/staa/baselines"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/metricstest"
)

// benchModel is a 4-class linear model over clips of 8 frames × 3 channels
// × 32×32 pixels (a 4×4 grid of 8-pixel patches): cheap enough that the
// benchmarks measure the explainers' own work — building the perturbed
// clips, the bookkeeping, the regression — more than the model.
func benchModel() (*metricstest.Linear, metrics.Clip) {
	x := metricstest.RandomClip(8, 3, 32, 32, -1, 1, 11)
	rng := rand.New(rand.NewPCG(1, 2))
	m := &metricstest.Linear{Bias: make([]float64, 4)}
	for range 4 {
		w := make([]float64, x.Len())
		for k := range w {
			w[k] = rng.NormFloat64() * 0.01
		}
		m.Weights = append(m.Weights, w)
	}
	return m, x
}

// BenchmarkTemporalSHAP: 8 segments, 256 coalitions, batches of 16.
func BenchmarkTemporalSHAP(b *testing.B) {
	m, x := benchModel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := baselines.TemporalSHAP(m, x, 0, baselines.SHAPOptions{Height: 4, Width: 4}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/256, "ns/coalition")
}

// BenchmarkSpatialLIME: 1000 samples over 16 patches, batches of 16.
func BenchmarkSpatialLIME(b *testing.B) {
	m, x := benchModel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := baselines.SpatialLIME(m, x, 0, baselines.LIMEOptions{Height: 4, Width: 4}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/sample")
}

// BenchmarkSpatialLIMEFit isolates the explainer's own cost with a model
// that does no work: composing 1000 clips of 8×3×224×224 over a 14×14
// grid, and the ridge regression over 196 features.
func BenchmarkSpatialLIMEFit(b *testing.B) {
	x := metricstest.RandomClip(8, 3, 224, 224, -1, 1, 12)
	m := metrics.ModelFunc(func(c []metrics.Clip) ([][]float32, error) {
		out := make([][]float32, len(c))
		for i, cl := range c {
			out[i] = []float32{cl.Data[0], cl.Data[len(cl.Data)-1]}
		}
		return out, nil
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := baselines.SpatialLIME(m, x, 0, baselines.LIMEOptions{Height: 14, Width: 14}); err != nil {
			b.Fatal(err)
		}
	}
}
