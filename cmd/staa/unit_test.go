package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/synth"
)

// win builds a window result over frames with one 1×2 map per position
// (maps[p]) and weights p.
func win(frames []int, maps [][2]float32, p []float32) windowResult {
	v := staa.NewVolume(len(frames), 1, 2)
	for i, m := range maps {
		copy(v.Frame(i), m[:])
	}
	return windowResult{frames: frames, spatial: v, temporal: p, probs: []float32{0.5, 0.5}}
}

func TestCombineWindows(t *testing.T) {
	// Two windows of two frames over three frames: frame 1 is in both.
	ws := []windowResult{
		win([]int{0, 1}, [][2]float32{{2, 0}, {0, 4}}, []float32{0.25, 0.75}), // max 4: maps /4
		win([]int{1, 2}, [][2]float32{{1, 1}, {0, 1}}, []float32{0.5, 0.5}),   // max 1
	}
	ws[0].probs, ws[1].probs = []float32{0.9, 0.1}, []float32{0.3, 0.7}
	c := combineWindows(3, ws, 0.3, []string{"a", "b"})
	// Frame 1: EMA of (0, 1) then (1, 1): 0.3·x2 + 0.7·x1.
	want := []float32{0.5, 0, 0.3, 1, 0, 1}
	for i, v := range c.maps.Data {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Fatalf("maps %v, want %v", c.maps.Data, want)
		}
	}
	// Weights: frame 0 0.25, frame 1 0.3·0.5 + 0.7·0.75 = 0.675, frame 2 0.5.
	p := []float64{0.25, 0.675, 0.5}
	s := p[0] + p[1] + p[2]
	for f := range p {
		if math.Abs(c.profile[f]-p[f]/s) > 1e-6 {
			t.Fatalf("profile %v, want %v/%v", c.profile, p, s)
		}
	}
	if c.ranking[0].Name != "a" || math.Abs(c.probs[0]-0.6) > 1e-6 || math.Abs(c.probs[1]-0.4) > 1e-6 {
		t.Errorf("mean probabilities %v, ranking %+v", c.probs, c.ranking)
	}

	// Uniform sampling repeats frames: their maps average, their weights add.
	u := combineWindows(2, []windowResult{win([]int{0, 0, 1}, [][2]float32{{1, 0}, {0, 1}, {1, 1}}, []float32{0.2, 0.3, 0.5})}, 0.3, nil)
	if u.maps.Data[0] != 0.5 || u.maps.Data[1] != 0.5 || math.Abs(u.profile[0]-0.5) > 1e-6 {
		t.Errorf("repeated frames: maps %v, profile %v", u.maps.Data, u.profile)
	}
}

func TestSmoothAndKeyFrames(t *testing.T) {
	c := combined{profile: make([]float64, 40)}
	for i := range c.profile {
		c.profile[i] = 1 + math.Exp(-float64((i-10)*(i-10))/8) + 2*math.Exp(-float64((i-30)*(i-30))/8)
	}
	if err := c.smoothProfile(8); err != nil {
		t.Fatal(err)
	}
	if c.smoothed == nil || c.sgWindow != 9 || c.sgOrder != 2 {
		t.Fatalf("40 frames, model of 8: smoothed %v, window %d", c.smoothed != nil, c.sgWindow)
	}
	s := 0.0
	for _, v := range c.smoothed {
		s += v
	}
	if math.Abs(s-1) > 1e-12 {
		t.Errorf("smoothed sums to %v", s)
	}
	c.pickKeyFrames(2, 4)
	if len(c.keyFrames) != 2 || c.keyFrames[0] != 10 || c.keyFrames[1] != 30 {
		t.Errorf("key frames %v, want [10 30]", c.keyFrames)
	}
	short := combined{profile: []float64{0.25, 0.25, 0.25, 0.25}}
	short.smoothProfile(8)
	short.pickKeyFrames(3, 1)
	if short.smoothed != nil || len(short.keyFrames) != 1 {
		t.Errorf("short constant profile: smoothed %v, key frames %v", short.smoothed, short.keyFrames)
	}
}

func TestWindowsFor(t *testing.T) {
	w, s := windowsFor(3, 8, 4)
	if s != "uniform" || len(w) != 1 || !equalInts(w[0], runtime.UniformIndices(3, 8)) {
		t.Errorf("short video: %v %s", w, s)
	}
	w, s = windowsFor(300, 8, 4)
	if s != "sliding" || len(w) != 74 || w[73][7] != 299 {
		t.Errorf("300 frames: %d windows, last %v", len(w), w[len(w)-1])
	}
}

