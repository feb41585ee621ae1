package staa

import (
	"fmt"
	"math"

	"github.com/staa-dev/staa/staa/internal/f32"
)

// Postprocess applies p to v (see Post for the steps) and returns the spatial
// maps and the temporal profile P[f] = mass of frame f / total mass after
// thresholding (uniform when the total is 0). v is not modified.
//
// The steps, in this order, each optional (docs/conventions.md,
// "Post-processing"):
//
//  1. blur, σ = p.Blur > 0 patches: separable Gaussian per frame, radius
//     r = ⌈3σ⌉, weights ∝ exp(−k²/(2σ²)), k = −r…r, border mode nearest,
//     along w then along h;
//  2. gamma, γ = p.Gamma > 0, γ ≠ 1: V ← V^γ / Σ_{f,i,j} V^γ (if the sum is > 0);
//  3. threshold, per frame f: V[f,i,j] ← 0 where V[f,i,j] < θ_f;
//  4. temporal profile P[f] = Σ_{i,j} V[f,i,j] / Σ V, or 1/F when Σ V = 0;
//  5. normalize: each frame divided by its maximum, or the clip by its
//     maximum, when that maximum is > 0.
//
// v must hold finite, non-negative values (an attribution volume is ≥ 0;
// a negative value would make V^γ undefined): anything else is an error that
// names the frame and the position. Sums and statistics are taken in
// float64; values are stored in float32 after each step. The result is a new
// volume: one buffer of v's size, plus scratch of one frame.
func Postprocess(v Volume, p Post) (spatial Volume, temporal []float32, err error) {
	if err := v.Validate(); err != nil {
		return Volume{}, nil, err
	}
	if err := p.Validate(); err != nil {
		return Volume{}, nil, err
	}
	return postprocess(v, p, make([]float32, len(v.Data)+v.Frames))
}

// postprocess is Postprocess of a valid v with valid p into buf, which holds
// len(v.Data) + v.Frames values: the spatial maps, then the profile (one
// allocation for both, made by the caller).
func postprocess(v Volume, p Post, buf []float32) (spatial Volume, temporal []float32, err error) {
	if err := checkVolumeValues(v); err != nil {
		return Volume{}, nil, err
	}
	n := len(v.Data)
	out := Volume{Frames: v.Frames, Height: v.Height, Width: v.Width, Data: buf[:n:n]}
	temporal = buf[n : n+v.Frames : n+v.Frames]
	if p.Blur > 0 {
		b, err := newBlur2D(v.Height, v.Width, p.Blur)
		if err != nil {
			return Volume{}, nil, err
		}
		buf := make([]float64, b.scratch())
		for f := range v.Frames {
			b.frame(out.Frame(f), v.Frame(f), buf)
		}
	} else {
		copy(out.Data, v.Data)
	}
	if p.Gamma > 0 && p.Gamma != 1 {
		focus(out.Data, p.Gamma)
	}
	if p.Threshold.Mode != ThresholdNone {
		var buf []float64
		if p.Threshold.Mode == ThresholdPercentile {
			buf = make([]float64, v.Height*v.Width)
		}
		for f := range out.Frames {
			thresholdFrame(out.Frame(f), p.Threshold, buf)
		}
	}
	temporalProfile(temporal, out)
	normalizeVolume(out, p.Normalize)
	return out, temporal, nil
}

// checkVolumeValues reports the first value of v that is not finite or is
// negative, naming its frame and position.
func checkVolumeValues(v Volume) error {
	if f32.NonNegFinite(v.Data) {
		return nil
	}
	for f := range v.Frames {
		for k, x := range v.Frame(f) {
			if x >= 0 && x <= math.MaxFloat32 {
				continue
			}
			i, j := k/v.Width, k%v.Width
			if x-x != 0 { // NaN or ±Inf
				return fmt.Errorf("staa: postprocess: frame %d of the volume holds a non-finite value (%v) at [%d, %d]", f, x, i, j)
			}
			return fmt.Errorf("staa: postprocess: frame %d of the volume holds a negative value (%v) at [%d, %d]; attribution volumes are non-negative", f, x, i, j)
		}
	}
	return nil
}

// focus applies gamma focusing in place to x ≥ 0:
//
//	x_i ← x_i^γ / Σ_j x_j^γ   (x unchanged, all 0, when the sum is 0).
//
// It is evaluated as (x_i/m)^γ / Σ_j (x_j/m)^γ with m = max_j x_j, equal in
// exact arithmetic, so that neither the powers nor their sum can overflow or
// underflow to 0 for any γ.
func focus(x []float32, gamma float64) {
	m := f32.Max(x)
	if m == 0 {
		return // 0^γ = 0 for γ > 0: nothing to do, and no sum to divide by
	}
	inv := 1 / float64(m)
	sum := 0.0
	if k := int(gamma); float64(k) == gamma && k >= 1 && k <= 64 {
		// Whole γ (the optimized preset's 8): multiplications by squaring,
		// math.Pow is ~20× slower.
		sum = f32.PowScaled(x, inv, k)
	} else {
		for i, v := range x {
			t := math.Pow(float64(v)*inv, gamma)
			sum += t
			x[i] = float32(t)
		}
	}
	f32.DivScaled(x, sum)
}

// temporalProfile sets P[f] = Σ_{i,j} V[f,i,j] / Σ V, summed in float64
// (f32.Sum64 per frame), or the uniform 1/F when Σ V = 0.
func temporalProfile(p []float32, v Volume) {
	var buf [64]float64 // the frames' sums, on the stack for short clips
	sums := buf[:0]
	if v.Frames > len(buf) {
		sums = make([]float64, 0, v.Frames)
	}
	total := 0.0
	for f := range v.Frames {
		s := f32.Sum64(v.Frame(f))
		sums = append(sums, s)
		total += s
	}
	for f, s := range sums {
		if total > 0 {
			p[f] = float32(s / total)
		} else {
			p[f] = float32(1 / float64(v.Frames))
		}
	}
}

// normalizeVolume divides, in place, each frame by its maximum (NormalizeFrame)
// or the whole volume by its maximum (NormalizeClip); a maximum ≤ 0 leaves
// the values as they are.
func normalizeVolume(v Volume, n Normalize) {
	switch n {
	case NormalizeFrame:
		for f := range v.Frames {
			scaleByMax(v.Frame(f))
		}
	case NormalizeClip:
		scaleByMax(v.Data)
	}
}

// scaleByMax divides x by its maximum if that is > 0. The float32 quotient is
// correctly rounded, as numpy's.
func scaleByMax(x []float32) {
	if m := f32.Max(x); m > 0 {
		f32.DivBy(x, m)
	}
}
