// Package metricstest holds test doubles for the metrics and baselines:
// a linear classifier over a clip's pixels, whose true attributions are
// known in closed form, and a recorder of the batches a model is called on.
package metricstest

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/staa-dev/staa/staa/metrics"
)

// Linear is a linear classifier over the pixels of clips of one shape:
//
//	logit_c(x) = Bias[c] + Σ_k Weights[c][k]·x[k],
//
// over the Frames·Channels·Height·Width values k of the clip, in float64.
// For such a model the effect of replacing any set S of pixels of x by a
// baseline b is exactly −Σ_{k∈S} Weights[c][k]·(x[k] − b[k]): the relevance
// of a pixel, a patch tube or a frame segment is its Contribution.
type Linear struct {
	Weights [][]float64
	Bias    []float64
}

// Predict implements metrics.Model.
func (l *Linear) Predict(clips []metrics.Clip) ([][]float32, error) {
	out := make([][]float32, len(clips))
	for b, c := range clips {
		row := make([]float32, len(l.Weights))
		for cl, w := range l.Weights {
			if len(w) != len(c.Data) {
				return nil, fmt.Errorf("metricstest: clip of %d values for a model of %d weights", len(c.Data), len(w))
			}
			s := l.Bias[cl]
			for k, x := range c.Data {
				s += w[k] * float64(x)
			}
			row[cl] = float32(s)
		}
		out[b] = row
	}
	return out, nil
}

// Contribution returns, for every value k of the clip, the change of class
// class's logit when x[k] replaces base[k]: Weights[class][k]·(x[k] − base[k]).
func (l *Linear) Contribution(x, base metrics.Clip, class int) []float64 {
	c := make([]float64, len(x.Data))
	for k := range c {
		c[k] = l.Weights[class][k] * (float64(x.Data[k]) - float64(base.Data[k]))
	}
	return c
}

// Recorder wraps a model and records the size of every batch it is called
// on. It is safe for concurrent use.
type Recorder struct {
	Model metrics.Model

	mu      sync.Mutex
	batches []int
}

// Predict records len(clips) and calls the wrapped model.
func (r *Recorder) Predict(clips []metrics.Clip) ([][]float32, error) {
	r.mu.Lock()
	r.batches = append(r.batches, len(clips))
	r.mu.Unlock()
	return r.Model.Predict(clips)
}

// Batches returns the batch sizes seen so far, in call order.
func (r *Recorder) Batches() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.batches...)
}

// Reset forgets the batches seen.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.batches = nil
	r.mu.Unlock()
}

// RandomClip returns a clip of uniform values in [lo, hi), seeded.
func RandomClip(frames, channels, height, width int, lo, hi float64, seed uint64) metrics.Clip {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	c := metrics.NewClip(frames, channels, height, width)
	for k := range c.Data {
		c.Data[k] = float32(lo + (hi-lo)*rng.Float64())
	}
	return c
}

// CellSums sums per-value contributions of a clip over the cells of an
// h×w patch grid, frame by frame and channel by channel summed together,
// with the pixel-to-cell map of metrics (⌊y·h/H⌋, ⌊x·w/W⌋): the true
// attribution volume [F, h, w] of a linear model's contributions.
func CellSums(x metrics.Clip, contrib []float64, h, w int) []float64 {
	out := make([]float64, x.Frames*h*w)
	for f := range x.Frames {
		for c := range x.Channels {
			for y := range x.Height {
				for xx := range x.Width {
					k := ((f*x.Channels+c)*x.Height+y)*x.Width + xx
					out[(f*h+y*h/x.Height)*w+xx*w/x.Width] += contrib[k]
				}
			}
		}
	}
	return out
}
