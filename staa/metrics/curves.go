package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate"

	"github.com/staa-dev/staa/staa"
)

// DefaultSteps is the number of steps of the deletion and insertion curves
// when none is given.
const DefaultSteps = 20

// CurveOptions configure Deletion and Insertion.
type CurveOptions struct {
	// Steps is K, the number of steps from 0 to all patch tubes; 0 means
	// DefaultSteps, and more steps than tubes means one tube per step.
	Steps int
	// Baseline replaces the removed tubes (deletion) or is the canvas the
	// tubes are inserted into (insertion). DefaultBaseline means Zeros for
	// Deletion and Blur for Insertion, as in Petsiuk et al. (2018).
	Baseline Baseline
	// Scores are what the curve follows for the target class;
	// DefaultScores means Probabilities, as in Petsiuk et al.
	Scores Scores
}

// Curve is a deletion or insertion curve.
type Curve struct {
	// Target is the class followed.
	Target int
	// Fractions are the fractions of tubes removed (deletion) or inserted
	// (insertion), from 0 to 1, and Scores the target's score at each.
	Fractions, Scores []float64
	// AUC is the trapezoidal area under Scores over Fractions.
	AUC float64
}

// Deletion is the deletion curve of Petsiuk et al. (2018, RISE) over patch
// tubes: the U tubes are replaced by the baseline one step at a time in
// decreasing order of v — after step k of K, the first n_k = round(k·U/K)
// tubes — and the curve is the target class's score s_k (its probability by
// default) at the fraction x_k = n_k/U, for k = 0…K (k = 0 is the
// unperturbed clip). The score is the trapezoidal area
//
//	AUC = Σ_{k<K} (x_{k+1} − x_k)·(s_k + s_{k+1})/2;
//
// lower is better: a faithful attribution removes the evidence first.
// target is a class index or PredictedClass. K model calls, in batches.
func (e *Evaluator) Deletion(v staa.Volume, target int, o CurveOptions) (Curve, error) {
	return e.curve(v, target, o, false)
}

// Insertion is the insertion curve of Petsiuk et al. (2018): the tubes of
// the clip are inserted into the baseline canvas (blurred by default) in
// decreasing order of v — after step k of K, the first n_k = round(k·U/K)
// tubes come from the clip — and the curve and its AUC are as for Deletion
// (k = K is the unperturbed clip); higher is better.
func (e *Evaluator) Insertion(v staa.Volume, target int, o CurveOptions) (Curve, error) {
	return e.curve(v, target, o, true)
}

func (e *Evaluator) curve(v staa.Volume, target int, o CurveOptions, insert bool) (Curve, error) {
	fail := Curve{AUC: math.NaN()}
	if o.Steps < 0 {
		return fail, fmt.Errorf("metrics: curve steps must be >= 0, got %d", o.Steps)
	}
	target, err := ResolveTarget(target, e.logits)
	if err != nil {
		return fail, err
	}
	scores, err := o.Scores.Resolve(Probabilities)
	if err != nil {
		return fail, err
	}
	def := Zeros
	if insert {
		def = Blur
	}
	kind, err := o.Baseline.Resolve(def)
	if err != nil {
		return fail, err
	}
	base, err := e.Baseline(kind)
	if err != nil {
		return fail, err
	}
	t, order, err := e.order(v)
	if err != nil {
		return fail, err
	}
	U := len(order)
	K := o.Steps
	if K == 0 {
		K = DefaultSteps
	}
	K = min(K, U)
	n := make([]int, K+1)
	for k := range n {
		n[k] = (k*U + K/2) / K // round(k·U/K), halves up, in integers
	}
	c := Curve{Target: target, Fractions: make([]float64, K+1), Scores: make([]float64, K+1)}
	for k := range n {
		c.Fractions[k] = float64(n[k]) / float64(U)
	}
	// The clips to evaluate: k = 1…K for deletion, k = 0…K−1 for insertion;
	// the remaining end is the unperturbed clip.
	var rows [][]float32
	if insert {
		rows, err = e.composeTop(t, order, e.x, base, n[:K])
		rows = append(rows, e.logits)
	} else {
		rows, err = e.composeTop(t, order, base, e.x, n[1:])
		rows = append([][]float32{e.logits}, rows...)
	}
	if err != nil {
		return fail, err
	}
	for k, r := range rows {
		c.Scores[k] = scores.Apply(r)[target]
	}
	c.AUC = integrate.Trapezoidal(c.Fractions, c.Scores) // x strictly increasing: K ≤ U
	return c, nil
}
