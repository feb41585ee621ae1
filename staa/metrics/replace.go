package metrics

import (
	"fmt"
	"math"
)

// Baseline selects what replaces the removed parts of a clip.
type Baseline int

const (
	// DefaultBaseline is the metric's own default (each says which).
	DefaultBaseline Baseline = iota
	// Zeros replaces pixels by 0 in the model's normalised pixel space: for
	// the usual (v − mean)/std normalisation, the dataset's mean colour.
	Zeros
	// MeanFrame replaces every frame by the clip's mean frame,
	// m[c, y, x] = (1/F)·Σ_f x[f, c, y, x]: the static content, without
	// the motion.
	MeanFrame
	// Blur replaces every frame by itself blurred with a Gaussian of σ =
	// BlurSigma pixels (Petsiuk et al. 2018's insertion canvas).
	Blur
)

func (b Baseline) String() string {
	switch b {
	case DefaultBaseline:
		return "default"
	case Zeros:
		return "zeros"
	case MeanFrame:
		return "mean"
	case Blur:
		return "blur"
	}
	return fmt.Sprintf("Baseline(%d)", int(b))
}

// ParseBaseline returns the baseline named s ("zeros", "mean" or "blur").
func ParseBaseline(s string) (Baseline, error) {
	switch s {
	case "zeros":
		return Zeros, nil
	case "mean":
		return MeanFrame, nil
	case "blur":
		return Blur, nil
	}
	return 0, fmt.Errorf("metrics: unknown baseline %q (want \"zeros\", \"mean\" or \"blur\")", s)
}

// Resolve returns b, or def when b is DefaultBaseline.
func (b Baseline) Resolve(def Baseline) (Baseline, error) {
	switch b {
	case DefaultBaseline:
		return def, nil
	case Zeros, MeanFrame, Blur:
		return b, nil
	}
	return 0, fmt.Errorf("metrics: unknown baseline %d", int(b))
}

// DefaultBlurSigma is the σ, in pixels, of the Blur baseline when none is
// given: the σ = 5 of Petsiuk et al. (2018)'s blurred insertion canvas.
const DefaultBlurSigma = 5.0

// maxBlurSigma bounds σ so that the kernel stays small.
const maxBlurSigma = 1e4

// BaselineClip returns the baseline clip of kind b for x (DefaultBaseline
// means Zeros); sigma is the Blur's σ in pixels (0: DefaultBlurSigma).
//
// The blur is separable, per frame and channel: along the width then along
// the height, taps k = −r…r with r = ⌈3σ⌉, weights exp(−k²/(2σ²))
// normalised to sum 1, border mode nearest (indices clamped), computed in
// float64 and rounded to float32 once.
func BaselineClip(x Clip, b Baseline, sigma float64) (Clip, error) {
	if err := x.Validate(); err != nil {
		return Clip{}, err
	}
	b, err := b.Resolve(Zeros)
	if err != nil {
		return Clip{}, err
	}
	out := NewClip(x.Frames, x.Channels, x.Height, x.Width)
	switch b {
	case MeanFrame:
		n := x.FrameLen()
		acc := make([]float64, n)
		for f := range x.Frames {
			for k, v := range x.Frame(f) {
				acc[k] += float64(v)
			}
		}
		for k := range acc {
			acc[k] /= float64(x.Frames)
		}
		for f := range x.Frames {
			dst := out.Frame(f)
			for k := range dst {
				dst[k] = float32(acc[k])
			}
		}
	case Blur:
		if sigma == 0 {
			sigma = DefaultBlurSigma
		}
		if !(sigma > 0 && sigma <= maxBlurSigma) {
			return Clip{}, fmt.Errorf("metrics: blur σ must be in (0, %g] pixels, got %v", float64(maxBlurSigma), sigma)
		}
		blurClip(out, x, sigma)
	}
	return out, nil
}

// gaussKernel returns the normalised taps g[0..r] (g[k] = g[−k]).
func gaussKernel(sigma float64) []float64 {
	r := int(math.Ceil(3 * sigma))
	g := make([]float64, r+1)
	sum := 0.0
	for k := range g {
		g[k] = math.Exp(-float64(k*k) / (2 * sigma * sigma))
		if k == 0 {
			sum += g[k]
		} else {
			sum += 2 * g[k]
		}
	}
	for k := range g {
		g[k] /= sum
	}
	return g
}

// blurClip writes the Gaussian blur of every plane of x into dst.
func blurClip(dst, x Clip, sigma float64) {
	g := gaussKernel(sigma)
	r := len(g) - 1
	H, W := x.Height, x.Width
	tmp := make([]float64, H*W)
	col := make([]float64, W)
	clamp := func(i, n int) int { return min(max(i, 0), n-1) }
	for p := 0; p < x.Frames*x.Channels; p++ {
		src := x.Data[p*H*W : (p+1)*H*W]
		out := dst.Data[p*H*W : (p+1)*H*W]
		for y := range H {
			row := src[y*W : (y+1)*W]
			t := tmp[y*W : (y+1)*W]
			for xx := range W {
				s := g[0] * float64(row[xx])
				for k := 1; k <= r; k++ {
					s += g[k] * (float64(row[clamp(xx-k, W)]) + float64(row[clamp(xx+k, W)]))
				}
				t[xx] = s
			}
		}
		for y := range H {
			clear(col)
			for k := -r; k <= r; k++ {
				w := g[abs(k)]
				t := tmp[clamp(y+k, H)*W : (clamp(y+k, H)+1)*W]
				for xx, v := range t {
					col[xx] += w * v
				}
			}
			o := out[y*W : (y+1)*W]
			for xx, v := range col {
				o[xx] = float32(v)
			}
		}
	}
}

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}