func TestLatencyStats(t *testing.T) {
	var ws []windowResult
	for i := 1; i <= 200; i++ {
		ws = append(ws, windowResult{latency: time.Duration(i) * time.Millisecond})
	}
	med, p99, worst := latencyStats(ws)
	if med != 100500*time.Microsecond || p99 != 198*time.Millisecond || worst != 200*time.Millisecond {
		t.Errorf("median %v, p99 %v, max %v", med, p99, worst)
	}
}

func TestLayoutIsEven(t *testing.T) {
	for _, s := range [][2]int{{64, 64}, {32, 32}, {45, 30}, {480, 270}, {7, 5}, {1000, 3}, {641, 479}} {
		l := newLayout(s[0], s[1])
		if l.outW%2 != 0 || l.outH%2 != 0 || l.panelW != s[0]*l.scale || l.outW != 2*l.panelW+l.gap || l.outH != l.panelH+l.stripH {
			t.Errorf("%v: %+v", s, l)
		}
		if l.scale > 1 && max(l.panelW, l.panelH) > maxPanelSide {
			t.Errorf("%v: panel %d×%d", s, l.panelW, l.panelH)
		}
	}
	if l := newLayout(64, 64); l.scale != 4 || l.panelW != 256 {
		t.Errorf("64×64: %+v", l)
	}
}

// Version follows the C library's.
func TestVersion(t *testing.T) {
	h, err := os.ReadFile(filepath.Join("..", "..", "capi", "capi.h"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define STAA_LIBRARY_VERSION "([^"]+)"`).FindSubmatch(h)
	if m == nil || string(m[1]) != Version {
		t.Errorf("Version %q, capi/capi.h says %q", Version, m)
	}
	r := run(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "staa "+Version+"\n") {
		t.Errorf("staa version: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"onnxruntime:", "ffmpeg:", "model:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("staa version lacks %q: %s", want, r.stdout)
		}
	}
}

func TestSynth(t *testing.T) {
	tools := requireFFmpeg(t)
	dir := t.TempDir()
	arrow := filepath.Join(dir, "split", "s.arrow")
	mp4s := filepath.Join(dir, "mp4")
	r := run(t, nil, "synth", "--n", "5", "--seed", "3", "--out", arrow, "--mp4", mp4s, "--frames", "6", "--size", "32", "--visible", "2,4")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(arrow)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	split, err := synth.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	o := synth.NewOptions(6, 32, 32)
	o.MinVisible, o.MaxVisible = 2, 4
	b, err := os.ReadFile(filepath.Join(mp4s, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Seed    uint64      `json:"seed"`
		Classes []string    `json:"classes"`
		Clips   []ClipIndex `json:"clips"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	if index.Seed != 3 || len(index.Clips) != 5 || len(index.Classes) != synth.NumClasses {
		t.Fatalf("index %+v", index)
	}
	if len(split.Samples) != 5 || split.Seed != 3 || split.Options != o {
		t.Fatalf("split: %d samples, seed %d, options %+v", len(split.Samples), split.Seed, split.Options)
	}
	for i, c := range index.Clips {
		s := split.Samples[i]
		if g, _ := o.Generate(3, i); string(g.Clip) != string(s.Clip) {
			t.Errorf("clip %d of the file differs from the generator's", i)
		}
		if c.Index != i || c.Label != int(s.Label) || c.Class != s.Label.String() {
			t.Errorf("clip %d: %+v, label %v", i, c, s.Label)
		}
		if first, n := s.Window(); len(c.VisibleFrames) != n || n > 0 && c.VisibleFrames[0] != first {
			t.Errorf("clip %d: visible %v, window %d+%d", i, c.VisibleFrames, first, n)
		}
		v, err := tools.Decode(filepath.Join(mp4s, c.File), video.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Count != 6 || v.Width != 32 || v.Height != 32 {
			t.Errorf("%s: %d frames of %d×%d", c.File, v.Count, v.Width, v.Height)
		}
		// Pixel noise and yuv420p's halved chroma resolution cost a few
		// grey levels, even at CRF 12.
		if d := meanAbs(v.Data, s.Clip); d > 10 {
			t.Errorf("%s differs from the generated clip by %.1f grey levels", c.File, d)
		}
	}
	wantFail(t, run(t, nil, "synth", "--n", "0", "--out", arrow), "--n 0")
	wantFail(t, run(t, nil, "synth", "--n", "2", "--out", arrow, "--visible", "9"), `--visible "9": want MIN,MAX`)
	wantFail(t, run(t, nil, "synth", "--n", "2", "--out", arrow, "--frames", "4", "--visible", "3,9"), "visible window")
	if r := run(t, nil, "synth", "--n", "2"); r.code != 2 {
		t.Errorf("no --out: exit %d", r.code)
	}
}

func meanAbs(a, b []byte) float64 {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a))
}
