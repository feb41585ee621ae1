// Package evaluation runs the comparison of `staa eval`: every explanation
// method (STAA's last and rollout with the raw and optimized presets,
// temporal SHAP, spatial LIME, and explanations computed elsewhere read
// from attributions files) on every clip of a generated split, every metric
// of package staa/metrics on every explanation, and the summary table (mean
// ± std per metric and the time per clip, per method) as Markdown, JSON and
// charts; and the tuning of `staa tune` (Tune), which chooses the optimized
// preset's post-processing on a grid.
//
// It depends on a model only through metrics.Model (the perturbation
// metrics and the baselines) and through each Sample's Explain function
// (STAA's single forward pass), so that it is testable without ONNX Runtime.
//
// # Volumes scored
//
// For STAA the volume scored is the post-processed one
// (staa.Attribution.Spatial, whose normalisation, when any, is per clip and
// keeps the frames' relative mass) and the temporal profile is
// staa.Attribution.Temporal. For SHAP and LIME it is their Volume (the
// positive part of the explanation) and the profile is metrics.Profile of it;
// so for an attributions file, whose volumes must be ≥ 0.
//
// # Time per clip
//
// The time of a method on a clip is the wall time of the explanation alone:
// for STAA one forward pass with the attention outputs and the attribution
// (input already preprocessed), for SHAP and LIME all their model calls, in
// batches. The metrics' own model calls are not counted. For an attributions
// file it is the file's seconds column.
//
// # Undefined values and SNR
//
// A metric that is undefined for one clip (NaN, see package metrics) is left
// out of that metric's mean and std; N in the JSON says how many clips
// counted. SNR is +Inf when an explanation puts no mass outside the mask
// (thresholded maps often do), so its mean is meaningless: SNR is summarised
// by its median over all clips, +Inf included in the ordering, and the
// number of clips where it is +Inf. The charts draw log10 of the median.
package evaluation

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/baselines"
	"github.com/staa-dev/staa/staa/metrics"
)

// Method names, in the order of the table.
const (
	LastRaw          = "last-raw"
	LastOptimized    = "last-optimized"
	RolloutRaw       = "rollout-raw"
	RolloutOptimized = "rollout-optimized"
	SHAP             = "shap"
	LIME             = "lime"
)

// AllMethods lists every method, in the order of the table.
var AllMethods = []string{LastRaw, LastOptimized, RolloutRaw, RolloutOptimized, SHAP, LIME}

// ParseMethods parses a comma-separated list of method names (empty: all),
// refusing unknown names and duplicates.
func ParseMethods(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(AllMethods), nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(AllMethods, m) {
			return nil, fmt.Errorf("unknown method %q (want %s)", m, strings.Join(AllMethods, ", "))
		}
		if slices.Contains(out, m) {
			return nil, fmt.Errorf("method %q given twice", m)
		}
		out = append(out, m)
	}
	return out, nil
}

// staaOptions returns the STAA options of a STAA method name, ok false for
// the baselines.
func staaOptions(name string) (staa.Options, bool) {
	o := staa.DefaultOptions()
	switch name {
	case LastRaw:
		o.Method, o.Post = staa.Last, staa.Raw()
	case LastOptimized:
		o.Method, o.Post = staa.Last, staa.Optimized()
	case RolloutRaw:
		o.Method, o.Post = staa.Rollout, staa.Raw()
	case RolloutOptimized:
		o.Method, o.Post = staa.Rollout, staa.Optimized()
	default:
		return o, false
	}
	return o, true
}

// Metric names (JSON keys and table columns), in the order of the table.
const (
	Faithfulness = "faithfulness"
	Monotonicity = "monotonicity"
	Deletion     = "deletion_auc"
	Insertion    = "insertion_auc"
	Sparseness   = "sparseness"
	Complexity   = "complexity"
	Pointing     = "pointing_game"
	Energy       = "energy"
	TemporalAP   = "temporal_ap"
	SNR          = "snr"
)

// AllMetrics lists every metric, in the order of the table.
var AllMetrics = []string{Faithfulness, Monotonicity, Deletion, Insertion, Sparseness, Complexity, Pointing, Energy, TemporalAP, SNR}

