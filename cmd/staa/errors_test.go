package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainModelErrors(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := func(model string) []string {
		return []string{"explain", "--model", model, "--out", out, "--mp4=false", "--synth-frames", "8"}
	}
	wantFail(t, run(t, nil, args(filepath.Join(dir, "nope.onnx"))...), "staa explain: ", "model file not found", "nope.onnx")

	corrupt := filepath.Join(dir, "corrupt.onnx")
	junk := bytes.Repeat([]byte{0xff, 0x13, 0x80, 0x01}, 1000)
	os.WriteFile(corrupt, junk, 0o644)
	wantFail(t, run(t, nil, args(corrupt)...), "corrupt.onnx", "not a valid ONNX file")

	wantFail(t, run(t, nil, args(noAttnModel)...), "has no attention outputs", "export_onnx.py")

	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run created the output directory")
	}
}

func TestExplainVideoErrors(t *testing.T) {
	tools := requireFFmpeg(t)
	requireORT(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	explainVideo := func(path string) result {
		return run(t, nil, "explain", "--model", tinyModel, "--video", path, "--out", out)
	}
	wantFail(t, explainVideo(filepath.Join(dir, "missing.mp4")), "video file not found", "missing.mp4")
	junk := filepath.Join(dir, "junk.mp4")
	os.WriteFile(junk, bytes.Repeat([]byte("not a video\n"), 100), 0o644)
	wantFail(t, explainVideo(junk), "cannot read video", "junk.mp4", "Invalid data")
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	wantFail(t, explainVideo(empty), "cannot read video", "empty")
	wantFail(t, explainVideo(dir), "is a directory")

	// Frames smaller than one of the model's 8×8 patches.
	frames := syntheticVideo(t, 4, 16, 16, 1, 0)
	small := make([][]byte, len(frames))
	for i, f := range frames {
		small[i] = f[:6*6*3]
	}
	tiny := filepath.Join(dir, "6x6.mp4")
	writeMP4(t, tools, tiny, small, 6, 6, 5)
	wantFail(t, explainVideo(tiny), "wrong frame size", "6×6", "8×8")

	// An ffmpeg whose stream does not hold whole frames of the probed size.
	fake := t.TempDir()
	os.WriteFile(filepath.Join(fake, "ffprobe"), []byte("#!/bin/sh\necho '{\"streams\":[{\"codec_type\":\"video\",\"width\":32,\"height\":32}],\"format\":{}}'\n"), 0o755)
	os.WriteFile(filepath.Join(fake, "ffmpeg"), []byte("#!/bin/sh\nhead -c 5000 /dev/zero\n"), 0o755)
	look := func(name string) (string, error) { return filepath.Join(fake, name), nil }
	wantFail(t, run(t, &env{lookPath: look}, "explain", "--model", tinyModel, "--video", junk, "--out", out),
		"wrong frame size", "1928 bytes into frame 2", "32×32")
}

func TestExplainNoFFmpeg(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	e := func() *env { return &env{lookPath: none} }
	wantFail(t, run(t, e(), "explain", "--model", tinyModel, "--video", "clip.mp4", "--out", dir),
		"ffmpeg and ffprobe are not on $PATH", "install the Debian package ffmpeg", "apt-get install ffmpeg")
	// A generated clip needs ffmpeg for the MP4 only.
	wantFail(t, run(t, e(), "explain", "--model", tinyModel, "--out", dir), "Debian package ffmpeg", "--mp4=false")
	if r := run(t, e(), "explain", "--model", tinyModel, "--out", dir, "--mp4=false", "-q", "--synth-frames", "8"); r.code != 0 {
		t.Errorf("--mp4=false without ffmpeg: %s", r.stderr)
	}
	wantFail(t, run(t, e(), "synth", "--n", "1", "--mp4", dir), "Debian package ffmpeg")
}

// The real thing: a separate process whose $PATH is an empty directory.
func TestNoFFmpegOnPath(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "explain", "--model", tinyModel, "--video", "clip.mp4", "--out", t.TempDir())
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, output %s", err, out)
	}
	for _, want := range []string{"staa explain: ffmpeg not found", "install the Debian package ffmpeg"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

// A separate process that cannot find the ONNX Runtime library.
func TestNoONNXRuntime(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "explain", "--model", tinyModel, "--out", t.TempDir(), "--mp4=false")
	cmd.Env = append(os.Environ(), "STAA_ONNXRUNTIME_LIB="+filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, output %s", err, out)
	}
	for _, want := range []string{"ONNX Runtime library unavailable", "STAA_ONNXRUNTIME_LIB", "install_onnxruntime.sh"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

// Without --model, the shipped model; when it is not there (in a
// directory outside the module, with a binary that does not know the source
// tree), an error that says how to get it.
func TestNoShippedModel(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "explain", "--out", filepath.Join(dir, "out"), "--mp4=false")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, output %s", err, out)
	}
	for _, want := range []string{"no --model given", ShippedModel, "make model", "--model path/to/model.onnx"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

func TestExplainFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args  []string
		code  int
		parts []string
	}{
		{[]string{"--method", "grad"}, 1, []string{"--method grad needs the gradients", "rollout or last"}},
		{[]string{"--method", "magic"}, 2, []string{`--method "magic": want rollout or last`, "Usage: staa explain"}},
		{[]string{"--postprocess", "best"}, 2, []string{`--postprocess "best"`}},
		{[]string{"--top-k", "0"}, 2, []string{"--top-k 0"}},
		{[]string{"--alpha", "2"}, 2, []string{"--alpha 2"}},
		{[]string{"--bogus"}, 2, []string{"flag provided but not defined: -bogus"}},
		{[]string{"extra"}, 2, []string{`unexpected arguments ["extra"]`}},
	} {
		r := run(t, nil, append([]string{"explain", "--out", dir}, c.args...)...)
		if r.code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, r.code, c.code, r.stderr)
		}
		for _, p := range c.parts {
			if !strings.Contains(r.stderr, p) {
				t.Errorf("%v: stderr %q lacks %q", c.args, r.stderr, p)
			}
		}
	}
	if r := run(t, nil, "explain"); r.code != 2 || !strings.Contains(r.stderr, "--out DIR is required") {
		t.Errorf("no --out: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "explain", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-postprocess") {
		t.Errorf("-h: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil); r.code != 2 || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("no command: %d %q", r.code, r.stderr)
	}
	requireORT(t)
	wantFail(t, run(t, nil, "explain", "--model", tinyModel, "--out", dir, "--stride", "9", "--mp4=false"),
		"--stride 9 is larger than the model's 4 frames")
}
