package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/staa-dev/staa/staa/synth"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.arrow")
	if err := run([]string{"-q", "-n", "9", "-seed", "4", "-frames", "6", "-size", "32", "-distractors", "1,2", "-decoy", "0", "-out", out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp, err := synth.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	o := sp.Options
	if len(sp.Samples) != 9 || sp.Seed != 4 || o.Frames != 6 || o.Height != 32 || o.Width != 32 ||
		o.MinDistractors != 1 || o.MaxDistractors != 2 || o.DecoyPermille != 0 {
		t.Fatalf("read back %d samples, seed %d, options %+v", len(sp.Samples), sp.Seed, o)
	}
	want, err := o.Generate(4, 8)
	if err != nil {
		t.Fatal(err)
	}
	if string(want.Clip) != string(sp.Samples[8].Clip) {
		t.Fatal("sample 8 differs from Generate")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-n", "3"}, // no -out
		{"-n", "0", "-out", filepath.Join(dir, "a.arrow")},
		{"-frames", "0", "-out", filepath.Join(dir, "b.arrow")},
		{"-distractors", "3", "-out", filepath.Join(dir, "c.arrow")},
		{"-visible", "5,2", "-out", filepath.Join(dir, "d.arrow")},
		{"-out", filepath.Join(dir, "missing", "e.arrow")},
		{"-out", filepath.Join(dir, "f.arrow"), "extra"},
	} {
		if err := run(append([]string{"-q"}, args...)); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
