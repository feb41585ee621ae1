package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/staa-dev/staa/internal/evaluation"
	"github.com/staa-dev/staa/internal/progress"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// defaultTuneSeed is the tuning split of staa tune: neither a training seed
// (1000 + e), nor validation (900), nor check_accuracy.py's (20240), nor
// staa eval's test split (4242).
const defaultTuneSeed = 3131

// Output files of staa tune.
const (
	fileTuneMD   = "tune.md"
	fileTuneJSON = "tune.json"
	fileTunePNG  = "tune.png"
	tunePlotW    = 900
	tunePlotH    = 600
	tuneDefaultN = 50
)

// tuneConfig is the parsed command line of staa tune.
type tuneConfig struct {
	model, out           string
	n, batch, threads    int
	seed                 uint64
	guard, slack         float64
	methods              []staa.Method
	grid                 evaluation.Grid
	progress, quiet      bool
	methodList, blurList string
	gammaList, thList    string
	normList             string
}

func parseTune(args []string, e *env) (*tuneConfig, error) {
	c := &tuneConfig{}
	def := evaluation.DefaultGrid()
	fs := newFlagSet("tune", "[--model M] [--n N] [--seed S] --out DIR [flags]", e)
	fs.StringVar(&c.model, "model", "", "the ONNX `model`, exported with its attention outputs (default: the shipped "+ShippedModel+")")
	fs.IntVar(&c.n, "n", tuneDefaultN, "number of clips of the tuning split")
	fs.Uint64Var(&c.seed, "seed", defaultTuneSeed, fmt.Sprintf("seed of the tuning split (not a training seed, 1000 to 1999, nor staa eval's test split %d)", defaultEvalSeed))
	fs.StringVar(&c.out, "out", "", "output `directory` (required)")
	fs.StringVar(&c.methodList, "methods", "last,rollout", "comma-separated STAA `methods` whose raw volumes are post-processed")
	fs.StringVar(&c.blurList, "blur", joinFloats(def.Blur), "blur σ values, in patches (`list`)")
	fs.StringVar(&c.gammaList, "gamma", joinFloats(def.Gamma), "γ values (`list`; 1 is off)")
	fs.StringVar(&c.thList, "thresholds", joinThresholds(def.Thresholds), "thresholds (`list` of none, otsu, meanstd:K, percentile:P)")
	fs.StringVar(&c.normList, "normalize", "clip,frame", "normalisations (`list` of none, clip, frame)")
	fs.Float64Var(&c.guard, "guard", evaluation.DefaultGuard, "δ of the guard: largest loss of mean faithfulness, and gain of mean deletion AUC, against raw")
	fs.Float64Var(&c.slack, "slack", evaluation.DefaultSlack, "ε: settings within ε of the best pointing game are ranked by energy in the mask")
	fs.IntVar(&c.batch, "batch", metrics.DefaultBatchSize, "perturbed clips per model call")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime intra-op threads (default: one per core)")
	fs.BoolVar(&c.progress, "progress", false, "draw the progress bar even when stderr is not a terminal")
	fs.BoolVar(&c.quiet, "q", false, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, `Usage: staa tune [--model M] [--n N] [--seed S] --out DIR [flags]

Scores a grid of post-processing settings (every combination of --blur,
--gamma, --thresholds and --normalize) on a tuning split of generated clips
and chooses one: each STAA method runs once per clip, with no
post-processing, and only the post-processing varies. The choice, in order:
a guard (for every method, mean faithfulness at least raw's − δ and mean
deletion AUC at most raw's + δ), then the pointing game (within ε of the
best), then the energy in the mask: of the settings within one standard
error of the best energy, the least aggressive (smallest γ, then blur, then
the thresholds and normalisations in the order listed). Writes tune.md (the
grid's table, the choice and the rule), tune.json and tune.png to DIR.
Report on another split with staa eval, whose default seed (%d) tune
refuses.

Flags:
`, defaultEvalSeed)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	bad := func(format string, a ...any) (*tuneConfig, error) {
		fmt.Fprintf(e.stderr, format+"\n", a...)
		fs.Usage()
		return nil, errUsage
	}
	for _, m := range strings.Split(c.methodList, ",") {
		meth, err := staa.ParseMethod(strings.TrimSpace(m))
		if err != nil {
			return bad("--methods: %v", err)
		}
		for _, prev := range c.methods {
			if prev == meth {
				return bad("--methods: %s given twice", meth)
			}
		}
		c.methods = append(c.methods, meth)
	}
	var err error
	if c.grid.Blur, err = evaluation.ParseFloatList(c.blurList); err != nil {
		return bad("--blur: %v", err)
	}
	if c.grid.Gamma, err = evaluation.ParseFloatList(c.gammaList); err != nil {
		return bad("--gamma: %v", err)
	}
	if c.grid.Thresholds, err = evaluation.ParseThresholds(c.thList); err != nil {
		return bad("--thresholds: %v", err)
	}
	if c.grid.Normalize, err = evaluation.ParseNormalizeList(c.normList); err != nil {
		return bad("--normalize: %v", err)
	}
	if err := c.grid.Validate(); err != nil {
		return bad("%v", strings.TrimPrefix(err.Error(), "evaluation: "))
	}
	switch {
	case c.out == "":
		return bad("--out DIR is required")
	case c.n < 1:
		return bad("--n %d: want at least 1 clip", c.n)
	case c.batch < 1:
		return bad("--batch %d: want at least 1", c.batch)
	case c.threads < 0:
		return bad("--threads %d: want 0 (default) or more", c.threads)
	case !(c.guard > 0 && c.guard < 1):
		return bad("--guard %v: want a number in (0, 1)", c.guard)
	case !(c.slack > 0 && c.slack < 1):
		return bad("--slack %v: want a number in (0, 1)", c.slack)
	case c.seed >= trainSeed && c.seed < trainSeed+trainSeedEpochs:
		return bad("--seed %d is a training split of the shipped model (seeds %d to %d): pick a held-out seed", c.seed, trainSeed, trainSeed+trainSeedEpochs-1)
	case c.seed == defaultEvalSeed:
		return bad("--seed %d is staa eval's test split: tune on another seed, so that the test split stays unseen", c.seed)
	}
	return c, nil
}

