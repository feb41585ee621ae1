package staa

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Helpers for long videos explained window by window (conventions.md,
// "Streams").

// DefaultEMAAlpha is the smoothing weight α of EMA when its Alpha is 0.
const DefaultEMAAlpha = 0.3

// EMA smooths a sequence of equally long vectors (the maps or profiles of
// successive windows) exponentially:
//
//	s_1 = x_1,  s_k = α·x_k + (1−α)·s_{k−1}.
//
// The zero value is ready to use with α = DefaultEMAAlpha. The state is kept
// in float64. An EMA is not safe for concurrent use.
type EMA struct {
	// Alpha is the weight α ∈ (0, 1] of the newest vector; 0 means
	// DefaultEMAAlpha.
	Alpha float64

	state []float64 // s_{k−1}; nil before the first update
}

// Update folds x into the average and returns s_k as a new slice; x is not
// modified. The first update returns a copy of x. Update panics if x's
// length differs from the first update's (call Reset to start a new stream)
// or if Alpha is outside [0, 1].
func (e *EMA) Update(x []float32) []float32 {
	a := e.Alpha
	if a == 0 {
		a = DefaultEMAAlpha
	}
	if !(a > 0 && a <= 1) {
		panic(fmt.Sprintf("staa: EMA.Alpha must be in (0, 1] (or 0 for %v), got %v", DefaultEMAAlpha, e.Alpha))
	}
	out := make([]float32, len(x))
	if e.state == nil {
		e.state = make([]float64, len(x))
		for i, v := range x {
			e.state[i] = float64(v)
		}
		copy(out, x)
		return out
	}
	if len(x) != len(e.state) {
		panic(fmt.Sprintf("staa: EMA.Update: got %d values, want %d as in the first update (Reset starts a new stream)", len(x), len(e.state)))
	}
	for i, v := range x {
		s := a*float64(v) + (1-a)*e.state[i]
		e.state[i] = s
		out[i] = float32(s)
	}
	return out
}

// Reset forgets the average: the next Update starts a new stream.
func (e *EMA) Reset() { e.state = nil }

// SavitzkyGolay smooths x as scipy.signal.savgol_filter(x, window, order,
// mode="interp") does: each sample is replaced by the value at that sample
// of the least-squares polynomial of degree order fitted to the window
// samples around it,
//
//	y_i = Σ_k H[h,k]·x_{i−h+k},  h = (window−1)/2,  H = J·(JᵀJ)⁻¹Jᵀ,
//
// with J the window×(order+1) Vandermonde matrix of the window's positions.
// Within h samples of either end, the polynomial fitted to the first (last)
// window samples is evaluated instead: y_i = Σ_k H[i,k]·x_k for i < h, and
// likewise with the last window. A polynomial of degree ≤ order is thus
// returned unchanged.
//
// window must be odd, greater than order and at most len(x); order must be
// ≥ 0. Non-finite values propagate.
func SavitzkyGolay(x []float64, window, order int) ([]float64, error) {
	switch {
	case order < 0:
		return nil, fmt.Errorf("staa: Savitzky–Golay: order must be >= 0, got %d", order)
	case window <= 0 || window%2 == 0:
		return nil, fmt.Errorf("staa: Savitzky–Golay: window must be a positive odd number, got %d", window)
	case window <= order:
		return nil, fmt.Errorf("staa: Savitzky–Golay: window (%d) must be greater than order (%d)", window, order)
	case window > len(x):
		return nil, fmt.Errorf("staa: Savitzky–Golay: window (%d) must not exceed the length of the signal (%d)", window, len(x))
	}
	hat, err := savgolHat(window, order)
	if err != nil {
		return nil, err
	}
	n, h := len(x), window/2
	y := make([]float64, n)
	apply := func(row int, seg []float64) float64 {
		s := 0.0
		for k, c := range hat.RawRowView(row) {
			s += c * seg[k]
		}
		return s
	}
	for i := h; i < n-h; i++ {
		y[i] = apply(h, x[i-h:i+h+1])
	}
	for i := range h {
		y[i] = apply(i, x[:window])
		y[n-h+i] = apply(window-h+i, x[n-window:])
	}
	return y, nil
}

// savgolHat returns the window×window hat matrix H = J·J⁺ of the
// least-squares fit of a polynomial of degree order to window equally spaced
// samples: row r of H gives the fitted value at sample r. The positions are
// centred and scaled to [−1, 1], which leaves H unchanged (the polynomials of
// degree ≤ order are closed under affine changes of variable) and keeps J
// well conditioned.
func savgolHat(window, order int) (*mat.Dense, error) {
	h := window / 2
	scale := float64(max(h, 1))
	j := mat.NewDense(window, order+1, nil)
	for r := range window {
		u, p := float64(r-h)/scale, 1.0
		for c := 0; c <= order; c++ {
			j.Set(r, c, p)
			p *= u
		}
	}
	id := mat.NewDiagDense(window, nil)
	for r := range window {
		id.SetDiag(r, 1)
	}
	// J⁺ = argmin_B ‖J·B − I‖ (QR least squares; LU when J is square).
	var pinv mat.Dense
	if err := pinv.Solve(j, id); err != nil {
		var c mat.Condition
		if errors.As(err, &c) {
			return nil, fmt.Errorf("staa: Savitzky–Golay: the fit of order %d over %d samples is ill-conditioned (%v); use a lower order", order, window, err)
		}
		return nil, fmt.Errorf("staa: Savitzky–Golay: least squares: %w", err)
	}
	var hat mat.Dense
	hat.Mul(j, &pinv)
	return &hat, nil
}

// KeyFrames returns at most k key frames of the temporal profile p, in frame
// order: the local maxima of p,
//
//	p[i] > p[i−1] and p[i] ≥ p[i+1]  (0 < i < n−1),
//	p[0] > p[1],  p[n−1] > p[n−2]  (the ends, against their one neighbour),
//
// so a plateau counts once, at its first frame, kept greedily from the
// highest (the earlier frame first among equal values) when at least
// minDistance frames from every one already kept. A single frame is its own
// key frame. It returns nil when there is none (k ≤ 0, or p constant).
// NaN values are never key frames.
func KeyFrames(p []float32, k, minDistance int) []int {
	n := len(p)
	if k <= 0 || n == 0 {
		return nil
	}
	if n == 1 {
		if p[0] != p[0] { // NaN
			return nil
		}
		return []int{0}
	}
	var peaks []int
	for i := range n {
		var peak bool
		switch i {
		case 0:
			peak = p[0] > p[1]
		case n - 1:
			peak = p[n-1] > p[n-2]
		default:
			peak = p[i] > p[i-1] && p[i] >= p[i+1]
		}
		if peak {
			peaks = append(peaks, i)
		}
	}
	// Highest first; the stable sort keeps frame order among equal values.
	slices.SortStableFunc(peaks, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	var kept []int
	for _, i := range peaks {
		if len(kept) == k {
			break
		}
		if slices.ContainsFunc(kept, func(j int) bool { return i-j < minDistance && j-i < minDistance }) {
			continue
		}
		kept = append(kept, i)
	}
	slices.Sort(kept)
	return kept
}
