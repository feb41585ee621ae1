package metrics

import (
	"fmt"
	"math"

	"github.com/staa-dev/staa/staa"
)

// DefaultFractions are the kept fractions p of Monotonicity when none are
// given: 0.1, 0.2, …, 0.9.
var DefaultFractions = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// MonotonicityOptions configure Monotonicity.
type MonotonicityOptions struct {
	// Fractions are the kept fractions p, each in [0, 1], at least two;
	// nil means DefaultFractions.
	Fractions []float64
	// Baseline replaces the tubes not kept; DefaultBaseline means Zeros.
	Baseline Baseline
	// Scores are what mm normalises; DefaultScores means Logits.
	Scores Scores
	// Tolerance is how close two distances d_p must be to count as a tie
	// in τ-b: the distances come from float32 logits, and a model that the
	// perturbation no longer moves gives d_p equal up to rounding, which
	// must not count as concordant or discordant. 0 means
	// DefaultTieTolerance; a negative value means exact comparison.
	Tolerance float64
}

// DefaultTieTolerance is MonotonicityOptions.Tolerance when none is given.
// The d_p are in [0, 1].
const DefaultTieTolerance = 1e-6

// MonotonicityResult is the outcome of Monotonicity.
type MonotonicityResult struct {
	// Tau is Kendall's τ-b between Fractions and Distances; more negative
	// is better. NaN when every distance is equal.
	Tau float64
	// Fractions are the kept fractions p and Distances the d_p.
	Fractions, Distances []float64
}

// Monotonicity is the paper's monotonicity of attribution v: for each kept
// fraction p, keep the top p of the patch tubes by v (round(p·U) of U) and
// replace the others by the baseline, giving scores z′_p, and
//
//	d_p = (1/C)·Σ_c |mm(z)_c − mm(z′_p)_c|   (mm as in Faithfulness),
//	τ   = Kendall's τ-b between (p) and (d_p).
//
// A faithful attribution brings the output back quickly as more of it is
// kept, so d_p falls as p grows: τ near −1. The perturbed clips (one per
// fraction) are evaluated in batches.
//
// τ-b, as scipy.stats.kendalltau computes it by default: over the n0 =
// n(n−1)/2 pairs, (C − D)/√((n0 − n1)(n0 − n2)), with C and D the
// concordant and discordant pairs and n1, n2 the pairs tied in p and in d
// (d within Tolerance counting as tied).
// gonum's stat.Kendall is τ-a and counts a tie as concordant, so a flat
// curve (a model the perturbation does not move) would score +1, the worst
// value, instead of being undefined; hence this τ-b.
func (e *Evaluator) Monotonicity(v staa.Volume, o MonotonicityOptions) (MonotonicityResult, error) {
	fr := o.Fractions
	if fr == nil {
		fr = DefaultFractions
	}
	if len(fr) < 2 {
		return MonotonicityResult{Tau: math.NaN()}, fmt.Errorf("metrics: monotonicity needs at least 2 kept fractions, got %d", len(fr))
	}
	for _, p := range fr {
		if !(p >= 0 && p <= 1) {
			return MonotonicityResult{Tau: math.NaN()}, fmt.Errorf("metrics: monotonicity: kept fraction %v is not in [0, 1]", p)
		}
	}
	scores, err := o.Scores.Resolve(Logits)
	if err != nil {
		return MonotonicityResult{Tau: math.NaN()}, err
	}
	base, err := e.Baseline(o.Baseline)
	if err != nil {
		return MonotonicityResult{Tau: math.NaN()}, err
	}
	t, order, err := e.order(v)
	if err != nil {
		return MonotonicityResult{Tau: math.NaN()}, err
	}
	kept := make([]int, len(fr))
	for k, p := range fr {
		kept[k] = count(p, len(order))
	}
	rows, err := e.keepTop(t, order, base, kept)
	if err != nil {
		return MonotonicityResult{Tau: math.NaN()}, err
	}
	z := scores.Apply(e.logits)
	res := MonotonicityResult{Fractions: append([]float64(nil), fr...), Distances: make([]float64, len(fr))}
	for k, r := range rows {
		res.Distances[k] = mmDistance(z, scores.Apply(r))
	}
	tol := o.Tolerance
	switch {
	case tol == 0:
		tol = DefaultTieTolerance
	case tol < 0:
		tol = 0
	}
	res.Tau = kendallTauB(res.Fractions, res.Distances, tol)
	return res, nil
}

// KendallTauB returns Kendall's τ-b of x and y (equal lengths, at least 2):
// (C − D)/√((n0 − n1)(n0 − n2)), NaN when x or y is constant.
func KendallTauB(x, y []float64) float64 { return kendallTauB(x, y, 0) }

// kendallTauB is τ-b with pairs of y closer than tol counted as ties.
func kendallTauB(x, y []float64, tol float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("metrics: KendallTauB of %d and %d values", len(x), len(y)))
	}
	var c, d, tx, ty float64
	n := len(x)
	for i := range n {
		for j := i + 1; j < n; j++ {
			sx, sy := sign(x[j]-x[i], 0), sign(y[j]-y[i], tol)
			switch {
			case sx == 0 && sy == 0:
				tx++
				ty++
			case sx == 0:
				tx++
			case sy == 0:
				ty++
			case sx == sy:
				c++
			default:
				d++
			}
		}
	}
	n0 := float64(n*(n-1)) / 2
	den := math.Sqrt((n0 - tx) * (n0 - ty))
	if den == 0 {
		return math.NaN()
	}
	return (c - d) / den
}

// sign returns the sign of v, 0 within tol of 0.
func sign(v, tol float64) int {
	switch {
	case v > tol:
		return 1
	case v < -tol:
		return -1
	}
	return 0
}
