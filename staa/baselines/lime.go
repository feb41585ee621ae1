package baselines

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// Defaults of SpatialLIME, those of the lime package's LimeImageExplainer.
const (
	DefaultSamples     = 1000
	DefaultKernelWidth = 0.25
	DefaultAlpha       = 1.0 // sklearn's Ridge(alpha=1), lime's regressor
)

// LIMEOptions configure SpatialLIME.
type LIMEOptions struct {
	// Height and Width are the patch grid h×w whose cells are LIME's
	// features (the model's grid); required.
	Height, Width int
	// Samples is the number of perturbed clips, the first being the clip
	// itself; 0 means DefaultSamples.
	Samples int
	// KernelWidth is the kernel's width; 0 means DefaultKernelWidth.
	KernelWidth float64
	// Alpha is the ridge penalty α; 0 means DefaultAlpha and a negative
	// value means α = 0 (ordinary weighted least squares, which needs
	// samples enough for the design to have full rank).
	Alpha float64
	// Seed seeds the masks (PCG); the same seed gives the same masks.
	Seed uint64
	// Baseline replaces the patches switched off; DefaultBaseline means
	// metrics.Zeros (lime's hide_color=0). BlurSigma is the σ of
	// metrics.Blur in pixels (0: metrics.DefaultBlurSigma).
	Baseline  metrics.Baseline
	BlurSigma float64
	// Scores is the regression's target: the class probability
	// (DefaultScores, as lime explains predict_proba) or its logit.
	Scores metrics.Scores
	// BatchSize is the number of perturbed clips per model call; 0 means
	// metrics.DefaultBatchSize.
	BatchSize int
	// Progress, if not nil, is called after each batch with the samples
	// done and Samples.
	Progress func(done, total int)
}

// LIME is the outcome of SpatialLIME.
type LIME struct {
	// Target is the class explained.
	Target int
	// Coefficients are the regression's coefficients, one per patch, h×w
	// row-major; Intercept is its intercept.
	Coefficients []float64
	Intercept    float64
	// Score is the weighted R² of the fit on the samples (lime's score).
	Score float64
	// Volume is the explanation as an attribution volume [F, h, w]: the
	// positive part of the coefficients, the same map in every frame.
	Volume staa.Volume
}

// SpatialLIME explains the target class (a class index or
// metrics.PredictedClass) with LIME (Ribeiro et al. 2016) over the cells of
// the h×w patch grid, each cell taken through all frames, as lime's
// LimeImageExplainer does with superpixels:
//
//  1. n binary masks z ∈ {0,1}^p over the p = h·w patches, z_1 = 1 (the
//     clip), the others uniform random bits (seeded);
//  2. for each mask, the clip with the patches where z = 0 replaced by the
//     baseline, evaluated in batches: y = the target's score;
//  3. weights π = √exp(−d²/κ²) = exp(−d²/(2κ²)), κ the kernel width and
//     d = 1 − cos(z, 1) = 1 − √(|z|/p) the cosine distance to the clip's mask
//     (1 for z = 0) — lime's kernel, which takes the square root;
//  4. the weighted ridge regression with an unpenalised intercept,
//     min_{β,b} Σ_k π_k·(y_k − b − z_k·β)² + α‖β‖², solved with gonum/mat
//     (see weightedRidge).
//
// β is the explanation: one coefficient per patch, shared by all frames.
func SpatialLIME(m metrics.Model, x metrics.Clip, target int, o LIMEOptions) (*LIME, error) {
	if m == nil {
		return nil, errors.New("baselines: no model")
	}
	if err := x.Validate(); err != nil {
		return nil, err
	}
	if o.Height <= 0 || o.Width <= 0 {
		return nil, fmt.Errorf("baselines: LIME needs the patch grid (Height, Width), got %d×%d", o.Height, o.Width)
	}
	n := o.Samples
	if n == 0 {
		n = DefaultSamples
	}
	width := o.KernelWidth
	if width == 0 {
		width = DefaultKernelWidth
	}
	alpha := o.Alpha
	switch {
	case alpha == 0:
		alpha = DefaultAlpha
	case alpha < 0:
		alpha = 0
	}
	switch {
	case n < 2:
		return nil, fmt.Errorf("baselines: LIME needs at least 2 samples, got %d", o.Samples)
	case !(width > 0) || math.IsInf(width, 0):
		return nil, fmt.Errorf("baselines: LIME kernel width must be positive and finite, got %v", o.KernelWidth)
	case math.IsNaN(alpha) || math.IsInf(alpha, 0):
		return nil, fmt.Errorf("baselines: LIME ridge α must be finite, got %v", o.Alpha)
	}
	scores, err := o.Scores.Resolve(metrics.Probabilities)
	if err != nil {
		return nil, err
	}
	// One tube per patch through all the frames.
	tubes, err := metrics.NewTubes(x, o.Height, o.Width, x.Frames)
	if err != nil {
		return nil, err
	}
	base, err := metrics.BaselineClip(x, o.Baseline, o.BlurSigma)
	if err != nil {
		return nil, err
	}
	p := o.Height * o.Width
	z := make([]bool, n*p)
	rng := rand.New(rand.NewPCG(o.Seed, 0x11e5eed))
	for k := range z {
		z[k] = k < p || rng.Uint64()&1 == 1
	}
	rows, err := metrics.PredictBatched(m, x, n, o.BatchSize, func(k int, dst metrics.Clip) {
		tubes.Compose(dst, x, base, z[k*p:(k+1)*p])
	}, o.Progress)
	if err != nil {
		return nil, err
	}
	if target, err = metrics.ResolveTarget(target, rows[0]); err != nil {
		return nil, err
	}
	y := make([]float64, n)
	pi := make([]float64, n)
	for k, r := range rows {
		y[k] = scores.Apply(r)[target]
		on := 0
		for _, b := range z[k*p : (k+1)*p] {
			if b {
				on++
			}
		}
		d := 1 - math.Sqrt(float64(on)/float64(p))
		pi[k] = math.Sqrt(math.Exp(-d * d / (width * width)))
	}
	fit, err := weightedRidge(z, p, y, pi, alpha)
	if err != nil {
		return nil, err
	}
	res := &LIME{Target: target, Coefficients: fit.beta, Intercept: fit.intercept, Score: fit.r2,
		Volume: staa.NewVolume(x.Frames, o.Height, o.Width)}
	for f := range x.Frames {
		fr := res.Volume.Frame(f)
		for k, b := range fit.beta {
			fr[k] = float32(math.Max(b, 0))
		}
	}
	return res, nil
}
