package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/staa-dev/staa/internal/evaluation"
)

// TestTuneFixture runs staa tune on 2 clips of the fixture model with a
// small grid, and checks its files.
func TestTuneFixture(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	r := run(t, nil, "tune", "--model", tinyModel, "--n", "2", "--seed", "77", "--blur", "0,1", "--gamma", "1,2",
		"--thresholds", "none,meanstd:0", "--normalize", "clip", "--batch", "8", "--progress", "--out", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"scored 8 settings on 2 clips", "raw", "choice: {", "tune.md"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "clips×methods") {
		t.Errorf("no progress bar: %q", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, fileTuneJSON))
	if err != nil {
		t.Fatal(err)
	}
	var js evaluation.JSONTune
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if js.Clips != 2 || len(js.Grid) != 8 || len(js.Methods) != 2 || js.Meta["seed"] != float64(77) {
		t.Errorf("tune.json: %d clips, %d settings, methods %v, meta %v", js.Clips, len(js.Grid), js.Methods, js.Meta)
	}
	if !js.Choice.Guard {
		t.Errorf("the choice %s fails the guard", js.Choice.Setting)
	}
	md, err := os.ReadFile(filepath.Join(dir, fileTuneMD))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "**Choice: "+js.Choice.Setting+"**") || !strings.Contains(string(md), "staa tune --model") {
		t.Errorf("tune.md lacks the choice or the command:\n%s", md)
	}
	if st, err := os.Stat(filepath.Join(dir, fileTunePNG)); err != nil || st.Size() == 0 {
		t.Errorf("tune.png: %v", err)
	}
}

func TestTuneUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tune", "--n", "2"}, "--out DIR is required"},
		{[]string{"tune", "--out", "x", "--seed", "4242"}, "staa eval's test split"},
		{[]string{"tune", "--out", "x", "--seed", "1010"}, "training split"},
		{[]string{"tune", "--out", "x", "--thresholds", "meanstd"}, "needs its level"},
		{[]string{"tune", "--out", "x", "--gamma", "1,x"}, "--gamma"},
		{[]string{"tune", "--out", "x", "--blur", "-1"}, "blur must be"},
		{[]string{"tune", "--out", "x", "--gamma", "1,1"}, "twice"},
		{[]string{"tune", "--out", "x", "--normalize", "max"}, "unknown normalize"},
		{[]string{"tune", "--out", "x", "--methods", "grad,grad"}, "twice"},
		{[]string{"tune", "--out", "x", "--guard", "0"}, "--guard 0"},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d, want 2", tc.args, r.code)
		}
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: stderr %q lacks %q", tc.args, r.stderr, tc.want)
		}
	}
	r := run(t, nil, "tune", "-h")
	if r.code != 0 || !strings.Contains(r.stderr, "the least aggressive") {
		t.Errorf("tune -h: exit %d\n%s", r.code, r.stderr)
	}
}
