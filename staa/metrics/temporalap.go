package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/staa-dev/staa/staa"
)

// TemporalAP is the average precision of the temporal profile P (one score
// per frame, e.g. staa.Attribution.Temporal or Profile(v)) at finding the
// frames where the target is visible (Mask.Visible), as
// sklearn.metrics.average_precision_score computes it: frames ranked by
// decreasing P, precision P_k and recall R_k at each distinct value of P
// taken as a threshold, and
//
//	AP = Σ_k (R_k − R_{k−1})·P_k,
//
// without interpolation; frames with equal P enter together. AP ∈ (0, 1];
// 1 when every visible frame outranks every other. NaN when no frame is
// visible. Any finite P.
func TemporalAP(profile []float32, visible []bool) (float64, error) {
	if len(profile) != len(visible) {
		return math.NaN(), fmt.Errorf("metrics: temporal profile of %d frames for %d visibility flags", len(profile), len(visible))
	}
	if len(profile) == 0 {
		return math.NaN(), fmt.Errorf("metrics: empty temporal profile")
	}
	pos := 0
	for f, p := range profile {
		if p-p != 0 {
			return math.NaN(), fmt.Errorf("metrics: temporal profile holds %v at frame %d", p, f)
		}
		if visible[f] {
			pos++
		}
	}
	if pos == 0 {
		return math.NaN(), nil
	}
	order := make([]int, len(profile))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case profile[a] > profile[b]:
			return -1
		case profile[a] < profile[b]:
			return 1
		}
		return 0
	})
	ap, tp, prevRecall := 0.0, 0, 0.0
	for k := 0; k < len(order); {
		// All frames tied at this value enter together.
		end := k
		for end < len(order) && profile[order[end]] == profile[order[k]] {
			if visible[order[end]] {
				tp++
			}
			end++
		}
		recall := float64(tp) / float64(pos)
		ap += (recall - prevRecall) * float64(tp) / float64(end)
		prevRecall, k = recall, end
	}
	return ap, nil
}

// Profile returns the temporal profile of v, P[f] = Σ_{i,j} V[f,i,j] / Σ V
// (uniform when Σ V = 0), as staa.Postprocess computes it.
func Profile(v staa.Volume) []float32 {
	p := make([]float32, v.Frames)
	sums := make([]float64, v.Frames)
	total := 0.0
	for f := range v.Frames {
		for _, x := range v.Frame(f) {
			sums[f] += float64(x)
		}
		total += sums[f]
	}
	for f := range p {
		if total == 0 {
			p[f] = 1 / float32(v.Frames)
		} else {
			p[f] = float32(sums[f] / total)
		}
	}
	return p
}
