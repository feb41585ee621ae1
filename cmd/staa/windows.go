package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/staa-dev/staa/internal/progress"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
)

// windowsFor returns the frame indices of the windows that cover a video of
// total frames for a model of frames frames: sliding windows every stride
// frames (the last one ending on the last frame), or, for a video shorter
// than one window, one window sampled uniformly over it (frames repeat).
func windowsFor(total, frames, stride int) (windows [][]int, sampling string) {
	if total < frames {
		return [][]int{runtime.UniformIndices(total, frames)}, "uniform"
	}
	return runtime.SlidingWindows(total, frames, stride), "sliding"
}

// windowResult is the explanation of one window.
type windowResult struct {
	index    int
	frames   []int // video frame of each of the window's positions
	probs    []float32
	ranking  []runtime.Label
	spatial  staa.Volume // [F, h, w]
	temporal []float32   // [F]
	// latency is the time of the Explain call that produced the window
	// (preprocess, forward and attribution), divided by the batch size.
	latency time.Duration
}

// stageTimes adds up the time of each stage.
type stageTimes struct {
	preprocess, forward, attribution time.Duration
	calls                            int
}

// explainWindows explains the windows of v, batch windows per call.
func explainWindows(s *runtime.Session, v runtime.Video, windows [][]int, opts staa.Options, batch int, bar *progress.Bar) ([]windowResult, stageTimes, error) {
	var st stageTimes
	out := make([]windowResult, 0, len(windows))
	for first := 0; first < len(windows); first += batch {
		part := windows[first:min(first+batch, len(windows))]
		clips := make([]runtime.Video, len(part))
		for i, w := range part {
			c, err := v.Select(w)
			if err != nil {
				return nil, st, fmt.Errorf("window %d: %v", first+i, err)
			}
			clips[i] = c
		}
		t0 := time.Now()
		res, err := s.Explain(clips, opts)
		if err != nil {
			if len(windows) == 1 {
				return nil, st, err
			}
			return nil, st, fmt.Errorf("windows %d–%d of %d: %w", first, first+len(part)-1, len(windows), err)
		}
		per := time.Since(t0) / time.Duration(len(part))
		st.preprocess += res.Timing.Preprocess
		st.forward += res.Timing.Forward
		st.attribution += res.Timing.Attribution
		st.calls++
		for i, e := range res.Clips {
			out = append(out, windowResult{
				index:    first + i,
				frames:   part[i],
				probs:    e.Probabilities,
				ranking:  e.Ranking,
				spatial:  e.Attribution.Spatial,
				temporal: e.Attribution.Temporal,
				latency:  per,
			})
		}
		bar.Add(len(part))
	}
	bar.Finish()
	return out, st, nil
}

// latencyStats returns the median, the 99th percentile (nearest rank) and
// the maximum of the windows' latencies.
func latencyStats(ws []windowResult) (median, p99, worst time.Duration) {
	if len(ws) == 0 {
		return 0, 0, 0
	}
	d := make([]time.Duration, len(ws))
	for i, w := range ws {
		d[i] = w.latency
	}
	slices.Sort(d)
	return percentile(d, 50), percentile(d, 99), d[len(d)-1]
}

// percentile returns the p-th percentile of sorted d by the nearest-rank
// method (the smallest value with at least p % of the values at or below it);
// the 50th of an even count is the mean of the middle two.
func percentile(d []time.Duration, p float64) time.Duration {
	n := len(d)
	if p == 50 && n%2 == 0 {
		return (d[n/2-1] + d[n/2]) / 2
	}
	k := int(float64(n)*p/100+0.999999999) - 1
	return d[min(max(k, 0), n-1)]
}
