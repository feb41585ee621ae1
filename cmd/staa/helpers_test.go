package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa/synth"
)

// The fixture model of the runtime package: a random-weights TimeSformer,
// 4 frames of 32×32, patches of 8 (a 4×4 grid), 5 classes.
var (
	tinyModel    = filepath.Join("..", "..", "runtime", "testdata", "tiny.onnx")
	noAttnModel  = filepath.Join("..", "..", "runtime", "testdata", "tiny_noattn.onnx")
	shippedModel = filepath.Join("..", "..", filepath.FromSlash(ShippedModel))
)

func inCI() bool { return os.Getenv("CI") != "" }

// requireFFmpeg returns ffmpeg and ffprobe, or skips the test; in CI their
// absence fails it.
func requireFFmpeg(t testing.TB) video.Tools {
	t.Helper()
	tools, err := video.Find(nil)
	if err != nil {
		if inCI() {
			t.Fatalf("CI is set and ffmpeg is missing (apt-get install ffmpeg): %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return tools
}

// requireORT loads ONNX Runtime or skips the test; in CI its absence fails
// it.
func requireORT(t testing.TB) {
	t.Helper()
	if _, err := runtime.LoadLibrary(""); err != nil {
		if inCI() {
			t.Fatalf("CI is set and the ONNX Runtime library is missing (make onnxruntime): %v", err)
		}
		t.Skipf("skipping: ONNX Runtime library not installed (make onnxruntime): %v", err)
	}
}

// models returns the models to test with: the fixture, the shipped model
// when it has been built, and $STAA_TEST_MODEL when set (any model exported
// like the shipped one).
func models(t testing.TB) map[string]string {
	m := map[string]string{"tiny": tinyModel}
	if _, err := os.Stat(shippedModel); err == nil {
		m["shipped"] = shippedModel
	} else {
		t.Logf("%s not built yet: testing with the fixture model only", ShippedModel)
	}
	if p := os.Getenv("STAA_TEST_MODEL"); p != "" {
		m["env"] = p
	}
	return m
}

// result is the outcome of one in-process run.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line in this process.
func run(t testing.TB, e *env, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if e == nil {
		e = &env{}
	}
	e.stdout, e.stderr = &out, &errb
	code := Main(args, e)
	return result{code, out.String(), errb.String()}
}

// wantFail checks that r failed with a message holding every part.
func wantFail(t *testing.T, r result, parts ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("succeeded, want a failure mentioning %q; stdout %s", parts, r.stdout)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr %q does not mention %q", r.stderr, p)
		}
	}
}

// syntheticVideo returns n frames of w×h made of generated clips (split
// seed, from clip index on), one after the other: clips of n frames when the
// generator accepts that length at that size, else of 8, 4, 2 or 1 frames
// (the generator bounds the length by the target's travel).
func syntheticVideo(t testing.TB, n, w, h int, seed uint64, index int) [][]byte {
	t.Helper()
	var o synth.Options
	for _, k := range []int{n, 8, 4, 2, 1} {
		if o = synth.NewOptions(k, h, w); o.Validate() == nil {
			break
		}
	}
	fb := w * h * 3
	var frames [][]byte
	for i := index; len(frames) < n; i++ {
		s, err := o.Generate(seed, i)
		if err != nil {
			t.Fatal(err)
		}
		for f := 0; f < o.Frames && len(frames) < n; f++ {
			frames = append(frames, s.Clip[f*fb:(f+1)*fb])
		}
	}
	return frames
}

// writeMP4 encodes frames of w×h into path at high quality.
func writeMP4(t testing.TB, tools video.Tools, path string, frames [][]byte, w, h int, fps float64) {
	t.Helper()
	enc, err := tools.NewEncoder(path, w, h, fps, video.EncodeOptions{Quality: mp4Quality})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := enc.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}

// clipMP4 writes a generated clip of n frames of w×h as an MP4.
func clipMP4(t testing.TB, tools video.Tools, dir string, n, w, h int) string {
	t.Helper()
	frames := syntheticVideo(t, n, w, h, 7, 2)
	path := filepath.Join(dir, "clip.mp4")
	writeMP4(t, tools, path, frames, w, h, 10)
	return path
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the staa command once (for the tests that need a separate
// process: another $PATH, no ONNX Runtime library). -trimpath keeps the
// source tree's path out of it, so it finds the shipped model only from its
// working directory.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "staa-cmd-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "staa")
		out, err := exec.Command("go", "build", "-trimpath", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" && binErr == nil {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
