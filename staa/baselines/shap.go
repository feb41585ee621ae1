package baselines

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"gonum.org/v1/gonum/stat/combin"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// DefaultSegments is the number of frame segments of TemporalSHAP when none
// is given (2^8 = 256 coalitions).
const DefaultSegments = 8

// MaxSegments bounds S: 2^20 coalitions is about a million model calls.
const MaxSegments = 20

// SHAPOptions configure TemporalSHAP.
type SHAPOptions struct {
	// Segments is S, the number of frame segments, 1 ≤ S ≤ min(F,
	// MaxSegments); 0 means min(DefaultSegments, F).
	Segments int
	// Height and Width are the patch grid h×w of the returned volume:
	// the model's, so that the volume compares with other attributions
	// (on a coarser grid the pointing game would be won by construction);
	// required.
	Height, Width int
	// Baseline replaces the frames outside a coalition; DefaultBaseline
	// means metrics.Zeros. BlurSigma is the σ of metrics.Blur in pixels
	// (0: metrics.DefaultBlurSigma).
	Baseline  metrics.Baseline
	BlurSigma float64
	// Scores is the value of a coalition: the target's probability
	// (DefaultScores, as the shap package explains predict_proba) or its
	// logit (metrics.Logits).
	Scores metrics.Scores
	// BatchSize is the number of coalitions per model call; 0 means
	// metrics.DefaultBatchSize.
	BatchSize int
	// Progress, if not nil, is called after each batch with the
	// coalitions done and 2^S.
	Progress func(done, total int)
}

// SHAP is the outcome of TemporalSHAP.
type SHAP struct {
	// Target is the class explained.
	Target int
	// Values are the Shapley values φ_s of the segments.
	Values []float64
	// Bounds are the segments: segment s is frames [Bounds[s], Bounds[s+1]).
	Bounds []int
	// Full and Empty are v(all segments), the unperturbed clip's value, and
	// v(∅), the baseline's: Σ_s φ_s = Full − Empty.
	Full, Empty float64
	// Volume is the explanation as an attribution volume [F, h, w]: the
	// positive part of φ_s spread evenly over the frames and patches of
	// segment s, V[f,i,j] = max(φ_s, 0) / (|s|·h·w).
	Volume staa.Volume
}

// TemporalSHAP computes exact Shapley values of the clip's S frame segments
// — segment s is frames ⌊s·F/S⌋ … ⌊(s+1)·F/S⌋ − 1 — for the target class
// (a class index or metrics.PredictedClass). The value of a coalition C of
// segments is v(C), the target's score (probability by default) for the
// clip whose frames outside C are replaced by the baseline's frames, and
//
//	φ_s = Σ_{C ⊆ N∖{s}} |C|!·(S − |C| − 1)!/S! · (v(C ∪ {s}) − v(C)),
//
// over all 2^S coalitions, each evaluated once, in batches. The values are
// exact: efficient (Σ φ_s = v(N) − v(∅)), symmetric (two segments that
// change v alike get equal values) and null for a segment that never
// changes v.
func TemporalSHAP(m metrics.Model, x metrics.Clip, target int, o SHAPOptions) (*SHAP, error) {
	if m == nil {
		return nil, errors.New("baselines: no model")
	}
	if err := x.Validate(); err != nil {
		return nil, err
	}
	S := o.Segments
	if S == 0 {
		S = min(DefaultSegments, x.Frames)
	}
	switch {
	case S < 1 || S > x.Frames:
		return nil, fmt.Errorf("baselines: SHAP needs 1 to %d segments (the clip's frames), got %d", x.Frames, o.Segments)
	case S > MaxSegments:
		return nil, fmt.Errorf("baselines: SHAP over %d segments needs 2^%d model calls; at most %d segments", S, S, MaxSegments)
	}
	if o.Height <= 0 || o.Width <= 0 {
		return nil, fmt.Errorf("baselines: SHAP needs the patch grid (Height, Width) of its volume, got %d×%d", o.Height, o.Width)
	}
	h, w := o.Height, o.Width
	scores, err := o.Scores.Resolve(metrics.Probabilities)
	if err != nil {
		return nil, err
	}
	base, err := metrics.BaselineClip(x, o.Baseline, o.BlurSigma)
	if err != nil {
		return nil, err
	}
	bounds := make([]int, S+1)
	seg := make([]int, x.Frames) // frame → segment
	for s := range bounds {
		bounds[s] = s * x.Frames / S
	}
	for s := range S {
		for f := bounds[s]; f < bounds[s+1]; f++ {
			seg[f] = s
		}
	}
	n := 1 << S
	rows, err := metrics.PredictBatched(m, x, n, o.BatchSize, func(c int, dst metrics.Clip) {
		for f := range x.Frames {
			src := base
			if c>>seg[f]&1 == 1 {
				src = x
			}
			copy(dst.Frame(f), src.Frame(f))
		}
	}, o.Progress)
	if err != nil {
		return nil, err
	}
	full := n - 1
	if target, err = metrics.ResolveTarget(target, rows[full]); err != nil {
		return nil, err
	}
	v := make([]float64, n)
	for c, r := range rows {
		v[c] = scores.Apply(r)[target]
	}
	// weight[k] = k!(S−k−1)!/S! = 1/(S·C(S−1, k)).
	weight := make([]float64, S)
	for k := range weight {
		weight[k] = 1 / (float64(S) * float64(combin.Binomial(S-1, k)))
	}
	res := &SHAP{Target: target, Values: make([]float64, S), Bounds: bounds, Full: v[full], Empty: v[0],
		Volume: staa.NewVolume(x.Frames, h, w)}
	for s := range S {
		bit := 1 << s
		phi := 0.0
		for c := range n {
			if c&bit == 0 {
				phi += weight[bits.OnesCount(uint(c))] * (v[c|bit] - v[c])
			}
		}
		res.Values[s] = phi
		val := float32(math.Max(phi, 0) / float64((bounds[s+1]-bounds[s])*h*w))
		for f := bounds[s]; f < bounds[s+1]; f++ {
			fr := res.Volume.Frame(f)
			for k := range fr {
				fr[k] = val
			}
		}
	}
	return res, nil
}
