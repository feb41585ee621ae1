package main

import (
	"encoding/json"
	"image"
	"image/gif"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/runtime"
)

// readReport parses explain.json strictly and checks that the documented
// fields are all there.
func readReport(t *testing.T, dir string) *Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, fileJSON))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", fileJSON, err)
	}
	for _, k := range []string{"staa_version", "model", "video", "options", "prediction", "top_k", "temporal_profile", "key_frames", "windows", "timings", "outputs"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s has no %q", fileJSON, k)
		}
	}
	var timings map[string]float64
	json.Unmarshal(raw["timings"], &timings)
	for _, k := range []string{"decode_ms", "forward_ms", "attribution_ms", "encode_ms", "window_median_ms", "window_p99_ms", "frames_per_second"} {
		if _, ok := timings[k]; !ok {
			t.Errorf("timings have no %q", k)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", fileJSON, err)
	}
	return &r
}

// checkOutputs validates every output of a run on a video of frames frames
// of w×h, explained by a model of modelFrames frames.
func checkOutputs(t *testing.T, tools *video.Tools, dir string, frames, w, h, modelFrames, stride int) *Report {
	t.Helper()
	r := readReport(t, dir)

	// The report.
	if r.Video.Frames != frames || r.Video.Width != w || r.Video.Height != h {
		t.Errorf("video %+v, want %d frames of %d×%d", r.Video, frames, w, h)
	}
	if len(r.TemporalProfile) != frames {
		t.Fatalf("temporal profile of %d values for %d frames", len(r.TemporalProfile), frames)
	}
	sum := 0.0
	for f, p := range r.TemporalProfile {
		if !(p >= 0) {
			t.Errorf("P[%d] = %v", f, p)
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("temporal profile sums to %.12f", sum)
	}
	if r.TemporalProfileSmoothed != nil {
		if len(r.TemporalProfileSmoothed) != frames {
			t.Errorf("smoothed profile of %d values", len(r.TemporalProfileSmoothed))
		}
		s := 0.0
		for _, p := range r.TemporalProfileSmoothed {
			s += p
		}
		if math.Abs(s-1) > 1e-9 {
			t.Errorf("smoothed profile sums to %v", s)
		}
	}
	wantWindows, _ := windowsFor(frames, modelFrames, stride)
	if len(r.Windows) != len(wantWindows) {
		t.Errorf("%d windows, want %d", len(r.Windows), len(wantWindows))
	}
	classes := len(r.Model.Classes)
	for i, win := range r.Windows {
		if win.Index != i || len(win.Frames) != modelFrames || len(win.TemporalProfile) != modelFrames {
			t.Errorf("window %d: %+v", i, win)
		}
		if len(win.TopK) != min(r.Options.TopK, classes) || win.TopK[0] != win.Prediction {
			t.Errorf("window %d: top-k %+v, prediction %+v", i, win.TopK, win.Prediction)
		}
		if !(win.LatencyMS > 0) {
			t.Errorf("window %d: latency %v", i, win.LatencyMS)
		}
	}
	if len(r.TopK) != min(r.Options.TopK, classes) || r.TopK[0] != r.Prediction {
		t.Errorf("top-k %+v, prediction %+v", r.TopK, r.Prediction)
	}
	for i := 1; i < len(r.TopK); i++ {
		if r.TopK[i].Probability > r.TopK[i-1].Probability {
			t.Errorf("top-k not sorted: %+v", r.TopK)
		}
	}
	if len(r.KeyFrames) == 0 || len(r.KeyFrames) > r.Options.KeyFrames {
		t.Errorf("key frames %v (at most %d)", r.KeyFrames, r.Options.KeyFrames)
	}
	for i, k := range r.KeyFrames {
		if k < 0 || k >= frames || i > 0 && k <= r.KeyFrames[i-1] {
			t.Errorf("key frames %v", r.KeyFrames)
		}
	}
	tm := r.Timings
	if !(tm.ForwardMS > 0 && tm.AttributionMS > 0 && tm.EncodeMS > 0 && tm.TotalMS > 0) {
		t.Errorf("timings %+v", tm)
	}
	if tm.WindowMedianMS > tm.WindowP99MS || tm.WindowP99MS > tm.WindowMaxMS {
		t.Errorf("latency median %v, p99 %v, max %v", tm.WindowMedianMS, tm.WindowP99MS, tm.WindowMaxMS)
	}
	o := r.Outputs
	if o.Frames != frames || o.Width%2 != 0 || o.Height%2 != 0 || o.Width < 2*w || o.Height < h {
		t.Errorf("outputs %+v for %d frames of %d×%d", o, frames, w, h)
	}

	// The MP4: ffprobe counts the frames it decodes.
	if tools != nil {
		if o.MP4 != fileMP4 {
			t.Fatalf("outputs.mp4 = %q", o.MP4)
		}
		mp4 := filepath.Join(dir, fileMP4)
		out, err := exec.Command(tools.FFprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=width,height,nb_read_frames,pix_fmt", "-of", "csv=p=0", mp4).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", mp4, err)
		}
		want := strconv.Itoa(o.Width) + "," + strconv.Itoa(o.Height) + ",yuv420p," + strconv.Itoa(frames)
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("ffprobe %s: %q, want width,height,pix_fmt,frames = %q", fileMP4, got, want)
		}
		v, err := tools.Decode(mp4, video.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Count != frames || v.Width != o.Width || v.Height != o.Height {
			t.Errorf("decoded %d frames of %d×%d", v.Count, v.Width, v.Height)
		}
	}

	// The GIF.
	if o.GIF != fileGIF {
		t.Fatalf("outputs.gif = %q", o.GIF)
	}
	f, err := os.Open(filepath.Join(dir, fileGIF))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(f)
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", fileGIF, err)
	}
	if len(g.Image) != frames || g.Config.Width != o.Width || g.Config.Height != o.Height {
		t.Errorf("GIF: %d frames of %d×%d, want %d of %d×%d", len(g.Image), g.Config.Width, g.Config.Height, frames, o.Width, o.Height)
	}
	for i, im := range g.Image {
		if im.Bounds() != image.Rect(0, 0, o.Width, o.Height) || g.Delay[i] < 2 {
			t.Errorf("GIF frame %d: %v, delay %d", i, im.Bounds(), g.Delay[i])
			break
		}
	}

	// The PNGs.
	for _, name := range []string{fileKeyFrames, fileProfile} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s is %v", name, b)
		}
	}
	return r
}