// MetricInfo describes a metric for the table's legend.
var MetricInfo = map[string]struct{ Title, Better string }{
	Faithfulness: {"faithfulness", "↑"},
	Monotonicity: {"monotonicity τ", "↓"},
	Deletion:     {"deletion AUC", "↓"},
	Insertion:    {"insertion AUC", "↑"},
	Sparseness:   {"sparseness (Gini)", "↑"},
	Complexity:   {"complexity (entropy)", "↓"},
	Pointing:     {"pointing game", "↑"},
	Energy:       {"energy in mask", "↑"},
	TemporalAP:   {"temporal AP", "↑"},
	SNR:          {"SNR (median)", "↑"},
}

// Sample is one held-out clip and its ground truth.
type Sample struct {
	Index, Label int
	// Clip is the model input (see metrics.Clip).
	Clip metrics.Clip
	// Mask is the target's ground-truth mask and Visible its frames.
	Mask    metrics.Mask
	Visible []bool
	// Explain runs STAA on the clip with options o (one forward pass).
	Explain func(o staa.Options) (staa.Attribution, error)
}

// Config configures Run.
type Config struct {
	// Methods to run (nil: AllMethods).
	Methods []string
	// Geometry is the model's (its patch grid h×w and tubelet τ).
	Geometry staa.Geometry
	// SHAPSegments is S of TemporalSHAP (0: its default); LIMESamples the
	// samples of SpatialLIME (0: its default); Batch the clips per model
	// call of the baselines and the metrics (0: metrics.DefaultBatchSize).
	SHAPSegments, LIMESamples, Batch int
	// Seed seeds LIME's masks (plus the clip's index).
	Seed uint64
	// External are explanations computed elsewhere (ReadAttributions),
	// scored as rows of their own after Methods, with their own times.
	External []*External
	// Progress, if not nil, is called after each explanation is scored.
	Progress func()
}

// ClipResult holds one method's scores on one clip.
type ClipResult struct {
	Clip    int                `json:"clip"`
	Label   int                `json:"label"`
	Target  int                `json:"target"`
	Seconds float64            `json:"seconds"`
	Metrics map[string]float64 `json:"-"`
}

// Stat summarises one metric over the clips.
type Stat struct {
	// Mean and Std (population) over the N finite values.
	Mean, Std float64
	N         int
	// Median over all values, ±Inf included; Inf counts the +Inf values
	// (set for SNR).
	Median float64
	Inf    int
}

// MethodResult is one method's results.
type MethodResult struct {
	Method string
	// External is the staa.method of an attributions file, empty for the
	// built-in methods.
	External string
	Clips    []ClipResult
	Metrics  map[string]Stat
	Time     Stat // seconds per clip
}

// Report is the whole evaluation.
type Report struct {
	Methods []MethodResult
	Clips   int
	// Geometry and the baselines' settings.
	Geometry     staa.Geometry
	SHAPSegments int
	LIMESamples  int
	Batch        int
}

// checkInputs is what Run and Tune both need: a model, samples, and a
// geometry with a patch grid.
func checkInputs(m metrics.Model, samples []Sample, g staa.Geometry) error {
	if m == nil {
		return errors.New("evaluation: no model")
	}
	if len(samples) == 0 {
		return errors.New("evaluation: no samples")
	}
	if g.Height <= 0 || g.Width <= 0 {
		return fmt.Errorf("evaluation: geometry has an empty patch grid %d×%d", g.Height, g.Width)
	}
	return nil
}

