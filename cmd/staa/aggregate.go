package main

import (
	"cmp"
	"slices"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
)

// combined is the explanation of the whole video, from its windows.
type combined struct {
	// maps holds one h×w map per video frame, values in [0, 1].
	maps staa.Volume
	// profile is P[f] over the video's frames, summing to 1.
	profile []float64
	// smoothed is the Savitzky–Golay fit of profile for long videos
	// (clamped at 0 and renormalised), nil otherwise; sgWindow and sgOrder
	// its parameters.
	smoothed          []float64
	sgWindow, sgOrder int
	// keyFrames are the peaks of the profile (of smoothed when set).
	keyFrames []int
	// probs is the mean over the windows of the class probabilities;
	// ranking sorts the classes by it.
	probs   []float64
	ranking []runtime.Label
}

// combineWindows merges the windows' explanations into per-frame maps and a
// temporal profile over the video of total frames:
//
//   - each window's maps are scaled by the window's maximum, so every window
//     contributes maps in [0, 1] whatever the post-processing;
//   - a frame that appears at several positions of one window (uniform
//     sampling of a short video repeats frames) gets the mean of their maps
//     and the sum of their weights P;
//   - each frame's map and weight are the exponential moving average
//     (staa.EMA, α = alpha) over the windows that contain it, in window
//     order; the weights are then normalised to sum to 1 over the video.
//
// A frame no window covers (impossible with the windows of windowsFor) keeps
// a zero map and weight.
func combineWindows(total int, ws []windowResult, alpha float64, classes []string) combined {
	h, w := ws[0].spatial.Height, ws[0].spatial.Width
	hw := h * w
	emas := make([]*staa.EMA, total)
	state := make([][]float32, total)
	x := make([]float32, hw+1)
	for _, win := range ws {
		sp := win.spatial
		var top float32
		for _, v := range sp.Data {
			top = max(top, v)
		}
		scale := float32(1)
		if top > 0 {
			scale = 1 / top
		}
		// Positions of each distinct frame, in order of first appearance.
		pos := map[int][]int{}
		var order []int
		for p, f := range win.frames {
			if _, ok := pos[f]; !ok {
				order = append(order, f)
			}
			pos[f] = append(pos[f], p)
		}
		for _, f := range order {
			clear(x)
			for _, p := range pos[f] {
				for i, v := range sp.Frame(p) {
					x[i] += v * scale
				}
				x[hw] += win.temporal[p]
			}
			n := float32(len(pos[f]))
			for i := range hw {
				x[i] /= n
			}
			if emas[f] == nil {
				emas[f] = &staa.EMA{Alpha: alpha}
			}
			state[f] = emas[f].Update(x)
		}
	}
	c := combined{maps: staa.NewVolume(total, h, w), profile: make([]float64, total)}
	sum := 0.0
	for f, s := range state {
		if s == nil {
			continue
		}
		copy(c.maps.Frame(f), s[:hw])
		c.profile[f] = float64(max(s[hw], 0))
		sum += c.profile[f]
	}
	for f := range c.profile {
		if sum > 0 {
			c.profile[f] /= sum
		} else {
			c.profile[f] = 1 / float64(total)
		}
	}
	c.probs, c.ranking = meanProbabilities(ws, classes)
	return c
}

// meanProbabilities averages the windows' class probabilities (each window
// counts once) and ranks the classes by the average.
func meanProbabilities(ws []windowResult, classes []string) ([]float64, []runtime.Label) {
	probs := make([]float64, len(ws[0].probs))
	for _, win := range ws {
		for i, p := range win.probs {
			probs[i] += float64(p) / float64(len(ws))
		}
	}
	r := make([]runtime.Label, len(probs))
	for i := range r {
		r[i] = runtime.Label{Index: i, Probability: float32(probs[i])}
		if i < len(classes) {
			r[i].Name = classes[i]
		}
	}
	slices.SortStableFunc(r, func(a, b runtime.Label) int { return cmp.Compare(b.Probability, a.Probability) })
	return probs, r
}

// smoothProfile sets c.smoothed for a long video: one whose frames span at
// least three windows of the model and three smoothing windows. The
// Savitzky–Golay window is the model's window (made odd, at least 5): the
// curve keeps structure at the time scale the model resolves and loses the
// jitter between overlapping windows. Order 2.
func (c *combined) smoothProfile(frames int) error {
	n := len(c.profile)
	win := max(5, frames|1)
	if n < 3*frames || n < 3*win {
		return nil
	}
	sm, err := staa.SavitzkyGolay(c.profile, win, 2)
	if err != nil {
		return err
	}
	sum := 0.0
	for i, v := range sm {
		sm[i] = max(v, 0)
		sum += sm[i]
	}
	if sum > 0 {
		for i := range sm {
			sm[i] /= sum
		}
	}
	c.smoothed, c.sgWindow, c.sgOrder = sm, win, 2
	return nil
}

// pickKeyFrames sets c.keyFrames: at most k peaks of the smoothed profile
// (of the profile for short videos), at least minDistance frames apart; the
// frame of largest weight when the curve has no peak (a constant profile).
func (c *combined) pickKeyFrames(k, minDistance int) {
	curve := c.profile
	if c.smoothed != nil {
		curve = c.smoothed
	}
	p := make([]float32, len(curve))
	best := 0
	for i, v := range curve {
		p[i] = float32(v)
		if v > curve[best] {
			best = i
		}
	}
	c.keyFrames = staa.KeyFrames(p, k, minDistance)
	if len(c.keyFrames) == 0 {
		c.keyFrames = []int{best}
	}
}