// meanRGB is the mean colour of the w×h region at (x0, y0) of an rgb24 frame
// of width stride.
func meanRGB(frame []byte, stride, x0, y0, w, h int) [3]float64 {
	var m [3]float64
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			for c := range 3 {
				m[c] += float64(frame[(y*stride+x)*3+c])
			}
		}
	}
	for c := range m {
		m[c] /= float64(w * h)
	}
	return m
}

func TestExplainEndToEnd(t *testing.T) {
	tools := requireFFmpeg(t)
	requireORT(t)
	const frames, w, h = 20, 64, 64
	for name, model := range models(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := runtime.Open(model, runtime.Options{})
			if err != nil {
				t.Fatal(err)
			}
			F := s.Geometry().Frames
			s.Close()
			clip := syntheticVideo(t, frames, w, h, 7, 2)
			mp4 := filepath.Join(dir, "clip.mp4")
			writeMP4(t, tools, mp4, clip, w, h, 10)
			out := filepath.Join(dir, "out")
			stride := max(1, F/2)
			r := run(t, nil, "explain", "--model", model, "--video", mp4, "--out", out, "--top-k", "2")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, want := range []string{"prediction: ", "windows (sliding, stride " + strconv.Itoa(stride), "wrote " + out} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("summary lacks %q:\n%s", want, r.stdout)
				}
			}
			if r.stderr != "" {
				t.Errorf("stderr without a terminal: %q", r.stderr)
			}
			rep := checkOutputs(t, &tools, out, frames, w, h, F, stride)
			if rep.Video.Source != "file" || rep.Video.Codec != "h264" || rep.Options.Sampling != "sliding" || rep.GroundTruth != nil {
				t.Errorf("video %+v, options %+v", rep.Video, rep.Options)
			}

			// The left panel of each output frame is the input frame: same
			// mean colour (up to compression) in its four quadrants.
			v, err := tools.Decode(filepath.Join(out, fileMP4), video.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			l := newLayout(w, h)
			for _, f := range []int{0, frames / 2, frames - 1} {
				for _, q := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					a := meanRGB(clip[f], w, q[0]*w/2, q[1]*h/2, w/2, h/2)
					b := meanRGB(v.Frame(f), v.Width, q[0]*l.panelW/2, q[1]*l.panelH/2, l.panelW/2, l.panelH/2)
					for c := range 3 {
						if math.Abs(a[c]-b[c]) > 6 {
							t.Errorf("frame %d quadrant %v: input mean %v, output %v", f, q, a, b)
						}
					}
				}
			}
		})
	}
}