// Run explains every sample with every method and scores every explanation.
func Run(m metrics.Model, samples []Sample, c Config) (*Report, error) {
	g := c.Geometry
	if err := checkInputs(m, samples, g); err != nil {
		return nil, err
	}
	methods := c.Methods
	if methods == nil {
		methods = AllMethods
	}
	rep := &Report{Clips: len(samples), Geometry: g, SHAPSegments: c.SHAPSegments, LIMESamples: c.LIMESamples, Batch: c.Batch}
	if rep.Batch == 0 {
		rep.Batch = metrics.DefaultBatchSize
	}
	for _, name := range methods {
		if !slices.Contains(AllMethods, name) {
			return nil, fmt.Errorf("evaluation: unknown method %q", name)
		}
		rep.Methods = append(rep.Methods, MethodResult{Method: name})
	}
	ext := map[string]*External{}
	for _, x := range c.External {
		if err := ValidName(x.Name); err != nil {
			return nil, fmt.Errorf("evaluation: attributions: %w", err)
		}
		if ext[x.Name] != nil || slices.Contains(methods, x.Name) {
			return nil, fmt.Errorf("evaluation: method %q given twice", x.Name)
		}
		for _, s := range samples {
			if s.Index < 0 || s.Index >= len(x.Volumes) {
				return nil, fmt.Errorf("evaluation: attributions %s have no clip %d", x.Name, s.Index)
			}
		}
		ext[x.Name] = x
		rep.Methods = append(rep.Methods, MethodResult{Method: x.Name, External: x.Method})
	}
	for _, s := range samples {
		ev, err := metrics.NewEvaluator(m, s.Clip, metrics.Options{BatchSize: c.Batch, Tubelet: g.Tubelet})
		if err != nil {
			return nil, fmt.Errorf("clip %d: %w", s.Index, err)
		}
		if rep.SHAPSegments == 0 {
			rep.SHAPSegments = min(baselines.DefaultSegments, s.Clip.Frames)
		}
		for k := range rep.Methods {
			mr := &rep.Methods[k]
			cr, err := runOne(m, ev, s, mr.Method, ext[mr.Method], c)
			if err != nil {
				return nil, fmt.Errorf("clip %d, %s: %w", s.Index, mr.Method, err)
			}
			mr.Clips = append(mr.Clips, cr)
			if c.Progress != nil {
				c.Progress()
			}
		}
	}
	if rep.LIMESamples == 0 {
		rep.LIMESamples = baselines.DefaultSamples
	}
	for k := range rep.Methods {
		rep.Methods[k].summarise()
	}
	return rep, nil
}

// runOne explains sample s with method name and scores the explanation.
func runOne(m metrics.Model, ev *metrics.Evaluator, s Sample, name string, x *External, c Config) (ClipResult, error) {
	g := c.Geometry
	target := ev.Predicted()
	var vol staa.Volume
	var profile []float32
	t0 := time.Now()
	if x != nil {
		vol = x.Volumes[s.Index]
		if vol.Height != g.Height || vol.Width != g.Width || vol.Frames != s.Clip.Frames {
			return ClipResult{}, fmt.Errorf("volume of shape [%d, %d, %d], the model's is [%d, %d, %d]",
				vol.Frames, vol.Height, vol.Width, s.Clip.Frames, g.Height, g.Width)
		}
	} else if o, ok := staaOptions(name); ok {
		if s.Explain == nil {
			return ClipResult{}, errors.New("sample has no STAA explainer")
		}
		a, err := s.Explain(o)
		if err != nil {
			return ClipResult{}, err
		}
		vol, profile = a.Spatial, a.Temporal
	} else if name == SHAP {
		r, err := baselines.TemporalSHAP(m, s.Clip, target, baselines.SHAPOptions{
			Segments: c.SHAPSegments, Height: g.Height, Width: g.Width, BatchSize: c.Batch})
		if err != nil {
			return ClipResult{}, err
		}
		vol = r.Volume
	} else {
		r, err := baselines.SpatialLIME(m, s.Clip, target, baselines.LIMEOptions{
			Height: g.Height, Width: g.Width, Samples: c.LIMESamples, Seed: c.Seed + uint64(s.Index), BatchSize: c.Batch})
		if err != nil {
			return ClipResult{}, err
		}
		vol = r.Volume
	}
	secs := time.Since(t0).Seconds()
	if x != nil {
		secs = x.Seconds[s.Index] // measured where the explanation was computed
	}
	if profile == nil {
		profile = metrics.Profile(vol)
	}
	vals, err := score(ev, vol, profile, s, target)
	if err != nil {
		return ClipResult{}, err
	}
	return ClipResult{Clip: s.Index, Label: s.Label, Target: target, Seconds: secs, Metrics: vals}, nil
}

