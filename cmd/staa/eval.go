package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/staa-dev/staa/internal/evaluation"
	"github.com/staa-dev/staa/internal/progress"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/ortmodel"
	"github.com/staa-dev/staa/staa/synth"
)

// The seeds of the shipped model's training splits (scripts/model/common.py:
// epoch e trains on TRAIN_SEED + e): an evaluation split must not use them.
const (
	trainSeed       = 1000
	trainSeedEpochs = 1000
	// defaultEvalSeed is the held-out split of staa eval: used neither for
	// training (1000 + e), nor for validation (900), nor by
	// check_accuracy.py (20240).
	defaultEvalSeed = 4242
)

// Output files of staa eval.
const (
	fileEvalMD      = "eval.md"
	fileEvalJSON    = "eval.json"
	fileMetricsPNG  = "metrics.png"
	fileTimePNG     = "time.png"
	evalPlotW       = 1100
	evalPlotH       = 550
	evalTimePlotW   = 800
	evalTimePlotH   = 500
	minSynthSide    = 16
	evalDefaultClip = 50
)

// evalConfig is the parsed command line of staa eval.
type evalConfig struct {
	model, out, methodList   string
	methods                  []string
	n, shapSegments, samples int
	batch, threads           int
	seed                     uint64
	progress, quiet          bool
	// segmentsSet is whether --shap-segments was given: the default (8) is
	// lowered to the model's frames for shorter models, a given value is not.
	segmentsSet bool
}

func parseEval(args []string, e *env) (*evalConfig, error) {
	c := &evalConfig{}
	fs := newFlagSet("eval", "[--model M] [--n N] [--seed S] --out DIR [flags]", e)
	fs.StringVar(&c.model, "model", "", "the ONNX `model` to evaluate, exported with its attention outputs (default: the shipped "+ShippedModel+")")
	fs.IntVar(&c.n, "n", evalDefaultClip, "number of held-out clips")
	fs.Uint64Var(&c.seed, "seed", defaultEvalSeed, "seed of the held-out staa/synth split (not a training seed, 1000 to 1999)")
	fs.StringVar(&c.out, "out", "", "output `directory` (required)")
	fs.StringVar(&c.methodList, "methods", strings.Join(evaluation.AllMethods, ","), "comma-separated `methods` to run")
	fs.IntVar(&c.shapSegments, "shap-segments", 8, "frame segments of temporal SHAP (2^S model calls per clip; at most the model's frames, to which the default is lowered)")
	fs.IntVar(&c.samples, "lime-samples", 1000, "perturbed samples of spatial LIME per clip")
	fs.IntVar(&c.batch, "batch", metrics.DefaultBatchSize, "perturbed clips per model call (SHAP, LIME and the metrics)")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime intra-op threads (default: one per core)")
	fs.BoolVar(&c.progress, "progress", false, "draw the progress bar even when stderr is not a terminal")
	fs.BoolVar(&c.quiet, "q", false, "print nothing on success")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.segmentsSet = c.segmentsSet || f.Name == "shap-segments" })
	bad := func(format string, a ...any) (*evalConfig, error) {
		fmt.Fprintf(e.stderr, format+"\n", a...)
		fs.Usage()
		return nil, errUsage
	}
	var err error
	if c.methods, err = evaluation.ParseMethods(c.methodList); err != nil {
		return bad("--methods: %v", err)
	}
	switch {
	case c.out == "":
		return bad("--out DIR is required")
	case c.n < 1:
		return bad("--n %d: want at least 1 clip", c.n)
	case c.shapSegments < 1:
		return bad("--shap-segments %d: want at least 1", c.shapSegments)
	case c.samples < 2:
		return bad("--lime-samples %d: want at least 2", c.samples)
	case c.batch < 1:
		return bad("--batch %d: want at least 1", c.batch)
	case c.threads < 0:
		return bad("--threads %d: want 0 (default) or more", c.threads)
	case c.seed >= trainSeed && c.seed < trainSeed+trainSeedEpochs:
		return bad("--seed %d is a training split of the shipped model (seeds %d to %d): pick a held-out seed", c.seed, trainSeed, trainSeed+trainSeedEpochs-1)
	}
	return c, nil
}

func runEval(args []string, e *env) error {
	c, err := parseEval(args, e)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, files, err := evaluate(c, e)
	if err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(e.stdout, "evaluated %d methods on %d clips in %.1fs:\n", len(rep.Methods), rep.Clips, time.Since(start).Seconds())
		for _, m := range rep.Methods {
			fmt.Fprintf(e.stdout, "  %-18s %8.4fs per clip  faithfulness %.3f  pointing game %.3f  SNR median %.3g (%d +Inf)\n",
				m.Method, m.Time.Mean, m.Metrics[evaluation.Faithfulness].Mean, m.Metrics[evaluation.Pointing].Mean,
				m.Metrics[evaluation.SNR].Median, m.Metrics[evaluation.SNR].Inf)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", strings.Join(files, ", "))
	}
	return nil
}