func joinFloats(x []float64) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

func joinThresholds(ts []staa.Threshold) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		switch t.Mode {
		case staa.ThresholdMeanStd:
			s[i] = fmt.Sprintf("meanstd:%v", t.K)
		case staa.ThresholdPercentile:
			s[i] = fmt.Sprintf("percentile:%v", t.P)
		default:
			s[i] = t.Mode.String()
		}
	}
	return strings.Join(s, ",")
}

func runTune(args []string, e *env) error {
	c, err := parseTune(args, e)
	if err != nil {
		return err
	}
	start := time.Now()
	ld, err := loadEval(c.model, c.threads, c.seed, c.n)
	if err != nil {
		return err
	}
	defer ld.sess.Close()
	g := ld.info.Geometry

	var bar *progress.Bar
	if c.progress || e.terminal {
		bar = progress.New(e.stderr, "tune", c.n*len(c.methods), "clips×methods")
	}
	rep, err := evaluation.Tune(ld.model, ld.samples, evaluation.TuneConfig{
		Grid: c.grid, Methods: c.methods, Geometry: g, Batch: c.batch, Guard: c.guard, Slack: c.slack,
		Progress: func() { bar.Add(1) },
	})
	bar.Finish()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	so := ld.synth
	var methods []string
	for _, m := range c.methods {
		methods = append(methods, m.String())
	}
	cmdline := fmt.Sprintf("staa tune --model %s --n %d --seed %d --methods %s --blur %s --gamma %s --thresholds %s --normalize %s --guard %g --slack %g --batch %d --out %s",
		ld.path, c.n, c.seed, strings.Join(methods, ","), c.blurList, c.gammaList, c.thList, c.normList, c.guard, c.slack, c.batch, c.out)
	meta := map[string]any{
		"model":       ld.path,
		"seed":        c.seed,
		"frames":      so.Frames,
		"height":      so.Height,
		"width":       so.Width,
		"patch_grid":  []int{g.Height, g.Width},
		"command":     cmdline,
		"go":          goruntime.Version(),
		"written_utc": time.Now().UTC().Format(time.RFC3339),
	}
	preamble := []string{
		fmt.Sprintf("Model `%s` (%d frames, a %d×%d patch grid), %d tuning clips generated by staa/synth at %d×%d (seed %d); %d settings, methods %s (mean head fusion, α %g).",
			filepath.Base(ld.path), g.Frames, g.Height, g.Width, rep.Clips, so.Width, so.Height, c.seed, len(rep.Rows), strings.Join(methods, ", "), staa.DefaultResidual),
		"",
		"    " + cmdline,
	}
	var files []string
	steps := []struct {
		name string
		f    func(*bytes.Buffer) error
	}{
		{fileTuneMD, func(b *bytes.Buffer) error { return rep.WriteMarkdown(b, "staa tune", preamble, staa.Optimized()) }},
		{fileTuneJSON, func(b *bytes.Buffer) error { return rep.WriteJSON(b, meta) }},
		{fileTunePNG, func(b *bytes.Buffer) error {
			pl, err := rep.TunePlot()
			if err != nil {
				return err
			}
			return evaluation.WritePNG(b, pl, tunePlotW, tunePlotH)
		}},
	}
	for _, s := range steps {
		var b bytes.Buffer
		if err := s.f(&b); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		p := filepath.Join(c.out, s.name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return err
		}
		files = append(files, p)
	}
	if !c.quiet {
		ch := rep.Rows[rep.Choice]
		fmt.Fprintf(e.stdout, "scored %d settings on %d clips in %.1fs (%d distinct tube orders of %d volumes)\n",
			len(rep.Rows), rep.Clips, time.Since(start).Seconds(), rep.Orders, rep.Explanations)
		for _, r := range []struct {
			name string
			row  evaluation.TuneRow
		}{{"raw", rep.Raw}, {"top", rep.Rows[rep.Top]}, {"choice", ch}} {
			fmt.Fprintf(e.stdout, "  %-7s pointing game %.3f  energy %.3f  SNR median %.3g  (%s)\n", r.name,
				r.row.Pooled[evaluation.Pointing].Mean, r.row.Pooled[evaluation.Energy].Mean, r.row.Pooled[evaluation.SNR].Median,
				evaluation.PostString(r.row.Post))
		}
		fmt.Fprintf(e.stdout, "choice: %s\nwrote %s\n", evaluation.PostJSON(ch.Post), strings.Join(files, ", "))
	}
	return nil
}
