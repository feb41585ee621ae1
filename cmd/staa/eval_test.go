package main

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/staa-dev/staa/internal/evaluation"
)

// TestEvalFixture runs staa eval on 2 clips with the fixture model and
// small baselines, and checks the table, the JSON and the charts.
func TestEvalFixture(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	r := run(t, nil, "eval", "--model", tinyModel, "--n", "2", "--seed", "77",
		"--shap-segments", "4", "--lime-samples", "50", "--batch", "8", "--out", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for _, m := range evaluation.AllMethods {
		if !strings.Contains(r.stdout, m) {
			t.Errorf("summary does not mention %s:\n%s", m, r.stdout)
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, fileEvalMD))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := evaluation.CheckTable(string(md), evaluation.AllMethods)
	if err != nil {
		t.Fatalf("%v\n%s", err, md)
	}
	if len(rows) != len(evaluation.AllMethods) {
		t.Errorf("%d rows", len(rows))
	}

	b, err := os.ReadFile(filepath.Join(dir, fileEvalJSON))
	if err != nil {
		t.Fatal(err)
	}
	var js evaluation.JSONReport
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatalf("eval.json: %v", err)
	}
	if js.Clips != 2 || js.SHAPSegments != 4 || js.LIMESamples != 50 || js.Batch != 8 || len(js.Methods) != len(evaluation.AllMethods) {
		t.Errorf("eval.json header: clips %d, segments %d, samples %d, batch %d, %d methods",
			js.Clips, js.SHAPSegments, js.LIMESamples, js.Batch, len(js.Methods))
	}
	for i, m := range js.Methods {
		if m.Method != evaluation.AllMethods[i] {
			t.Errorf("method %d is %q", i, m.Method)
		}
		if len(m.Clips) != 2 {
			t.Errorf("%s: %d clips", m.Method, len(m.Clips))
		}
		if !(m.TimePerClip.Mean > 0) {
			t.Errorf("%s: time per clip %v", m.Method, m.TimePerClip.Mean)
		}
		for _, name := range evaluation.AllMetrics {
			s, ok := m.Metrics[name]
			if !ok {
				t.Errorf("%s: no %s", m.Method, name)
				continue
			}
			if name == evaluation.SNR {
				if math.IsNaN(float64(s.Median)) {
					t.Errorf("%s: SNR median undefined", m.Method)
				}
				continue
			}
			// The fixture's clips have a visible target and explanations
			// with mass: every metric is defined on both clips.
			if s.N != 2 || math.IsNaN(float64(s.Mean)) {
				t.Errorf("%s %s: %+v, want defined on 2 clips", m.Method, name, s)
			}
		}
		for _, c := range m.Clips {
			if len(c.Metrics) != len(evaluation.AllMetrics) {
				t.Errorf("%s clip %d: %d metrics", m.Method, c.Clip, len(c.Metrics))
			}
		}
	}
	if f := js.Methods[0].Metrics[evaluation.Faithfulness].Mean; !(f >= 0 && f <= 1) {
		t.Errorf("faithfulness %v outside [0, 1]", f)
	}

	for _, name := range []string{fileMetricsPNG, fileTimePNG} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
			t.Errorf("%s is %v", name, b)
		}
	}
}

// TestEvalMethodsSubset runs only some methods and checks the table has
// those rows only.
func TestEvalMethodsSubset(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	r := run(t, nil, "eval", "--model", tinyModel, "--n", "1", "--methods", "rollout-optimized,shap",
		"--shap-segments", "2", "-q", "--out", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("-q printed %q", r.stdout)
	}
	md, err := os.ReadFile(filepath.Join(dir, fileEvalMD))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evaluation.CheckTable(string(md), []string{"rollout-optimized", "shap"}); err != nil {
		t.Fatalf("%v\n%s", err, md)
	}
}

func TestEvalUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--n", "2"}, "--out DIR is required"},
		{[]string{"eval", "--out", "x", "--methods", "gradcam"}, "unknown method"},
		{[]string{"eval", "--out", "x", "--n", "0"}, "--n 0"},
		{[]string{"eval", "--out", "x", "--seed", "1003"}, "training split"},
		{[]string{"eval", "--out", "x", "--seed", "3131"}, "staa tune chose the optimized preset on"},
		{[]string{"eval", "--out", "x", "--lime-samples", "1"}, "--lime-samples 1"},
		{[]string{"eval", "--out", "x", "--batch", "0"}, "--batch 0"},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d, want 2", tc.args, r.code)
		}
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: stderr %q lacks %q", tc.args, r.stderr, tc.want)
		}
	}
}

func TestEvalTooManySegments(t *testing.T) {
	requireORT(t)
	r := run(t, nil, "eval", "--model", tinyModel, "--n", "1", "--shap-segments", "8", "--out", t.TempDir())
	wantFail(t, r, "--shap-segments 8", "4 frames")
}

// TestEvalDefaultSegments checks that the default --shap-segments (8) is
// lowered to the fixture's 4 frames, and that --progress draws a bar.
func TestEvalDefaultSegments(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	r := run(t, nil, "eval", "--model", tinyModel, "--n", "1", "--methods", "shap", "--progress", "--out", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "explanations") {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, fileEvalJSON))
	if err != nil {
		t.Fatal(err)
	}
	var js evaluation.JSONReport
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if js.SHAPSegments != 4 {
		t.Errorf("SHAP segments %d, want the fixture's 4 frames", js.SHAPSegments)
	}
}
