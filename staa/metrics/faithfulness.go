package metrics

import (
	"fmt"
	"math"

	"github.com/staa-dev/staa/staa"
)

// DefaultKeep is the kept fraction ρ of Faithfulness when none is given.
const DefaultKeep = 0.5

// FaithfulnessOptions configure Faithfulness.
type FaithfulnessOptions struct {
	// Keep is ρ ∈ (0, 1], the fraction of patch tubes kept; 0 means
	// DefaultKeep.
	Keep float64
	// Baseline replaces the other tubes; DefaultBaseline means Zeros.
	Baseline Baseline
	// Scores are what mm normalises; DefaultScores means Logits, as in the
	// paper.
	Scores Scores
}

// Faithfulness is the paper's faithfulness of attribution v (Wang & Liu
// 2024; DESIGN.md section 2): keep the top ρ of the patch tubes by v
// (round(ρ·U) of the U tubes, ranked as the package documentation says),
// replace the others by the baseline, run the model on the result z′, and
//
//	F = 1 − (1/C)·Σ_c |mm(z)_c − mm(z′)_c|,   mm(z)_c = (z_c − min z)/(max z − min z),
//
// over the C classes, with z the model's scores for the unperturbed clip
// (logits, or probabilities with Scores: Probabilities). mm of a constant
// vector is 0. F ∈ [0, 1]; 1 means keeping the top ρ leaves the normalised
// output unchanged. One model call.
func (e *Evaluator) Faithfulness(v staa.Volume, o FaithfulnessOptions) (float64, error) {
	keep := o.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	if !(keep > 0 && keep <= 1) {
		return math.NaN(), fmt.Errorf("metrics: faithfulness: kept fraction must be in (0, 1], got %v", o.Keep)
	}
	scores, err := o.Scores.Resolve(Logits)
	if err != nil {
		return math.NaN(), err
	}
	base, err := e.Baseline(o.Baseline)
	if err != nil {
		return math.NaN(), err
	}
	t, order, err := e.order(v)
	if err != nil {
		return math.NaN(), err
	}
	rows, err := e.keepTop(t, order, base, []int{count(keep, len(order))})
	if err != nil {
		return math.NaN(), err
	}
	return 1 - mmDistance(scores.Apply(e.logits), scores.Apply(rows[0])), nil
}

// MinMax returns mm(z)_c = (z_c − min z)/(max z − min z), or zeros when z is
// constant.
func MinMax(z []float64) []float64 {
	out := make([]float64, len(z))
	if len(z) == 0 {
		return out
	}
	lo, hi := z[0], z[0]
	for _, v := range z {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		return out
	}
	for i, v := range z {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// mmDistance returns (1/C)·Σ_c |mm(a)_c − mm(b)_c|.
func mmDistance(a, b []float64) float64 {
	ma, mb := MinMax(a), MinMax(b)
	d := 0.0
	for c := range ma {
		d += math.Abs(ma[c] - mb[c])
	}
	return d / float64(len(ma))
}
