package evaluation

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/staa-dev/staa/staa"
)

// Grid is the set of post-processing settings Tune scores: every
// combination of one blur σ, one γ, one threshold and one normalisation.
type Grid struct {
	Blur       []float64
	Gamma      []float64
	Thresholds []staa.Threshold
	Normalize  []staa.Normalize
}

// DefaultGrid is the grid of `staa tune`: blur σ ∈ {0, 0.5, 1} patches,
// γ ∈ {1, 2, 3, 4, 6, 8, 12, 16}, threshold none, meanstd k ∈ {−0.5, 0,
// 0.5, 1}, percentile p ∈ {50, 75, 90} or otsu, normalisation clip or
// frame: 432 settings. γ goes far because the energy in the mask keeps
// rising with it (see Tune's plateau rule).
//
// Normalisation none is left out: every metric Tune computes is unchanged
// (up to float32 rounding) when the whole clip is divided by one positive
// number, so none scores as clip does.
func DefaultGrid() Grid {
	return Grid{
		Blur:  []float64{0, 0.5, 1},
		Gamma: []float64{1, 2, 3, 4, 6, 8, 12, 16},
		Thresholds: []staa.Threshold{
			{Mode: staa.ThresholdNone},
			{Mode: staa.ThresholdMeanStd, K: -0.5},
			{Mode: staa.ThresholdMeanStd, K: 0},
			{Mode: staa.ThresholdMeanStd, K: 0.5},
			{Mode: staa.ThresholdMeanStd, K: 1},
			{Mode: staa.ThresholdPercentile, P: 50},
			{Mode: staa.ThresholdPercentile, P: 75},
			{Mode: staa.ThresholdPercentile, P: 90},
			{Mode: staa.ThresholdOtsu},
		},
		Normalize: []staa.Normalize{staa.NormalizeClip, staa.NormalizeFrame},
	}
}

// Settings returns the grid's settings, blur outermost, then γ, threshold
// and normalisation, each in the order given.
func (g Grid) Settings() []staa.Post {
	var out []staa.Post
	for _, b := range g.Blur {
		for _, gm := range g.Gamma {
			for _, t := range g.Thresholds {
				for _, n := range g.Normalize {
					out = append(out, staa.Post{Blur: b, Gamma: gm, Threshold: t, Normalize: n})
				}
			}
		}
	}
	return out
}

// Validate reports whether every axis is non-empty and every setting valid.
func (g Grid) Validate() error {
	switch {
	case len(g.Blur) == 0:
		return fmt.Errorf("evaluation: grid has no blur σ")
	case len(g.Gamma) == 0:
		return fmt.Errorf("evaluation: grid has no γ")
	case len(g.Thresholds) == 0:
		return fmt.Errorf("evaluation: grid has no threshold")
	case len(g.Normalize) == 0:
		return fmt.Errorf("evaluation: grid has no normalisation")
	}
	seen := map[string]bool{}
	for _, p := range g.Settings() {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("evaluation: grid setting %s: %w", PostString(p), err)
		}
		if k := PostString(p); seen[k] {
			return fmt.Errorf("evaluation: grid setting %s appears twice", k)
		} else {
			seen[k] = true
		}
	}
	return nil
}

func fmtParam(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// ThresholdString names a threshold as the table does: "none", "meanstd
// k=0.5", "percentile p=90", "otsu".
func ThresholdString(t staa.Threshold) string {
	switch t.Mode {
	case staa.ThresholdMeanStd:
		return "meanstd k=" + fmtParam(t.K)
	case staa.ThresholdPercentile:
		return "percentile p=" + fmtParam(t.P)
	}
	return t.Mode.String()
}

// PostString names a setting: "blur 0.5, γ 2, meanstd k=0, clip". γ 0 (off)
// is written as γ 1, which does the same.
func PostString(p staa.Post) string {
	g := p.Gamma
	if g == 0 {
		g = 1
	}
	return fmt.Sprintf("blur %s, γ %s, %s, %s", fmtParam(p.Blur), fmtParam(g), ThresholdString(p.Threshold), p.Normalize)
}

// PostJSON returns p as the "postprocess" object of the options JSON
// (docs/conventions.md), e.g. {"blur":0.5,"gamma":2,"threshold":
// {"mode":"meanstd","k":0},"normalize":"clip"}.
func PostJSON(p staa.Post) string {
	var th string
	switch p.Threshold.Mode {
	case staa.ThresholdMeanStd:
		th = fmt.Sprintf(`{"mode":"meanstd","k":%s}`, fmtParam(p.Threshold.K))
	case staa.ThresholdPercentile:
		th = fmt.Sprintf(`{"mode":"percentile","p":%s}`, fmtParam(p.Threshold.P))
	default:
		th = `{"mode":"` + p.Threshold.Mode.String() + `"}`
	}
	return fmt.Sprintf(`{"blur":%s,"gamma":%s,"threshold":%s,"normalize":"%s"}`,
		fmtParam(p.Blur), fmtParam(p.Gamma), th, p.Normalize)
}

// ParseFloatList parses a comma-separated list of finite numbers.
func ParseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a finite number", strings.TrimSpace(f))
		}
		out = append(out, x)
	}
	return out, nil
}

// ParseThresholds parses a comma-separated list of thresholds: none, otsu,
// meanstd:K, percentile:P.
func ParseThresholds(s string) ([]staa.Threshold, error) {
	var out []staa.Threshold
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		name, arg, hasArg := strings.Cut(f, ":")
		mode, err := staa.ParseThresholdMode(name)
		if err != nil {
			return nil, fmt.Errorf("%q: want none, otsu, meanstd:K or percentile:P", f)
		}
		t := staa.Threshold{Mode: mode}
		switch mode {
		case staa.ThresholdMeanStd, staa.ThresholdPercentile:
			if !hasArg {
				return nil, fmt.Errorf("%q: %s needs its level (%s:X)", f, name, name)
			}
			x, err := strconv.ParseFloat(arg, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%q: level %q is not a finite number", f, arg)
			}
			if mode == staa.ThresholdMeanStd {
				t.K = x
			} else {
				t.P = x
			}
		default:
			if hasArg {
				return nil, fmt.Errorf("%q: %s takes no level", f, name)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseNormalizeList parses a comma-separated list of normalisations.
func ParseNormalizeList(s string) ([]staa.Normalize, error) {
	var out []staa.Normalize
	for _, f := range strings.Split(s, ",") {
		n, err := staa.ParseNormalize(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
