package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/staa-dev/staa/internal/evaluation"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/synth"
)

// writeAttrFile writes an attributions file of n clips of shape [F, h, w]
// for the split of seed, each volume k/size at flat position k (clip i
// scaled by i+1), and returns its path.
func writeAttrFile(t *testing.T, dir, name string, seed uint64, n, F, h, w int) string {
	t.Helper()
	x := &evaluation.External{Method: name + " (python)", Seed: seed, N: n}
	for i := range n {
		v := staa.NewVolume(F, h, w)
		for k := range v.Data {
			v.Data[k] = float32((i+1)*(k+1)) / float32(len(v.Data))
		}
		x.Volumes = append(x.Volumes, v)
		x.Seconds = append(x.Seconds, float64(10*(i+1)))
	}
	var b bytes.Buffer
	if err := evaluation.WriteAttributions(&b, x); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".arrow")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEvalAttributions adds two files' rows to the table (the fixture
// model: 4 frames, a 4×4 grid) and checks their times are the files'.
func TestEvalAttributions(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	shap := writeAttrFile(t, dir, "shap", 77, 2, 4, 4, 4)
	lime := writeAttrFile(t, dir, "lime", 77, 2, 4, 4, 4)
	out := filepath.Join(dir, "out")
	r := run(t, nil, "eval", "--model", tinyModel, "--n", "2", "--seed", "77", "--methods", "last-raw",
		"--attributions", "shap-py="+shap, "--attributions", "lime-py="+lime, "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, fileEvalMD))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evaluation.CheckTable(string(md), []string{"last-raw", "shap-py", "lime-py"}); err != nil {
		t.Fatalf("%v\n%s", err, md)
	}
	for _, want := range []string{"--attributions shap-py=" + shap, `staa.method "lime (python)"`, "staa synth --seed 77 --n 2 --frames 4 --height 32 --width 32"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("eval.md lacks %q:\n%s", want, md)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, fileEvalJSON))
	if err != nil {
		t.Fatal(err)
	}
	var js evaluation.JSONReport
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Methods) != 3 {
		t.Fatalf("%d methods", len(js.Methods))
	}
	for _, m := range js.Methods[1:] {
		if m.TimePerClip.Mean != 15 || m.Clips[0].Seconds != 10 || m.Clips[1].Seconds != 20 {
			t.Errorf("%s: times %v %v %v, want the file's 10 and 20", m.Method, m.TimePerClip.Mean, m.Clips[0].Seconds, m.Clips[1].Seconds)
		}
		for _, name := range evaluation.AllMetrics {
			if _, ok := m.Metrics[name]; !ok {
				t.Errorf("%s: no %s", m.Method, name)
			}
		}
	}
	if js.Methods[1].External != "shap (python)" {
		t.Errorf("attributions_method %q", js.Methods[1].External)
	}
}

func TestEvalAttributionsRefused(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		seed       uint64
		n, F, h, w int
		want       string
	}{
		{"seed", 78, 2, 4, 4, 4, "seed 78, this evaluation's is 77"},
		{"n", 77, 3, 4, 4, 4, "split of 3 clips, this evaluation has 2"},
		{"shape", 77, 2, 8, 4, 4, "shape [8 4 4], the model's volumes are [4 4 4]"},
	} {
		p := writeAttrFile(t, dir, tc.name, tc.seed, tc.n, tc.F, tc.h, tc.w)
		r := run(t, nil, "eval", "--model", tinyModel, "--n", "2", "--seed", "77", "--methods", "last-raw",
			"--attributions", "x="+p, "--out", filepath.Join(dir, "out"))
		wantFail(t, r, "--attributions x="+p, tc.want)
	}
	for _, tc := range []struct {
		arg, want string
	}{
		{"shap", "want NAME=FILE"},
		{"a b=f.arrow", "letters, digits"},
		{"lime=f.arrow", "built-in method"},
	} {
		r := run(t, nil, "eval", "--out", "x", "--attributions", tc.arg)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--attributions %q: exit %d, stderr %q, want %q", tc.arg, r.code, r.stderr, tc.want)
		}
	}
	r := run(t, nil, "eval", "--out", "x", "--attributions", "a=1.arrow", "--attributions", "a=2.arrow")
	if r.code != 2 || !strings.Contains(r.stderr, "given twice") {
		t.Errorf("repeated name: exit %d, %q", r.code, r.stderr)
	}
}

// TestEvalSplitIsSynth checks that the staa synth command eval documents
// for a model writes exactly the clips eval generates: the same pixels,
// labels, masks and visible frames, for the fixture model and, when built,
// the shipped one.
func TestEvalSplitIsSynth(t *testing.T) {
	requireORT(t)
	for name, model := range models(t) {
		t.Run(name, func(t *testing.T) {
			sess, err := runtime.Open(model, runtime.Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			const seed, n = 91, 3
			ld, err := loadSplit(sess, seed, n)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "split.arrow")
			args := strings.Fields(synthCommand(ld.synth, seed, n, path))
			if args[0] != "staa" {
				t.Fatalf("command %q", args)
			}
			if r := run(t, nil, append(args[1:], "-q")...); r.code != 0 {
				t.Fatalf("%q: exit %d\n%s", args, r.code, r.stderr)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sp, err := synth.Read(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ld.synth.GenerateSplit(seed, n)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Seed != seed || len(sp.Samples) != n || sp.Options != ld.synth {
				t.Fatalf("file: seed %d, %d samples, options %+v; eval: %+v", sp.Seed, len(sp.Samples), sp.Options, ld.synth)
			}
			info := sess.Info()
			if sp.Options.Frames != info.Geometry.Frames || sp.Options.Height != max(info.FrameHeight, minSynthSide) {
				t.Errorf("split of %d frames of %d, model %d frames of %d", sp.Options.Frames, sp.Options.Height, info.Geometry.Frames, info.FrameHeight)
			}
			for i, s := range sp.Samples {
				w := want[i]
				if s.Index != i || s.Label != w.Label || !bytes.Equal(s.Clip, w.Clip) || !bytes.Equal(s.Mask, w.Mask) || !slices.Equal(s.Visible, w.Visible) {
					t.Errorf("clip %d differs from eval's", i)
				}
				// and eval's samples are those clips
				e := ld.samples[i]
				if e.Index != i || e.Label != int(s.Label) || !bytes.Equal(e.Mask.Data, s.Mask) || !slices.Equal(e.Visible, s.Visible) {
					t.Errorf("eval's sample %d is not clip %d of the file", e.Index, i)
				}
			}
		})
	}
}

func TestEvalHelpDocumentsSynth(t *testing.T) {
	r := run(t, nil, "eval", "-h")
	for _, want := range []string{
		"staa synth --seed S --n N --frames F --height H --width W --out split.arrow",
		"staa synth --seed 4242 --n 50 --frames 8 --height 64 --width 64",
		"staa.method", "fixed_shape_tensor", "seconds", "--attributions",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("eval -h lacks %q", want)
		}
	}
}
