package main

import (
	"github.com/staa-dev/staa/staa"
)

// compareTruth measures the combined explanation of a generated clip against
// its ground truth: the share of P on the frames where the target is
// visible, and over those frames, with the maps upsampled to pixels, the
// share of the maps' mass inside the target's mask and the fraction of
// frames whose map peaks inside it.
func compareTruth(gt *groundTruth, c combined, predicted int) (*TruthReport, error) {
	s := gt.Sample
	o := gt.Options
	r := &TruthReport{Seed: gt.Seed, Index: gt.Index, Label: int(s.Label), Class: s.Label.String(), Correct: predicted == int(s.Label)}
	up, err := staa.NewUpsampler(c.maps.Height, c.maps.Width, o.Height, o.Width)
	if err != nil {
		return nil, err
	}
	px := make([]float32, o.Height*o.Width)
	var inside, total, area float64
	var hits int
	for f, vis := range s.Visible {
		if !vis {
			continue
		}
		r.VisibleFrames = append(r.VisibleFrames, f)
		r.TemporalMass += c.profile[f]
		up.Frame(px, c.maps.Frame(f))
		mask := s.Mask[f*len(px) : (f+1)*len(px)]
		best, n := 0, 0
		for i, v := range px {
			total += float64(v)
			if mask[i] != 0 {
				inside += float64(v)
				n++
			}
			if v > px[best] {
				best = i
			}
		}
		area += float64(n) / float64(len(px))
		if mask[best] != 0 {
			hits++
		}
	}
	if k := len(r.VisibleFrames); k > 0 {
		r.Pointing = float64(hits) / float64(k)
		r.MaskArea = area / float64(k)
	}
	if total > 0 {
		r.Energy = inside / total
	}
	return r, nil
}