// A video shorter than the model's window is sampled uniformly: one window
// repeating frames; odd frame sizes give even outputs; --method last,
// --postprocess raw and batches.
func TestExplainShortOddLast(t *testing.T) {
	tools := requireFFmpeg(t)
	requireORT(t)
	dir := t.TempDir()
	// 3 frames (the model takes 4) of 45×30, encoded padded to 46×30.
	clip := syntheticVideo(t, 3, 45, 30, 1, 0)
	mp4 := filepath.Join(dir, "short.mp4")
	writeMP4(t, tools, mp4, clip, 45, 30, 5)
	out := filepath.Join(dir, "out")
	r := run(t, nil, "explain", "--model", tinyModel, "--video", mp4, "--out", out, "--method", "last", "--postprocess", "raw", "-q")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d: %s%s", r.code, r.stderr, r.stdout)
	}
	rep := checkOutputs(t, &tools, out, 3, 46, 30, 4, 2)
	if rep.Options.Sampling != "uniform" || len(rep.Windows) != 1 {
		t.Fatalf("sampling %s, %d windows", rep.Options.Sampling, len(rep.Windows))
	}
	if got, want := rep.Windows[0].Frames, runtime.UniformIndices(3, 4); !equalInts(got, want) {
		t.Errorf("window frames %v, want %v", got, want)
	}
	if rep.Options.Method != "last" || rep.Options.Postprocess != "raw" {
		t.Errorf("options %+v", rep.Options)
	}

	// Batches of windows give the same explanation as one window a call.
	long := clipMP4(t, tools, dir, 14, 32, 32)
	var reps []*Report
	for _, batch := range []string{"1", "3"} {
		o := filepath.Join(dir, "b"+batch)
		if r := run(t, nil, "explain", "--model", tinyModel, "--video", long, "--out", o, "--batch", batch, "--stride", "3", "--gif=false", "--mp4=false", "-q"); r.code != 0 {
			t.Fatalf("--batch %s: %s", batch, r.stderr)
		}
		b, _ := os.ReadFile(filepath.Join(o, fileJSON))
		var rep Report
		json.Unmarshal(b, &rep)
		if rep.Outputs.MP4 != "" || rep.Outputs.GIF != "" {
			t.Errorf("--mp4=false --gif=false wrote %+v", rep.Outputs)
		}
		for _, n := range []string{fileMP4, fileGIF} {
			if _, err := os.Stat(filepath.Join(o, n)); err == nil {
				t.Errorf("%s written", n)
			}
		}
		reps = append(reps, &rep)
	}
	if len(reps[0].Windows) != 5 { // starts 0, 3, 6, 9 and 10 (ending on frame 13)
		t.Errorf("%d windows of stride 3 over 14 frames", len(reps[0].Windows))
	}
	for f := range reps[0].TemporalProfile {
		if d := math.Abs(reps[0].TemporalProfile[f] - reps[1].TemporalProfile[f]); d > 1e-6 {
			t.Errorf("frame %d: P %v with batch 1, %v with batch 3", f, reps[0].TemporalProfile[f], reps[1].TemporalProfile[f])
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// With no --video, a generated clip; its report compares the explanation
// with the ground truth. With no --model too (the main job) when the
// shipped model exists.
func TestExplainGenerated(t *testing.T) {
	tools := requireFFmpeg(t)
	requireORT(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny")
	r := run(t, nil, "explain", "--model", tinyModel, "--out", out, "--synth-frames", "12", "--seed", "5", "--index", "3")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "ground truth: ") {
		t.Errorf("summary lacks the ground truth:\n%s", r.stdout)
	}
	// The tiny model takes 32×32 frames; the clip is generated at that size.
	rep := checkOutputs(t, &tools, out, 12, 32, 32, 4, 2)
	gt := rep.GroundTruth
	if rep.Video.Source != "synth" || gt == nil || gt.Seed != 5 || gt.Index != 3 || len(gt.VisibleFrames) == 0 {
		t.Fatalf("video %+v, ground truth %+v", rep.Video, gt)
	}
	if !(gt.Energy >= 0 && gt.Energy <= 1 && gt.Pointing >= 0 && gt.Pointing <= 1 && gt.MaskArea > 0 && gt.TemporalMass > 0) {
		t.Errorf("ground truth metrics %+v", gt)
	}

	if _, err := os.Stat(shippedModel); err != nil {
		t.Logf("%s not built: the run without --model is not tested", ShippedModel)
		return
	}
	out = filepath.Join(dir, "main")
	r = run(t, nil, "explain", "--out", out)
	if r.code != 0 {
		t.Fatalf("the main job: exit %d: %s", r.code, r.stderr)
	}
	rep = readReport(t, out)
	checkOutputs(t, &tools, out, rep.Video.Frames, rep.Video.Width, rep.Video.Height, rep.Model.Frames, rep.Options.Stride)
	if !strings.HasSuffix(rep.Model.Path, ShippedModel) {
		t.Errorf("model %s, want the shipped one", rep.Model.Path)
	}
	// How the trained model does on the clip is for its own tests (one clip
	// proves little); logged for whoever reads the test output.
	gt = rep.GroundTruth
	t.Logf("shipped model on the default clip: predicted %s (%.2f), truth %s; P on visible frames %.2f; energy in mask %.2f (uniform %.2f); pointing %.2f",
		rep.Prediction.Label, rep.Prediction.Probability, gt.Class, gt.TemporalMass, gt.Energy, gt.MaskArea, gt.Pointing)
}

func TestProgressBar(t *testing.T) {
	requireFFmpeg(t)
	requireORT(t)
	dir := t.TempDir()
	r := run(t, nil, "explain", "--model", tinyModel, "--out", dir, "--synth-frames", "24", "--progress", "-q", "--mp4=false")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"\rexplain [", "11/11 windows", "\rrender  [", "24/24 frames", "/s"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %q", want, r.stderr)
		}
	}
	// Not a terminal and no --progress: no bar; a terminal: a bar, but only
	// for a phase that lasts (this one does not).
	for _, term := range []bool{false, true} {
		r = run(t, &env{terminal: term}, "explain", "--model", tinyModel, "--out", dir, "--synth-frames", "8", "-q", "--mp4=false", "--gif=false")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("terminal %v: exit %d, stderr %q", term, r.code, r.stderr)
		}
	}
}
