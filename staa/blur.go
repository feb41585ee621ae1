package staa

import (
	"fmt"
	"math"
)

// maxBlurSigma bounds σ so that building the kernel (O(σ) exponentials) stays
// cheap (about a millisecond); patch grids are tens of patches wide.
const maxBlurSigma = 1e5

// gaussBand is the 1-D Gaussian blur of n samples with border mode "nearest",
// written as a banded n×n matrix K:
//
//	out[i] = Σ_{k=−r}^{r} g_k·in[clamp(i+k, 0, n−1)] = Σ_j K[i,j]·in[j]
//	g_k = exp(−k²/(2σ²)) / Σ_{l=−r}^{r} exp(−l²/(2σ²)),  r = ⌈3σ⌉.
//
// Folding the clamped taps into K makes the cost independent of r: row i has
// at most min(2r+1, n) entries, K[i,0] = Σ_{k ≤ −i} g_k and
// K[i,n−1] = Σ_{k ≥ n−1−i} g_k.
type gaussBand struct {
	lo  []int     // first column of row i
	off []int     // row i holds wts[off[i]:off[i+1]]
	wts []float64 // K's non-zero band, row after row
}

// newGaussBand returns the blur of n samples with standard deviation sigma > 0
// (in samples).
func newGaussBand(n int, sigma float64) (gaussBand, error) {
	if !(sigma > 0 && sigma <= maxBlurSigma) {
		return gaussBand{}, fmt.Errorf("staa: blur σ must be in (0, %g] patches, got %v", float64(maxBlurSigma), sigma)
	}
	r := int(math.Ceil(3 * sigma))
	// tail[m] = Σ_{k=m}^{r} e_k for m < n (0 beyond r), e_k the unnormalised
	// weights; summed from the small end for accuracy, without storing all
	// 2r+1 of them.
	m := min(r, n-1)
	e := make([]float64, m+1)
	tail := make([]float64, n)
	den := 2 * sigma * sigma
	acc := 0.0
	for k := r; k >= 0; k-- {
		w := 1.0 // k = 0 explicitly, so that a σ whose σ² underflows gives 1, not NaN
		if k > 0 {
			w = math.Exp(-float64(k) * float64(k) / den)
		}
		acc += w
		if k <= m {
			e[k] = w
			tail[k] = acc
		}
	}
	sum := 2*tail[0] - e[0] // Σ_{k=−r}^{r} e_k by symmetry

	b := gaussBand{lo: make([]int, n), off: make([]int, n+1), wts: make([]float64, 0, n*min(2*r+1, n))}
	for i := range n {
		lo, hi := max(0, i-r), min(n-1, i+r)
		b.lo[i] = lo
		for j := lo; j <= hi; j++ {
			var w float64
			switch {
			case n == 1:
				w = sum
			case j == 0:
				w = tail[i] // every tap at or left of the border
			case j == n-1:
				w = tail[n-1-i]
			case j < i:
				w = e[i-j]
			default:
				w = e[j-i]
			}
			b.wts = append(b.wts, w/sum)
		}
		b.off[i+1] = len(b.wts)
	}
	return b, nil
}

// row returns the first column and the weights of row i of K.
func (b *gaussBand) row(i int) (lo int, w []float64) {
	return b.lo[i], b.wts[b.off[i]:b.off[i+1]]
}

// blur2D is the separable Gaussian blur of h×w frames: along w (within each
// row) first, then along h, as conventions.md fixes the order.
type blur2D struct {
	h, w       int
	rows, cols gaussBand // cols blurs along w, rows along h
}

func newBlur2D(h, w int, sigma float64) (*blur2D, error) {
	cols, err := newGaussBand(w, sigma)
	if err != nil {
		return nil, err
	}
	rows := cols
	if h != w {
		if rows, err = newGaussBand(h, sigma); err != nil {
			return nil, err
		}
	}
	return &blur2D{h: h, w: w, rows: rows, cols: cols}, nil
}

// scratch returns how many float64 values frame needs as scratch.
func (b *blur2D) scratch() int { return b.h*b.w + b.w }

// frame writes the blur of src into dst (both h·w, row-major); buf must hold
// b.scratch() values. The intermediate stays in float64 so that dst is
// rounded to float32 once.
func (b *blur2D) frame(dst, src []float32, buf []float64) {
	h, w := b.h, b.w
	tmp, acc := buf[:h*w], buf[h*w:h*w+w]
	for y := range h {
		in, out := src[y*w:(y+1)*w], tmp[y*w:(y+1)*w]
		for x := range out {
			lo, wts := b.cols.row(x)
			seg := in[lo : lo+len(wts)]
			s := 0.0
			for k, g := range wts {
				s += g * float64(seg[k])
			}
			out[x] = s
		}
	}
	// Along h, a whole row at a time so that the inner loop runs over
	// contiguous memory.
	for y := range h {
		clear(acc)
		lo, wts := b.rows.row(y)
		for k, g := range wts {
			in := tmp[(lo+k)*w : (lo+k+1)*w]
			in = in[:len(acc)]
			for x, t := range in {
				acc[x] += g * t
			}
		}
		out := dst[y*w : (y+1)*w]
		for x, s := range acc {
			out[x] = float32(s)
		}
	}
}
