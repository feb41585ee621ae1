package metrics

import (
	"math"

	"github.com/staa-dev/staa/staa"
)

// SNR is the signal-to-noise ratio of the attribution against the
// ground-truth mask: the mean of V↑ (V upsampled to the mask's pixels by
// nearest neighbour) over the mask's pixels, over its mean over the other
// pixels of the clip, every frame included:
//
//	SNR = (Σ V↑·M / Σ M) / (Σ V↑·(1−M) / Σ (1−M)).
//
// Higher is better; 1 means the attribution does not tell the target from
// the rest. v must be ≥ 0. +Inf when V↑ is zero outside the mask and not
// inside; NaN when V↑ is zero everywhere or the mask is empty or full.
func SNR(v staa.Volume, m Mask) (float64, error) {
	in, out, nIn, nOut, err := massSplit(v, m)
	if err != nil {
		return math.NaN(), err
	}
	if nIn == 0 || nOut == 0 {
		return math.NaN(), nil
	}
	mi, mo := in/nIn, out/nOut
	if mo == 0 {
		if mi == 0 {
			return math.NaN(), nil
		}
		return math.Inf(1), nil
	}
	return mi / mo, nil
}
