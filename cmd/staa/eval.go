package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
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
	attributions             attrFlags
	// segmentsSet is whether --shap-segments was given: the default (8) is
	// lowered to the model's frames for shorter models, a given value is not.
	segmentsSet bool
}

func parseEval(args []string, e *env) (*evalConfig, error) {
	c := &evalConfig{}
	fs := newFlagSet("eval", "[--model M] [--n N] [--seed S] --out DIR [flags]", e)
	fs.StringVar(&c.model, "model", "", "the ONNX `model` to evaluate, exported with its attention outputs (default: the shipped "+ShippedModel+")")
	fs.IntVar(&c.n, "n", evalDefaultClip, "number of held-out clips")
	fs.Uint64Var(&c.seed, "seed", defaultEvalSeed, fmt.Sprintf("seed of the held-out staa/synth split (not a training seed, 1000 to 1999, nor staa tune's %d)", defaultTuneSeed))
	fs.StringVar(&c.out, "out", "", "output `directory` (required)")
	fs.StringVar(&c.methodList, "methods", strings.Join(evaluation.AllMethods, ","), "comma-separated `methods` to run")
	fs.IntVar(&c.shapSegments, "shap-segments", 8, "frame segments of temporal SHAP (2^S model calls per clip; at most the model's frames, to which the default is lowered)")
	fs.IntVar(&c.samples, "lime-samples", 1000, "perturbed samples of spatial LIME per clip")
	fs.IntVar(&c.batch, "batch", metrics.DefaultBatchSize, "perturbed clips per model call (SHAP, LIME and the metrics)")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime intra-op threads (default: one per core)")
	fs.BoolVar(&c.progress, "progress", false, "draw the progress bar even when stderr is not a terminal")
	fs.BoolVar(&c.quiet, "q", false, "print nothing on success")
	fs.Var(&c.attributions, "attributions", "add a row from `NAME=FILE`: the explanations in FILE, computed elsewhere, as the row NAME (see above; repeatable)")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, evalUsage)
		fs.PrintDefaults()
	}
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
	case c.seed == defaultTuneSeed:
		return bad("--seed %d is the split staa tune chose the optimized preset on: pick another, so that the test split is unseen", c.seed)
	}
	for _, a := range c.attributions {
		if slices.Contains(c.methods, a.name) || slices.Contains(evaluation.AllMethods, a.name) {
			return bad("--attributions %s: the name of a built-in method", a.name)
		}
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
	ld, err := loadEval(c.model, c.threads, c.seed, c.n)
	if err != nil {
		return nil, nil, err
	}
	defer ld.sess.Close()
	modelPath, info, g, so, h, w := ld.path, ld.info, ld.info.Geometry, ld.synth, ld.synth.Height, ld.synth.Width
	samples, model := ld.samples, ld.model
	if c.shapSegments > g.Frames && !c.segmentsSet {
		c.shapSegments = g.Frames
	}
	if c.shapSegments > g.Frames {
		return nil, nil, fmt.Errorf("--shap-segments %d: the model takes %d frames, so at most %d segments", c.shapSegments, g.Frames, g.Frames)
	}
	external, err := readAttributions(c.attributions, evaluation.AttributionSpec{
		Seed: c.seed, N: c.n, Frames: g.Frames, Height: g.Height, Width: g.Width})
	if err != nil {
		return nil, nil, err
	}

	var bar *progress.Bar
	if c.progress || e.terminal {
		bar = progress.New(e.stderr, "eval", c.n*(len(c.methods)+len(external)), "explanations")
	}
	rep, err := evaluation.Run(model, samples, evaluation.Config{
		Methods: c.methods, Geometry: g, SHAPSegments: c.shapSegments, LIMESamples: c.samples,
		Batch: c.batch, Seed: c.seed, External: external, Progress: func() { bar.Add(1) },
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
		"threads":     c.threads,
		"gomaxprocs":  goruntime.GOMAXPROCS(0),
		"synth":       synthCommand(so, c.seed, c.n, "split.arrow"),
		"written_utc": time.Now().UTC().Format(time.RFC3339),
	}
	var attrArgs string
	if len(external) > 0 {
		var files []map[string]string
		for i, x := range external {
			files = append(files, map[string]string{"name": x.Name, "file": c.attributions[i].path, "method": x.Method})
			attrArgs += " --attributions " + c.attributions[i].name + "=" + c.attributions[i].path
		}
		meta["attributions"] = files
	}
	preamble := []string{
		fmt.Sprintf("Model `%s` (%d frames of %d×%d, a %d×%d patch grid), %d held-out clips generated by staa/synth at %d×%d (seed %d).",
			filepath.Base(modelPath), g.Frames, info.FrameWidth, info.FrameHeight, g.Height, g.Width, rep.Clips, w, h, c.seed),
		fmt.Sprintf("SHAP: %d segments (%d coalitions); LIME: %d samples; %d clips per model call; ONNX Runtime intra-op threads %s; %s on %s/%s, %d CPUs, GOMAXPROCS %d.",
			rep.SHAPSegments, 1<<rep.SHAPSegments, rep.LIMESamples, rep.Batch, threadsString(c.threads), goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goruntime.GOMAXPROCS(0)),
		"",
		fmt.Sprintf("    staa eval --model %s --n %d --seed %d --methods %s --shap-segments %d --lime-samples %d --batch %d --threads %d%s --out %s",
			modelPath, c.n, c.seed, strings.Join(c.methods, ","), c.shapSegments, c.samples, c.batch, c.threads, attrArgs, c.out),
		"",
		"The clips, as a file (clip i of the split is row i):",
		"",
		"    " + synthCommand(so, c.seed, c.n, "split.arrow"),
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

func threadsString(n int) string {
	if n == 0 {
		return "default (one per core)"
	}
	return fmt.Sprint(n)
}

// loaded is a model session and a generated split, ready to evaluate.
type loaded struct {
	path    string
	sess    *runtime.Session
	info    runtime.ModelInfo
	model   *ortmodel.Model
	synth   synth.Options
	samples []evaluation.Sample
}

// evalSplitOptions returns the staa/synth options of the held-out split for
// a model: its frame count, and its frame size (at least minSynthSide).
func evalSplitOptions(info runtime.ModelInfo) synth.Options {
	h, w := max(info.FrameHeight, minSynthSide), max(info.FrameWidth, minSynthSide)
	return synth.NewOptions(info.Geometry.Frames, h, w)
}

// synthCommand is the staa synth command line that writes the split of seed
// and n that staa eval generates for a model whose split options are so.
func synthCommand(so synth.Options, seed uint64, n int, out string) string {
	return fmt.Sprintf("staa synth --seed %d --n %d --frames %d --height %d --width %d --out %s", seed, n, so.Frames, so.Height, so.Width, out)
}

// loadEval opens the model (the shipped one when modelPath is empty) and
// generates the split of seed and n at its frame count and size; each
// sample explains itself with one forward pass. The caller closes sess.
func loadEval(modelPath string, threads int, seed uint64, n int) (*loaded, error) {
	modelPath, err := modelOrShipped(modelPath)
	if err != nil {
		return nil, err
	}
	sess, err := runtime.Open(modelPath, runtime.Options{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return nil, err
	}
	ld, err := loadSplit(sess, seed, n)
	if err != nil {
		sess.Close()
		return nil, err
	}
	ld.path = modelPath
	return ld, nil
}

func loadSplit(sess *runtime.Session, seed uint64, n int) (*loaded, error) {
	info := sess.Info()
	model := ortmodel.New(sess)
	so := evalSplitOptions(info)
	h, w := so.Height, so.Width
	if err := so.Validate(); err != nil {
		return nil, fmt.Errorf("cannot generate clips of %d frames of %d×%d for this model: %w", so.Frames, w, h, err)
	}
	split, err := so.GenerateSplit(seed, n)
	if err != nil {
		return nil, err
	}
	samples := make([]evaluation.Sample, len(split))
	for i, s := range split {
		v := runtime.Video{Frames: so.Frames, Height: h, Width: w, Data: s.Clip}
		px, err := sess.Preprocess([]runtime.Video{v})
		if err != nil {
			return nil, err
		}
		x, err := model.Clip(v)
		if err != nil {
			return nil, err
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
		return nil, err
	}
	return &loaded{sess: sess, info: info, model: model, synth: so, samples: samples}, nil
}
