package staa

import (
	"math"
	"strings"
	"testing"
)

// For σ = 0.5: r = ⌈1.5⌉ = 2 and the unnormalised weights are
// exp(−k²/(2·0.25)) = exp(−2k²): 1, e⁻², e⁻⁸ for |k| = 0, 1, 2.
var (
	blurG0 = 1.0
	blurG1 = math.Exp(-2)
	blurG2 = math.Exp(-8)
	blurGS = blurG0 + 2*blurG1 + 2*blurG2 // Σ_{k=−2}^{2}
)

func TestGaussBandHalfSigma(t *testing.T) {
	b, err := newGaussBand(5, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// Row 2 is interior: the plain kernel.
	lo, w := b.row(2)
	closeSlices64(t, "row 2", w, []float64{blurG2 / blurGS, blurG1 / blurGS, blurG0 / blurGS, blurG1 / blurGS, blurG2 / blurGS}, 1e-15)
	if lo != 0 {
		t.Errorf("row 2 starts at %d, want 0", lo)
	}
	// Row 0 reads in[clamp(k)] for k = −2…2 = in[0], in[0], in[0], in[1], in[2]:
	// the left half of the kernel folds onto column 0.
	lo, w = b.row(0)
	closeSlices64(t, "row 0", w, []float64{(blurG0 + blurG1 + blurG2) / blurGS, blurG1 / blurGS, blurG2 / blurGS}, 1e-15)
	if lo != 0 {
		t.Errorf("row 0 starts at %d, want 0", lo)
	}
	// Row 4 mirrors row 0 and starts at column 2.
	lo, w = b.row(4)
	closeSlices64(t, "row 4", w, []float64{blurG2 / blurGS, blurG1 / blurGS, (blurG0 + blurG1 + blurG2) / blurGS}, 1e-15)
	if lo != 2 {
		t.Errorf("row 4 starts at %d, want 2", lo)
	}
}

// naiveBlur1D is the textbook gather with clamped indices, against which the
// folded band is checked for wide kernels.
func naiveBlur1D(in []float64, sigma float64) []float64 {
	r := int(math.Ceil(3 * sigma))
	g := make([]float64, 2*r+1)
	s := 0.0
	for k := -r; k <= r; k++ {
		g[k+r] = math.Exp(-float64(k*k) / (2 * sigma * sigma))
		s += g[k+r]
	}
	n := len(in)
	out := make([]float64, n)
	for i := range n {
		for k := -r; k <= r; k++ {
			out[i] += g[k+r] / s * in[min(max(i+k, 0), n-1)]
		}
	}
	return out
}

func TestGaussBandWide(t *testing.T) {
	in := []float64{3, 1, 4, 1, 5, 9, 2}
	for _, sigma := range []float64{0.2, 1, 2.5, 10, 100} {
		for _, n := range []int{1, 2, 3, 7} {
			b, err := newGaussBand(n, sigma)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, n)
			for i := range n {
				lo, w := b.row(i)
				sum := 0.0
				for k, g := range w {
					got[i] += g * in[lo+k]
					sum += g
				}
				if math.Abs(sum-1) > 1e-14 {
					t.Errorf("σ %v n %d: row %d sums to %v", sigma, n, i, sum)
				}
				if len(w) > n {
					t.Errorf("σ %v n %d: row %d has %d weights", sigma, n, i, len(w))
				}
			}
			closeSlices64(t, "band vs naive", got, naiveBlur1D(in[:n], sigma), 1e-13)
		}
	}
}

func TestBlurImpulse3x3(t *testing.T) {
	// Along an axis of 3 the impulse [0, 1, 0] becomes [a, b, a] with
	// a = blurG1/S (the taps k = ±1 of the border samples read the centre) and
	// b = blurG0/S (the centre's taps k = ±2 clamp onto the borders, which are 0).
	// Separable: out[i][j] = u_i·u_j with u = [a, b, a].
	a, c := blurG1/blurGS, blurG0/blurGS
	v := Volume{Frames: 1, Height: 3, Width: 3, Data: []float32{0, 0, 0, 0, 1, 0, 0, 0, 0}}
	s, _, err := Postprocess(v, Post{Blur: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{a * a, a * c, a * a, c * a, c * c, c * a, a * a, a * c, a * a}
	closeSlices32(t, "blurred impulse", s.Data, want, 1e-7)
}

func TestBlurNonSquare(t *testing.T) {
	// 2×5 frames, both rows [0, 0, 1, 0, 0]: along w, out[j] reads the 1 with
	// weight g_{2−j} (column 0 reads it at k = +2 only); along h the columns
	// are constant, which a normalised kernel keeps. Frame 1 is constant.
	v := NewVolume(2, 2, 5)
	v.Data[2], v.Data[7] = 1, 1
	for i := range 10 {
		v.Data[10+i] = 0.25
	}
	s, _, err := Postprocess(v, Post{Blur: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	row := []float64{blurG2 / blurGS, blurG1 / blurGS, blurG0 / blurGS, blurG1 / blurGS, blurG2 / blurGS}
	closeSlices32(t, "frame 0 row 0", s.Data[0:5], row, 1e-7)
	closeSlices32(t, "frame 0 row 1", s.Data[5:10], row, 1e-7)
	for i, x := range s.Data[10:] {
		if math.Abs(float64(x)-0.25) > 1e-7 {
			t.Errorf("constant frame: [%d] = %v, want 0.25", i, x)
		}
	}
}

func TestBlurTooWide(t *testing.T) {
	v := NewVolume(1, 2, 2)
	_, _, err := Postprocess(v, Post{Blur: 2 * maxBlurSigma})
	if err == nil || !strings.Contains(err.Error(), "blur") {
		t.Errorf("σ = %v: got error %v, want one about the blur", 2*maxBlurSigma, err)
	}
}
