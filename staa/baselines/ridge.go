package baselines

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ridgeFit is the outcome of weightedRidge.
type ridgeFit struct {
	beta      []float64
	intercept float64
	r2        float64
}

// weightedRidge fits y ≈ b + z·β to n samples of p binary features (z,
// row-major n×p) with sample weights π > 0, as sklearn's
// Ridge(alpha=α, fit_intercept=True).fit(z, y, sample_weight=π) does:
//
//	min_{β,b} Σ_k π_k·(y_k − b − z_k·β)² + α‖β‖²   (the intercept is not penalised).
//
// Centring on the weighted means z̄ = Σπz/Σπ, ȳ = Σπy/Σπ removes b; with
// A = diag(√π)(Z − 1z̄ᵀ) and c = √π∘(y − ȳ), β solves the least-squares
// problem of the stacked system [A; √α·I]·β ≈ [c; 0], which gonum/mat
// solves by QR (better conditioned than the normal equations
// (AᵀA + αI)β = Aᵀc); then b = ȳ − z̄·β. r2 is the weighted R² of the fit,
// 1 − Σπ(y − ŷ)²/Σπ(y − ȳ)² (for a constant y, 1 when fitted exactly and
// 0 otherwise, as sklearn's r2_score).
func weightedRidge(z []bool, p int, y, pi []float64, alpha float64) (ridgeFit, error) {
	n := len(y)
	if len(z) != n*p || len(pi) != n || p <= 0 || n == 0 {
		return ridgeFit{}, fmt.Errorf("baselines: ridge of %d samples, %d features, %d masks, %d weights", n, p, len(z), len(pi))
	}
	sw, ybar := 0.0, 0.0
	zbar := make([]float64, p)
	for k := range n {
		sw += pi[k]
		ybar += pi[k] * y[k]
		for j, b := range z[k*p : (k+1)*p] {
			if b {
				zbar[j] += pi[k]
			}
		}
	}
	if !(sw > 0) {
		return ridgeFit{}, errors.New("baselines: ridge: the sample weights sum to 0")
	}
	ybar /= sw
	for j := range zbar {
		zbar[j] /= sw
	}
	rows := n
	if alpha > 0 {
		rows += p
	}
	if rows < p {
		return ridgeFit{}, fmt.Errorf("baselines: ridge without penalty needs at least %d samples for %d features, got %d", p, p, n)
	}
	a := mat.NewDense(rows, p, nil)
	c := mat.NewVecDense(rows, nil)
	for k := range n {
		s := math.Sqrt(pi[k])
		for j, b := range z[k*p : (k+1)*p] {
			v := -zbar[j]
			if b {
				v++
			}
			a.Set(k, j, s*v)
		}
		c.SetVec(k, s*(y[k]-ybar))
	}
	if alpha > 0 {
		s := math.Sqrt(alpha)
		for j := range p {
			a.Set(n+j, j, s)
		}
	}
	var beta mat.VecDense
	if err := beta.SolveVec(a, c); err != nil {
		var cond mat.Condition
		if errors.As(err, &cond) {
			return ridgeFit{}, fmt.Errorf("baselines: ridge: the design is rank-deficient (condition number %.3g); use a penalty α > 0 or more samples", float64(cond))
		}
		return ridgeFit{}, fmt.Errorf("baselines: ridge: %w", err)
	}
	fit := ridgeFit{beta: make([]float64, p), intercept: ybar}
	for j := range p {
		fit.beta[j] = beta.AtVec(j)
		fit.intercept -= zbar[j] * fit.beta[j]
	}
	var sse, sst float64
	for k := range n {
		yhat := fit.intercept
		for j, b := range z[k*p : (k+1)*p] {
			if b {
				yhat += fit.beta[j]
			}
		}
		sse += pi[k] * (y[k] - yhat) * (y[k] - yhat)
		sst += pi[k] * (y[k] - ybar) * (y[k] - ybar)
	}
	switch {
	case sst > 0:
		fit.r2 = 1 - sse/sst
	case sse == 0:
		fit.r2 = 1 // sklearn's r2_score for a constant target fitted exactly
	}
	return fit, nil
}
