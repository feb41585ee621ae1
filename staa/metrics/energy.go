package metrics

import (
	"math"

	"github.com/staa-dev/staa/staa"
)

// Energy is the share of the attribution's mass inside the ground-truth
// mask (the energy-based pointing game of Wang et al. 2020, Score-CAM, over
// space and time at once): with V upsampled to the mask's pixels by nearest
// neighbour, V↑, and M the mask,
//
//	E = Σ_{f,y,x} V↑·M / Σ_{f,y,x} V↑ = Σ_{f,i,j} V[f,i,j]·m[f,i,j] / Σ_{f,i,j} V[f,i,j]·a[i,j],
//
// with m the mask pixels and a the pixels of cell (i, j). Frames where the
// target is not visible count in the denominator, so the score rewards
// finding when as well as where. E ∈ [0, 1]; higher is better. v must be ≥ 0;
// NaN when it sums to 0.
func Energy(v staa.Volume, m Mask) (float64, error) {
	in, out, _, _, err := massSplit(v, m)
	if err != nil {
		return math.NaN(), err
	}
	if in+out == 0 {
		return math.NaN(), nil
	}
	return in / (in + out), nil
}

// massSplit returns the mass of V↑ inside and outside the mask and the
// number of mask pixels inside and outside.
func massSplit(v staa.Volume, m Mask) (in, out, nIn, nOut float64, err error) {
	c, err := m.cover(v)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if err := checkMass(v); err != nil {
		return 0, 0, 0, 0, err
	}
	n := v.Height * v.Width
	for f := range v.Frames {
		for k, x := range v.Frame(f) {
			pin, pout := float64(c.in[f*n+k]), float64(c.area[k]-c.in[f*n+k])
			in += float64(x) * pin
			out += float64(x) * pout
			nIn += pin
			nOut += pout
		}
	}
	return in, out, nIn, nOut, nil
}
