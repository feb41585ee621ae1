package staa

import (
	"fmt"
	"math"
)

// Upsampler resizes h×w maps to H×W by bilinear interpolation with
// align_corners=False semantics, as torch.nn.functional.interpolate
// (mode="bilinear") does. Along an axis of n_in samples resized to n_out, the
// output index d reads
//
//	s = max((d + ½)·n_in/n_out − ½, 0),  i0 = ⌊s⌋,  i1 = min(i0+1, n_in−1),  λ = s − i0,
//	out[d] = (1−λ)·in[i0] + λ·in[i1],
//
// and the 2-D map applies this along h and along w. The index and weight
// tables are computed once, by NewUpsampler; an Upsampler is read-only
// afterwards and safe for concurrent use. Shrinking (H < h or W < w) follows
// the same formula, without antialiasing, as torch's default.
type Upsampler struct {
	inH, inW, outH, outW int
	rows, cols           lerpTable
}

// lerpTable holds, for each output index d, i0[d], i1[d] and λ[d].
type lerpTable struct {
	i0, i1 []int
	lam    []float64
}

func newLerpTable(nIn, nOut int) lerpTable {
	t := lerpTable{i0: make([]int, nOut), i1: make([]int, nOut), lam: make([]float64, nOut)}
	for d := range nOut {
		s := max((float64(d)+0.5)*float64(nIn)/float64(nOut)-0.5, 0)
		i0 := int(math.Floor(s))
		t.i0[d], t.i1[d], t.lam[d] = i0, min(i0+1, nIn-1), s-float64(i0)
	}
	return t
}

// NewUpsampler returns an Upsampler from inHeight×inWidth maps to
// outHeight×outWidth ones. Every size must be positive.
func NewUpsampler(inHeight, inWidth, outHeight, outWidth int) (*Upsampler, error) {
	if inHeight <= 0 || inWidth <= 0 {
		return nil, fmt.Errorf("staa: upsample: input size must be positive, got %d×%d", inHeight, inWidth)
	}
	if outHeight <= 0 || outWidth <= 0 {
		return nil, fmt.Errorf("staa: upsample: output size must be positive, got %d×%d", outHeight, outWidth)
	}
	if outHeight > math.MaxInt32/outWidth {
		return nil, fmt.Errorf("staa: upsample: output size %d×%d is too large", outHeight, outWidth)
	}
	return &Upsampler{
		inH: inHeight, inW: inWidth, outH: outHeight, outW: outWidth,
		rows: newLerpTable(inHeight, outHeight),
		cols: newLerpTable(inWidth, outWidth),
	}, nil
}

// Frame writes the resized src (inHeight·inWidth values, row-major) into dst
// (outHeight·outWidth values). It panics if the lengths do not match.
// The interpolation is in float64, rounded to float32 once; non-finite
// values propagate to the outputs that read them.
func (u *Upsampler) Frame(dst, src []float32) {
	if len(src) != u.inH*u.inW || len(dst) != u.outH*u.outW {
		panic(fmt.Sprintf("staa: Upsampler.Frame: got src of %d and dst of %d values, want %d×%d = %d and %d×%d = %d",
			len(src), len(dst), u.inH, u.inW, u.inH*u.inW, u.outH, u.outW, u.outH*u.outW))
	}
	if u.inH == u.outH && u.inW == u.outW {
		copy(dst, src) // the identity, exactly, even for non-finite values
		return
	}
	c := u.cols
	for y := range u.outH {
		r0 := src[u.rows.i0[y]*u.inW : (u.rows.i0[y]+1)*u.inW]
		r1 := src[u.rows.i1[y]*u.inW : (u.rows.i1[y]+1)*u.inW]
		ly := u.rows.lam[y]
		out := dst[y*u.outW : (y+1)*u.outW]
		for x := range out {
			lx := c.lam[x]
			x0, x1 := c.i0[x], c.i1[x]
			top := (1-lx)*float64(r0[x0]) + lx*float64(r0[x1])
			bot := (1-lx)*float64(r1[x0]) + lx*float64(r1[x1])
			out[x] = float32((1-ly)*top + ly*bot)
		}
	}
}

// Upsample resizes every frame of v to height×width (see Upsampler) and
// returns a new volume; v is not modified.
func Upsample(v Volume, height, width int) (Volume, error) {
	if err := v.Validate(); err != nil {
		return Volume{}, err
	}
	u, err := NewUpsampler(v.Height, v.Width, height, width)
	if err != nil {
		return Volume{}, err
	}
	if v.Frames > math.MaxInt/(height*width) {
		return Volume{}, fmt.Errorf("staa: upsample: %d frames of %d×%d is too large", v.Frames, height, width)
	}
	out := NewVolume(v.Frames, height, width)
	for f := range v.Frames {
		u.Frame(out.Frame(f), v.Frame(f))
	}
	return out, nil
}
