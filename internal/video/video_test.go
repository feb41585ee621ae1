package video

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireFFmpeg returns the tools or skips the test; with $CI set a missing
// ffmpeg fails it (CI installs the Debian package ffmpeg).
func requireFFmpeg(t *testing.T) Tools {
	t.Helper()
	tools, err := Find(nil)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and ffmpeg is missing: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return tools
}

// testFrames draws n frames of w×h: a gradient with a bright square that
// moves one pixel a frame.
func testFrames(n, w, h int) [][]byte {
	out := make([][]byte, n)
	for f := range out {
		img := make([]byte, w*h*3)
		for y := range h {
			for x := range w {
				p := (y*w + x) * 3
				img[p], img[p+1], img[p+2] = byte(x*255/w), byte(y*255/h), 96
				if x >= f && x < f+8 && y >= 4 && y < 12 {
					img[p], img[p+1], img[p+2] = 250, 250, 250
				}
			}
		}
		out[f] = img
	}
	return out
}

func encode(t *testing.T, tools Tools, path string, frames [][]byte, w, h int, opts EncodeOptions) *Encoder {
	t.Helper()
	enc, err := tools.NewEncoder(path, w, h, 10, opts)
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
	return enc
}

func meanAbsDiff(a, b []byte) float64 {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

func TestRoundTrip(t *testing.T) {
	tools := requireFFmpeg(t)
	dir := t.TempDir()
	for _, codec := range []string{"", "mpeg4"} {
		path := filepath.Join(dir, "rt"+codec+".mp4")
		frames := testFrames(12, 48, 32)
		enc := encode(t, tools, path, frames, 48, 32, EncodeOptions{Codec: codec})
		if codec == "" && tools.HasEncoder("libx264") && enc.Codec != "libx264" {
			t.Errorf("default codec %s with libx264 available", enc.Codec)
		}
		info, err := tools.Probe(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != 48 || info.Height != 32 || info.Frames != 12 || info.FPS != 10 {
			t.Errorf("%s: probe %+v", codec, info)
		}
		v, err := tools.Decode(path, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Count != 12 || v.Width != 48 || v.Height != 32 || len(v.Data) != 12*48*32*3 {
			t.Fatalf("%s: decoded %d frames of %d×%d (%d bytes)", codec, v.Count, v.Width, v.Height, len(v.Data))
		}
		for f := range frames {
			if d := meanAbsDiff(frames[f], v.Frame(f)); d > 6 {
				t.Errorf("%s: frame %d differs by %.1f grey levels on average", codec, f, d)
			}
		}
	}
}

func TestDecodeOptions(t *testing.T) {
	tools := requireFFmpeg(t)
	path := filepath.Join(t.TempDir(), "odd.mp4")
	// Odd sizes are padded to even for yuv420p.
	encode(t, tools, path, testFrames(9, 41, 23), 41, 23, EncodeOptions{})
	info, err := tools.Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 42 || info.Height != 24 {
		t.Errorf("odd frames encoded as %d×%d, want 42×24", info.Width, info.Height)
	}
	var seen int
	v, err := tools.Decode(path, DecodeOptions{MaxSide: 21, MaxFrames: 5, Progress: func(n int) { seen = n }})
	if err != nil {
		t.Fatal(err)
	}
	if v.Width != 21 || v.Height != 12 || v.Count != 5 || seen != 5 {
		t.Errorf("decoded %d frames of %d×%d (progress %d), want 5 of 21×12", v.Count, v.Width, v.Height, seen)
	}
	if w, h := OutputSize(1920, 1080, 480); w != 480 || h != 270 {
		t.Errorf("OutputSize(1920, 1080, 480) = %d×%d", w, h)
	}
	if w, h := OutputSize(100, 50, 0); w != 100 || h != 50 {
		t.Errorf("OutputSize without limit = %d×%d", w, h)
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestUnreadable(t *testing.T) {
	tools := requireFFmpeg(t)
	dir := t.TempDir()
	_, err := tools.Decode(filepath.Join(dir, "nope.mp4"), DecodeOptions{})
	wantErr(t, err, "video file not found", "nope.mp4")
	_, err = tools.Decode(dir, DecodeOptions{})
	wantErr(t, err, "is a directory")
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	_, err = tools.Decode(empty, DecodeOptions{})
	wantErr(t, err, "cannot read video", "empty")
	junk := filepath.Join(dir, "junk.mp4")
	os.WriteFile(junk, []byte(strings.Repeat("not a video at all\n", 50)), 0o644)
	_, err = tools.Decode(junk, DecodeOptions{})
	wantErr(t, err, "cannot read video", "junk.mp4", "ffprobe: ", "Invalid data")
	// An audio-only file.
	wav := filepath.Join(dir, "tone.wav")
	if out, err := exec.Command(tools.FFmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.2", wav).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, err = tools.Decode(wav, DecodeOptions{})
	wantErr(t, err, "tone.wav", "no video stream")
	// A truncated MP4 (its index at the front, the frames cut off).
	good := filepath.Join(dir, "good.mp4")
	encode(t, tools, good, testFrames(20, 64, 64), 64, 64, EncodeOptions{})
	b, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.mp4")
	os.WriteFile(cut, b[:len(b)*2/3], 0o644)
	if v, err := tools.Decode(cut, DecodeOptions{}); err == nil && v.Count >= 20 {
		t.Errorf("a truncated file decoded whole: %d frames", v.Count)
	}
}

func TestFindMissing(t *testing.T) {
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	_, err := Find(none)
	if !errors.Is(err, ErrNoFFmpeg) {
		t.Fatalf("err %v is not ErrNoFFmpeg", err)
	}
	wantErr(t, err, "ffmpeg and ffprobe", "Debian package ffmpeg", "apt-get install ffmpeg")
	onlyProbe := func(n string) (string, error) {
		if n == "ffprobe" {
			return "/usr/bin/ffprobe", nil
		}
		return "", exec.ErrNotFound
	}
	_, err = Find(onlyProbe)
	wantErr(t, err, "ffmpeg is not on $PATH")
}

// fakeTools returns tools whose ffmpeg is a shell script printing 100 bytes
// (not a whole 8×8 RGB frame) and whose ffprobe reports 8×8.
func fakeTools(t *testing.T) Tools {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	probe := filepath.Join(dir, "ffprobe")
	os.WriteFile(probe, []byte("#!/bin/sh\necho '{\"streams\":[{\"codec_type\":\"video\",\"width\":8,\"height\":8,\"avg_frame_rate\":\"5/1\"}],\"format\":{}}'\n"), 0o755)
	ff := filepath.Join(dir, "ffmpeg")
	os.WriteFile(ff, []byte("#!/bin/sh\nhead -c 100 /dev/zero\n"), 0o755)
	return Tools{FFmpeg: ff, FFprobe: probe}
}

func TestWrongFrameSize(t *testing.T) {
	tools := fakeTools(t)
	path := filepath.Join(t.TempDir(), "x.mp4")
	os.WriteFile(path, []byte("x"), 0o644)
	_, err := tools.Decode(path, DecodeOptions{})
	wantErr(t, err, "wrong frame size", "100 bytes into frame 1", "8×8")
}

func TestEncoderErrors(t *testing.T) {
	tools := requireFFmpeg(t)
	dir := t.TempDir()
	_, err := tools.NewEncoder(filepath.Join(dir, "a.mp4"), 0, 8, 10, EncodeOptions{})
	wantErr(t, err, "must be positive")
	_, err = tools.NewEncoder(filepath.Join(dir, "a.mp4"), 8, 8, 10, EncodeOptions{Codec: "vp9"})
	wantErr(t, err, "unsupported codec")
	enc, err := tools.NewEncoder(filepath.Join(dir, "a.mp4"), 8, 8, 10, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, enc.WriteFrame(make([]byte, 10)), "frame of 10 bytes, want 8×8×3 = 192")
	wantErr(t, enc.Close(), "no frames written")
	// An unwritable destination: ffmpeg fails and says why.
	enc, err = tools.NewEncoder(filepath.Join(dir, "no", "such", "dir.mp4"), 8, 8, 10, EncodeOptions{})
	if err == nil {
		var werr error
		for range 50 {
			if werr = enc.WriteFrame(make([]byte, 192)); werr != nil {
				break
			}
		}
		if werr == nil {
			werr = enc.Close()
		}
		wantErr(t, werr, "dir.mp4")
	}
}
