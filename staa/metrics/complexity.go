package metrics

import (
	"math"

	"gonum.org/v1/gonum/stat"

	"github.com/staa-dev/staa/staa"
)

// Complexity is the normalised entropy of the attribution (Bhatt et al.
// 2020): with p = V/ΣV over the n = F·h·w cells of v,
//
//	H = −Σ p·ln p / ln n   (0·ln 0 = 0),
//
// H ∈ [0, 1]: 0 when all the mass is in one cell, 1 for a uniform volume;
// lower is simpler. 0 for a single cell. v must be ≥ 0; NaN when it sums
// to 0.
func Complexity(v staa.Volume) (float64, error) {
	if err := checkMass(v); err != nil {
		return math.NaN(), err
	}
	sum := 0.0
	for _, x := range v.Data {
		sum += float64(x)
	}
	if sum == 0 {
		return math.NaN(), nil
	}
	if len(v.Data) == 1 {
		return 0, nil
	}
	p := make([]float64, len(v.Data))
	for k, x := range v.Data {
		p[k] = float64(x) / sum
	}
	return stat.Entropy(p) / math.Log(float64(len(p))), nil
}
