package metrics

import (
	"math"

	"github.com/staa-dev/staa/staa"
)

// Pointing is the outcome of PointingGame.
type Pointing struct {
	// Score is Hits / Frames, NaN when no frame is visible.
	Score float64
	// Hits is the sum of the per-frame hits over the visible frames.
	Hits float64
	// Frames is the number of frames where the target is visible.
	Frames int
	// PerFrame is each frame's hit, NaN for frames where it is not visible.
	PerFrame []float64
}

// PointingGame is the pointing game (Zhang et al. 2018) per frame: in every
// frame f where the target is visible (the mask has a pixel in it), the
// cell of maximal attribution in v's frame f is a hit when the mask has a
// pixel in it — or, with tolerance t > 0 patches, in one of the cells within
// t cells of it in both directions (the (2t+1)×(2t+1) block around it). When
// several cells share the maximum, the frame's hit is the fraction of them
// that are hits: the expected hit of breaking the tie at random, so that a
// flat map (a temporal-only attribution such as SHAP's, or a frame
// thresholded to zero) scores at chance rather than by the luck of index
// order. The score is the mean hit over the visible frames; higher is
// better. Any finite v.
func PointingGame(v staa.Volume, m Mask, tolerance int) (Pointing, error) {
	fail := Pointing{Score: math.NaN()}
	if tolerance < 0 {
		return fail, errorf("pointing game tolerance must be >= 0 patches, got %d", tolerance)
	}
	c, err := m.cover(v)
	if err != nil {
		return fail, err
	}
	if err := checkFinite(v); err != nil {
		return fail, err
	}
	h, w := v.Height, v.Width
	p := Pointing{PerFrame: make([]float64, v.Frames)}
	for f := range v.Frames {
		if !c.vis[f] {
			p.PerFrame[f] = math.NaN()
			continue
		}
		frame, in := v.Frame(f), c.in[f*h*w:(f+1)*h*w]
		best := float32(math.Inf(-1))
		for _, x := range frame {
			best = max(best, x)
		}
		ties, hits := 0, 0
		for k, x := range frame {
			if x != best {
				continue
			}
			ties++
			i, j := k/w, k%w
		near:
			for a := max(i-tolerance, 0); a <= min(i+tolerance, h-1); a++ {
				for b := max(j-tolerance, 0); b <= min(j+tolerance, w-1); b++ {
					if in[a*w+b] > 0 {
						hits++
						break near
					}
				}
			}
		}
		p.PerFrame[f] = float64(hits) / float64(ties)
		p.Hits += p.PerFrame[f]
		p.Frames++
	}
	p.Score = math.NaN()
	if p.Frames > 0 {
		p.Score = p.Hits / float64(p.Frames)
	}
	return p, nil
}