// score computes every metric of vol on the sample.
func score(ev *metrics.Evaluator, vol staa.Volume, profile []float32, s Sample, target int) (map[string]float64, error) {
	out := map[string]float64{}
	var err error
	if out[Faithfulness], err = ev.Faithfulness(vol, metrics.FaithfulnessOptions{}); err != nil {
		return nil, fmt.Errorf("faithfulness: %w", err)
	}
	mono, err := ev.Monotonicity(vol, metrics.MonotonicityOptions{})
	if err != nil {
		return nil, fmt.Errorf("monotonicity: %w", err)
	}
	out[Monotonicity] = mono.Tau
	del, err := ev.Deletion(vol, target, metrics.CurveOptions{})
	if err != nil {
		return nil, fmt.Errorf("deletion: %w", err)
	}
	out[Deletion] = del.AUC
	ins, err := ev.Insertion(vol, target, metrics.CurveOptions{})
	if err != nil {
		return nil, fmt.Errorf("insertion: %w", err)
	}
	out[Insertion] = ins.AUC
	if out[Sparseness], err = metrics.Sparseness(vol); err != nil {
		return nil, fmt.Errorf("sparseness: %w", err)
	}
	if out[Complexity], err = metrics.Complexity(vol); err != nil {
		return nil, fmt.Errorf("complexity: %w", err)
	}
	pg, err := metrics.PointingGame(vol, s.Mask, 0)
	if err != nil {
		return nil, fmt.Errorf("pointing game: %w", err)
	}
	out[Pointing] = pg.Score
	if out[Energy], err = metrics.Energy(vol, s.Mask); err != nil {
		return nil, fmt.Errorf("energy: %w", err)
	}
	visible := s.Visible
	if visible == nil {
		visible = s.Mask.Visible()
	}
	if out[TemporalAP], err = metrics.TemporalAP(profile, visible); err != nil {
		return nil, fmt.Errorf("temporal AP: %w", err)
	}
	if out[SNR], err = metrics.SNR(vol, s.Mask); err != nil {
		return nil, fmt.Errorf("SNR: %w", err)
	}
	return out, nil
}

func (mr *MethodResult) summarise() {
	mr.Metrics = map[string]Stat{}
	for _, name := range AllMetrics {
		v := make([]float64, len(mr.Clips))
		for i, c := range mr.Clips {
			v[i] = c.Metrics[name]
		}
		mr.Metrics[name] = Summarise(v)
	}
	t := make([]float64, len(mr.Clips))
	for i, c := range mr.Clips {
		t[i] = c.Seconds
	}
	mr.Time = Summarise(t)
}

// Summarise returns the mean and population std of the finite values of v,
// their count, the median of the non-NaN values (±Inf included) and the
// count of +Inf values. With no finite value Mean and Std are NaN; with no
// non-NaN value Median is NaN.
func Summarise(v []float64) Stat {
	st := Stat{Mean: math.NaN(), Std: math.NaN(), Median: math.NaN()}
	var sum float64
	var ordered []float64
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		ordered = append(ordered, x)
		if math.IsInf(x, 1) {
			st.Inf++
		}
		if math.IsInf(x, 0) {
			continue
		}
		sum += x
		st.N++
	}
	if st.N > 0 {
		st.Mean = sum / float64(st.N)
		ss := 0.0
		for _, x := range v {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				ss += (x - st.Mean) * (x - st.Mean)
			}
		}
		st.Std = math.Sqrt(ss / float64(st.N))
	}
	if n := len(ordered); n > 0 {
		slices.Sort(ordered)
		if n%2 == 1 {
			st.Median = ordered[n/2]
		} else {
			a, b := ordered[n/2-1], ordered[n/2]
			if math.IsInf(a, 0) && a == b {
				st.Median = a
			} else {
				st.Median = (a + b) / 2 // +Inf when b is
			}
		}
	}
	return st
}
