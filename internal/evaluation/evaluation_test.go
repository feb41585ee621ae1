package evaluation

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
	"github.com/staa-dev/staa/staa/metrics/metricstest"
)

const (
	nF, nC, nH, nW = 4, 3, 16, 16 // clip
	gh, gw         = 4, 4         // patch grid
	classes        = 3
)

// inMask reports whether pixel (f, y, x) is in the target: the top-left
// 4×4 patch cell in frames 1 and 2.
func inMask(f, y, x int) bool { return (f == 1 || f == 2) && y < 4 && x < 4 }

// fixture returns a linear model whose class 0 looks only at the target's
// pixels, and n samples whose STAA explainer returns the target's cells
// (with a little noise elsewhere for the raw presets).
func fixture(n int) (metrics.Model, []Sample) {
	l := &metricstest.Linear{Bias: make([]float64, classes)}
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range classes {
		w := make([]float64, nF*nC*nH*nW)
		for k := range w {
			f, y, x := k/(nC*nH*nW), (k/nW)%nH, k%nW
			switch {
			case c == 0 && inMask(f, y, x):
				w[k] = 1
			case c != 0:
				w[k] = 0.001 * rng.Float64()
			}
		}
		l.Weights = append(l.Weights, w)
	}
	var out []Sample
	for i := range n {
		x := metricstest.RandomClip(nF, nC, nH, nW, 0.5, 1, uint64(i+1))
		m := metrics.Mask{Frames: nF, Height: nH, Width: nW, Data: make([]uint8, nF*nH*nW)}
		for f := range nF {
			for y := range nH {
				for xx := range nW {
					if inMask(f, y, xx) {
						m.Data[(f*nH+y)*nW+xx] = 1
					}
				}
			}
		}
		out = append(out, Sample{Index: i, Label: 0, Clip: x, Mask: m, Visible: m.Visible(),
			Explain: func(o staa.Options) (staa.Attribution, error) {
				v := staa.NewVolume(nF, gh, gw)
				for f := range nF {
					if f == 1 || f == 2 {
						v.Data[f*gh*gw] = 1
					}
					if o.Post.Gamma == 0 { // raw: some mass everywhere
						for k := range gh * gw {
							v.Data[f*gh*gw+k] += 0.01
						}
					}
				}
				return staa.Attribution{Volume: v, Spatial: v, Temporal: metrics.Profile(v)}, nil
			}})
	}
	return l, out
}

