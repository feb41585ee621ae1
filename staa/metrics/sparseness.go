package metrics

import (
	"math"
	"slices"

	"github.com/staa-dev/staa/staa"
)

// Sparseness is the Gini index of the attribution's values (Chalasani et
// al. 2020, as Quantus computes it): with the n = F·h·w values of v sorted
// increasingly, a_(1) ≤ … ≤ a_(n),
//
//	G = Σ_k (2k − n − 1)·a_(k) / (n·Σ_k a_(k)).
//
// G ∈ [0, 1 − 1/n]: 0 for a uniform volume, 1 − 1/n when all the mass is in
// one cell; higher is sparser. v must be ≥ 0; NaN when it sums to 0.
func Sparseness(v staa.Volume) (float64, error) {
	if err := checkMass(v); err != nil {
		return math.NaN(), err
	}
	a := make([]float64, len(v.Data))
	for k, x := range v.Data {
		a[k] = float64(x)
	}
	slices.Sort(a)
	n := float64(len(a))
	num, sum := 0.0, 0.0
	for k, x := range a {
		num += (2*float64(k+1) - n - 1) * x
		sum += x
	}
	if sum == 0 {
		return math.NaN(), nil
	}
	return num / (n * sum), nil
}