// evaluate runs the evaluation and writes its files; it returns the report
// and the files written.
func evaluate(c *evalConfig, e *env) (*evaluation.Report, []string, error) {
	modelPath := c.model
	if modelPath == "" {
		p, searched := findShippedModel()
		if p == "" {
			return nil, nil, fmt.Errorf("no --model given, and the shipped model %s is not there (looked for %s): build it with `make model`, or pass --model path/to/model.onnx",
				ShippedModel, strings.Join(searched, ", "))
		}
		modelPath = p
	}
	sess, err := runtime.Open(modelPath, runtime.Options{IntraOpThreads: c.threads, InterOpThreads: 1})
	if err != nil {
		return nil, nil, err
	}
	defer sess.Close()
	info := sess.Info()
	g := info.Geometry
	if c.shapSegments > g.Frames && !c.segmentsSet {
		c.shapSegments = g.Frames
	}
	if c.shapSegments > g.Frames {
		return nil, nil, fmt.Errorf("--shap-segments %d: the model takes %d frames, so at most %d segments", c.shapSegments, g.Frames, g.Frames)
	}
	model := ortmodel.New(sess)

	// The held-out split, at the model's frame count and frame size.
	h, w := max(info.FrameHeight, minSynthSide), max(info.FrameWidth, minSynthSide)
	so := synth.NewOptions(g.Frames, h, w)
	if err := so.Validate(); err != nil {
		return nil, nil, fmt.Errorf("cannot generate clips of %d frames of %d×%d for this model: %w", g.Frames, w, h, err)
	}
	split, err := so.GenerateSplit(c.seed, c.n)
	if err != nil {
		return nil, nil, err
	}
	samples := make([]evaluation.Sample, len(split))
	for i, s := range split {
		v := runtime.Video{Frames: so.Frames, Height: h, Width: w, Data: s.Clip}
		px, err := sess.Preprocess([]runtime.Video{v})
		if err != nil {
			return nil, nil, err
		}
		x, err := model.Clip(v)
		if err != nil {
			return nil, nil, err
		}
		samples[i] = evaluation.Sample{
			Index: s.Index, Label: int(s.Label), Clip: x,
			Mask:    metrics.Mask{Frames: so.Frames, Height: h, Width: w, Data: s.Mask},
			Visible: s.Visible,
			Explain: func(o staa.Options) (staa.Attribution, error) {
				res, err := sess.ExplainPixels(px, 1, o)
				if err != nil {
					return staa.Attribution{}, err
				}
				return res.Clips[0].Attribution, nil
			},
		}
	}

	// One untimed forward pass with the attention, so that the first
	// timed explanation does not pay ONNX Runtime's warm-up.
	if _, err := samples[0].Explain(staa.DefaultOptions()); err != nil {
		return nil, nil, err
	}

	var bar *progress.Bar
	if c.progress || e.terminal {
		bar = progress.New(e.stderr, "eval", c.n*len(c.methods), "explanations")
	}
	rep, err := evaluation.Run(model, samples, evaluation.Config{
		Methods: c.methods, Geometry: g, SHAPSegments: c.shapSegments, LIMESamples: c.samples,
		Batch: c.batch, Seed: c.seed, Progress: func() { bar.Add(1) },
	})
	bar.Finish()
	if err != nil {
		return nil, nil, err
	}

	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return nil, nil, err
	}
	meta := map[string]any{
		"model":       modelPath,
		"seed":        c.seed,
		"frames":      so.Frames,
		"height":      h,
		"width":       w,
		"patch_grid":  []int{g.Height, g.Width},
		"tubelet":     max(g.Tubelet, 1),
		"classes":     info.Classes,
		"go":          goruntime.Version(),
		"os_arch":     goruntime.GOOS + "/" + goruntime.GOARCH,
		"cpus":        goruntime.NumCPU(),
		"methods":     c.methods,
		"written_utc": time.Now().UTC().Format(time.RFC3339),
	}
	preamble := []string{
		fmt.Sprintf("Model `%s` (%d frames of %d×%d, a %d×%d patch grid), %d held-out clips generated by staa/synth at %d×%d (seed %d).",
			filepath.Base(modelPath), g.Frames, info.FrameWidth, info.FrameHeight, g.Height, g.Width, rep.Clips, w, h, c.seed),
		fmt.Sprintf("SHAP: %d segments (%d coalitions); LIME: %d samples; %d clips per model call; %s on %s/%s, %d CPUs.",
			rep.SHAPSegments, 1<<rep.SHAPSegments, rep.LIMESamples, rep.Batch, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU()),
		"",
		fmt.Sprintf("    staa eval --model %s --n %d --seed %d --methods %s --shap-segments %d --lime-samples %d --batch %d --out %s",
			modelPath, c.n, c.seed, strings.Join(c.methods, ","), c.shapSegments, c.samples, c.batch, c.out),
	}
	var files []string
	write := func(name string, f func(*bytes.Buffer) error) error {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p := filepath.Join(c.out, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	steps := []struct {
		name string
		f    func(*bytes.Buffer) error
	}{
		{fileEvalMD, func(b *bytes.Buffer) error { return rep.WriteMarkdown(b, "staa eval", preamble) }},
		{fileEvalJSON, func(b *bytes.Buffer) error { return rep.WriteJSON(b, meta) }},
		{fileMetricsPNG, func(b *bytes.Buffer) error {
			pl, err := rep.MetricsPlot()
			if err != nil {
				return err
			}
			return evaluation.WritePNG(b, pl, evalPlotW, evalPlotH)
		}},
		{fileTimePNG, func(b *bytes.Buffer) error {
			pl, err := rep.TimePlot()
			if err != nil {
				return err
			}
			return evaluation.WritePNG(b, pl, evalTimePlotW, evalTimePlotH)
		}},
	}
	for _, s := range steps {
		if err := write(s.name, s.f); err != nil {
			return nil, nil, err
		}
	}
	return rep, files, nil
}