func run(t *testing.T, methods []string) *Report {
	t.Helper()
	m, samples := fixture(2)
	calls := 0
	rep, err := Run(m, samples, Config{Methods: methods, Geometry: staa.Geometry{Frames: nF, Height: gh, Width: gw},
		SHAPSegments: 4, LIMESamples: 60, Batch: 8, Seed: 3, Progress: func() { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(rep.Methods); calls != want {
		t.Errorf("progress called %d times, want %d", calls, want)
	}
	return rep
}

func TestRunScoresEveryMethod(t *testing.T) {
	rep := run(t, nil)
	if len(rep.Methods) != len(AllMethods) {
		t.Fatalf("%d methods, want %d", len(rep.Methods), len(AllMethods))
	}
	for _, m := range rep.Methods {
		if len(m.Clips) != 2 {
			t.Errorf("%s: %d clips", m.Method, len(m.Clips))
		}
		for _, name := range AllMetrics {
			if _, ok := m.Metrics[name]; !ok {
				t.Errorf("%s: no %s", m.Method, name)
			}
		}
		if !(m.Time.Mean > 0) {
			t.Errorf("%s: time %v", m.Method, m.Time.Mean)
		}
	}
	byName := map[string]MethodResult{}
	for _, m := range rep.Methods {
		byName[m.Method] = m
	}
	// The optimized fake is the mask exactly: perfect pointing, energy,
	// temporal AP, infinite SNR.
	opt := byName[LastOptimized]
	for _, name := range []string{Pointing, Energy, TemporalAP} {
		if got := opt.Metrics[name].Mean; math.Abs(got-1) > 1e-9 {
			t.Errorf("last-optimized %s = %v, want 1", name, got)
		}
	}
	if s := opt.Metrics[SNR]; s.Inf != 2 || !math.IsInf(s.Median, 1) {
		t.Errorf("last-optimized SNR %+v, want median +Inf, 2 infinite", s)
	}
	raw := byName[LastRaw]
	if s := raw.Metrics[SNR]; s.Inf != 0 || !(s.Median > 1) {
		t.Errorf("last-raw SNR %+v, want finite > 1", s)
	}
	if !(opt.Metrics[Energy].Mean > raw.Metrics[Energy].Mean) {
		t.Errorf("energy optimized %v ≤ raw %v", opt.Metrics[Energy].Mean, raw.Metrics[Energy].Mean)
	}
	// The model only looks at the target: SHAP's segments 1 and 2 carry
	// everything.
	if got := byName[SHAP].Metrics[TemporalAP].Mean; math.Abs(got-1) > 1e-9 {
		t.Errorf("shap temporal AP = %v, want 1", got)
	}
	if got := byName[LIME].Metrics[Pointing].Mean; got < 0.99 {
		t.Errorf("lime pointing game = %v, want 1", got)
	}
}

func TestOutputs(t *testing.T) {
	rep := run(t, []string{RolloutOptimized, SHAP})
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md, "eval", []string{"pre"}); err != nil {
		t.Fatal(err)
	}
	rows := checkTable(t, md.String(), []string{RolloutOptimized, SHAP})
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js, map[string]any{"seed": 3}); err != nil {
		t.Fatal(err)
	}
	var back JSONReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if len(back.Methods) != 2 || back.Methods[0].Metrics[SNR].Inf != 2 || !math.IsInf(float64(back.Methods[0].Metrics[SNR].Median), 1) {
		t.Errorf("JSON round trip: %+v", back.Methods)
	}
	for name, f := range map[string]func() error{
		"metrics": func() error {
			pl, err := rep.MetricsPlot()
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := WritePNG(&b, pl, 900, 500); err != nil {
				return err
			}
			_, err = png.Decode(&b)
			return err
		},
		"time": func() error {
			pl, err := rep.TimePlot()
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := WritePNG(&b, pl, 600, 400); err != nil {
				return err
			}
			_, err = png.Decode(&b)
			return err
		},
	} {
		if err := f(); err != nil {
			t.Errorf("%s plot: %v", name, err)
		}
	}
}

// CheckTable checks the Markdown table of md with CheckTable.
func checkTable(t *testing.T, md string, methods []string) [][]string {
	t.Helper()
	rows, err := CheckTable(md, methods)
	if err != nil {
		t.Fatalf("%v\n%s", err, md)
	}
	return rows
}

func TestSummarise(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	s := Summarise([]float64{1, 3, nan, inf, inf})
	if s.N != 2 || s.Mean != 2 || s.Std != 1 || s.Inf != 2 || !math.IsInf(s.Median, 1) {
		t.Errorf("%+v", s)
	}
	s = Summarise([]float64{1, 3, 5, inf})
	if s.Median != 4 || s.Inf != 1 {
		t.Errorf("%+v", s)
	}
	s = Summarise([]float64{nan})
	if !math.IsNaN(s.Mean) || !math.IsNaN(s.Median) || s.N != 0 {
		t.Errorf("%+v", s)
	}
}

func TestParseMethods(t *testing.T) {
	m, err := ParseMethods("")
	if err != nil || len(m) != len(AllMethods) {
		t.Errorf("%v %v", m, err)
	}
	if m, err = ParseMethods("shap, last-raw"); err != nil || len(m) != 2 || m[0] != SHAP {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"foo", "shap,shap", "shap,"} {
		if _, err := ParseMethods(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
