package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/staa-dev/staa/staa"
)

const tolerance = 1e-4

var _ Model = (*Session)(nil)

func TestOpenReadsMetadata(t *testing.T) {
	s, f := openTiny(t)
	info := s.Info()
	want := staa.Geometry{Layout: staa.Divided, Frames: 4, Height: 4, Width: 4, CLS: true, Tubelet: 1}
	if info.Geometry != want {
		t.Errorf("geometry %+v, want %+v", info.Geometry, want)
	}
	if info.Layers != 2 || info.Heads != 2 || info.FrameHeight != 32 || info.FrameWidth != 32 {
		t.Errorf("layers %d heads %d frame %dx%d, want 2, 2, 32x32", info.Layers, info.Heads, info.FrameHeight, info.FrameWidth)
	}
	if !reflect.DeepEqual(info.Classes, f.exp.Classes) {
		t.Errorf("classes %v, want %v", info.Classes, f.exp.Classes)
	}
	for c := 0; c < 3; c++ {
		if info.Mean[c] != f.exp.Mean[c] || info.Std[c] != f.exp.Std[c] {
			t.Errorf("channel %d: mean %v std %v, want %v %v", c, info.Mean[c], info.Std[c], f.exp.Mean[c], f.exp.Std[c])
		}
	}
	if math.Abs(info.Scale-f.exp.Scale) > 1e-15 {
		t.Errorf("scale %v, want %v", info.Scale, f.exp.Scale)
	}
	wantOut := OutputNames{Logits: "logits", Spatial: "spatial_attention", Temporal: "temporal_attention"}
	if info.Outputs != wantOut || info.Input != "pixel_values" || info.InputLayout != "BFCHW" {
		t.Errorf("outputs %+v input %s %s", info.Outputs, info.Input, info.InputLayout)
	}
}

// The ONNX session's outputs equal PyTorch's, from the uint8 clips
// (preprocessing included) and from PyTorch's own pixel values, for batches
// of 1, 2 and 3 (the batch axis is dynamic).
func TestOutputsMatchPyTorch(t *testing.T) {
	s, f := openTiny(t)
	check := func(what string, out *Output, clipIdx []int) {
		t.Helper()
		if out.Batch != len(clipIdx) {
			t.Fatalf("%s: batch %d, want %d", what, out.Batch, len(clipIdx))
		}
		if out.Temporal.Empty() || out.Spatial.Empty() {
			t.Fatalf("%s: attention missing", what)
		}
		for b, src := range clipIdx {
			for _, c := range []struct {
				name      string
				got, want []float32
			}{
				{"logits", out.ClipLogits(b), part(f.logits, 2, src)},
				{"spatial_attention", out.Clip(b).Spatial.F32, part(f.spatial, 2, src)},
				{"temporal_attention", out.Clip(b).Temporal.F32, part(f.temporal, 2, src)},
			} {
				if d := maxAbsDiff(c.got, c.want); d > tolerance {
					t.Errorf("%s: clip %d %s: max |ONNX − PyTorch| = %.3g > %g", what, b, c.name, d, tolerance)
				}
			}
		}
	}
	out, err := s.Run(f.clips)
	if err != nil {
		t.Fatal(err)
	}
	check("Run(clips)", out, []int{0, 1})
	wantShape := []int{2, 2, 4, 2, 17, 17}
	if !reflect.DeepEqual(out.Spatial.Shape, wantShape) || !reflect.DeepEqual(out.Temporal.Shape, []int{2, 2, 16, 2, 4, 4}) {
		t.Errorf("shapes %v %v", out.Spatial.Shape, out.Temporal.Shape)
	}
	out, err = s.RunPixels(f.pixels, 2)
	if err != nil {
		t.Fatal(err)
	}
	check("RunPixels", out, []int{0, 1})
	out, err = s.Run(f.clips[1:])
	if err != nil {
		t.Fatal(err)
	}
	check("batch of 1", out, []int{1})
	out, err = s.Run([]Video{f.clips[1], f.clips[0], f.clips[1]})
	if err != nil {
		t.Fatal(err)
	}
	check("batch of 3", out, []int{1, 0, 1})
}

// part returns entry b of a batch-first array of n entries.
func part(x []float32, n, b int) []float32 {
	k := len(x) / n
	return x[b*k : (b+1)*k]
}

// Preprocessing the uint8 clips gives numpy's pixel values.
func TestPreprocessMatchesNumpy(t *testing.T) {
	f := loadFixture(t)
	p := tinyPreprocessor(t)
	x := make([]float32, len(f.clips)*p.clipLen())
	if err := p.fill(x, f.clips); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(x, f.pixels); d > 1e-6 {
		t.Errorf("max |Go − numpy| = %.3g", d)
	}
}

// tinyPreprocessor builds the fixture model's preprocessing from its
// metadata alone (no ONNX Runtime needed).
func tinyPreprocessor(t testing.TB) *preprocessor {
	t.Helper()
	f := loadFixture(t)
	m, err := readONNX(f.model)
	if err != nil {
		t.Fatal(err)
	}
	info, _, err := parseModelInfo(f.model, m)
	if err != nil {
		t.Fatal(err)
	}
	return newPreprocessor(info)
}

// Resizing clips of other sizes (one shrunk, one enlarged) matches
// torch.nn.functional.interpolate(bilinear, antialias=True).
func TestResizeMatchesTorch(t *testing.T) {
	f := loadFixture(t)
	p := tinyPreprocessor(t)
	for key, c := range f.exp.Resize {
		raw, err := os.ReadFile(filepath.Join(testdata, c.U8))
		if err != nil {
			t.Fatal(err)
		}
		want, err := readF32(filepath.Join(testdata, c.F32))
		if err != nil {
			t.Fatal(err)
		}
		v := Video{Frames: c.Shape[0], Height: c.Shape[1], Width: c.Shape[2], Data: raw}
		x := make([]float32, p.clipLen())
		if err := p.fill(x, []Video{v}); err != nil {
			t.Fatal(err)
		}
		// 1e-4 in normalised units is about 0.006 grey levels.
		if d := maxAbsDiff(x, want); d > tolerance {
			t.Errorf("resize %s (%dx%d → 32x32): max |Go − torch| = %.3g", key, v.Height, v.Width, d)
		}
	}
}

// identityPre is a preprocessor without normalisation, for hand-computed cases.
func identityPre(frames, h, w int) *preprocessor {
	return newPreprocessor(ModelInfo{Geometry: staa.Geometry{Frames: frames}, FrameHeight: h, FrameWidth: w, Scale: 1, Std: [3]float64{1, 1, 1}})
}

func TestResizeHandComputed(t *testing.T) {
	// Enlarging 1×2 → 1×4: pixel centres at x = (i + ½)/2 − ½ = −¼, ¼, ¾, 1¼
	// of the source, clamped at the edges: 0, 25, 75, 100 for a row 0, 100.
	p := identityPre(1, 1, 4)
	v := Video{Frames: 1, Height: 1, Width: 2, Data: []uint8{0, 10, 200, 100, 20, 0}}
	x := make([]float32, p.clipLen())
	if err := p.fill(x, []Video{v}); err != nil {
		t.Fatal(err)
	}
	want := []float32{
		0, 25, 75, 100, // R
		10, 12.5, 17.5, 20, // G
		200, 150, 50, 0, // B
	}
	if d := maxAbsDiff(x, want); d > 1e-5 {
		t.Errorf("enlarge: got %v, want %v", x, want)
	}
	// Shrinking 1×4 → 1×2 (scale 2) a row 0, 100, 200, 255: the triangle
	// widens to support 2; output 0 is centred at 1.0 and weighs source pixels
	// 0, 1, 2 by ¾, ¾, ¼ (normalised by 7/4): (0·¾ + 100·¾ + 200·¼)/(7/4) =
	// 500/7; output 1, centred at 3.0, weighs pixels 1, 2, 3 by ¼, ¾, ¾:
	// (25 + 150 + 191.25)/(7/4) = 209.29.
	p = identityPre(1, 1, 2)
	v = Video{Frames: 1, Height: 1, Width: 4, Data: []uint8{0, 0, 0, 100, 0, 0, 200, 0, 0, 255, 0, 0}}
	if err := p.fill(x[:p.clipLen()], []Video{v}); err != nil {
		t.Fatal(err)
	}
	r0 := (0*0.75 + 100*0.75 + 200*0.25) / 1.75
	r1 := (100*0.25 + 200*0.75 + 255*0.75) / 1.75
	if math.Abs(float64(x[0])-r0) > 1e-4 || math.Abs(float64(x[1])-r1) > 1e-4 {
		t.Errorf("shrink: got %v, want [%v %v]", x[:2], r0, r1)
	}
	// Enlarging 2×1 → 4×1 vertically behaves as horizontally.
	p = identityPre(1, 4, 1)
	v = Video{Frames: 1, Height: 2, Width: 1, Data: []uint8{0, 0, 0, 100, 0, 0}}
	x = make([]float32, p.clipLen())
	if err := p.fill(x, []Video{v}); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(x[:4], []float32{0, 25, 75, 100}); d > 1e-5 {
		t.Errorf("vertical enlarge: got %v", x[:4])
	}
}

func TestNormalizeHandComputed(t *testing.T) {
	info := ModelInfo{Geometry: staa.Geometry{Frames: 2}, FrameHeight: 1, FrameWidth: 2, Scale: 1.0 / 255,
		Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}, InputLayout: "BFCHW"}
	p := newPreprocessor(info)
	// Frame 0: pixels (255, 0, 51) and (0, 255, 102); frame 1: all 0.
	v := Video{Frames: 2, Height: 1, Width: 2, Data: []uint8{255, 0, 51, 0, 255, 102, 0, 0, 0, 0, 0, 0}}
	x := make([]float32, p.clipLen())
	if err := p.fill(x, []Video{v}); err != nil {
		t.Fatal(err)
	}
	n := func(v float64, c int) float32 { return float32((v/255 - info.Mean[c]) / info.Std[c]) }
	want := []float32{
		n(255, 0), n(0, 0), n(0, 1), n(255, 1), n(51, 2), n(102, 2), // frame 0: R, G, B planes
		n(0, 0), n(0, 0), n(0, 1), n(0, 1), n(0, 2), n(0, 2), // frame 1
	}
	if d := maxAbsDiff(x, want); d > 1e-6 {
		t.Errorf("got %v, want %v", x, want)
	}
	// By hand: (1 − 0.485)/0.229 = 2.2489…, (0.4 − 0.406)/0.225 = −0.02667.
	if math.Abs(float64(x[0])-2.24890829) > 1e-6 || math.Abs(float64(x[5])-(-0.0266667)) > 1e-6 {
		t.Errorf("hand values: %v %v", x[0], x[5])
	}
	// Channels first (BCFHW): the planes are channel-major.
	info.InputLayout = "BCFHW"
	p = newPreprocessor(info)
	if err := p.fill(x, []Video{v}); err != nil {
		t.Fatal(err)
	}
	wantCF := []float32{
		n(255, 0), n(0, 0), n(0, 0), n(0, 0), // R: frame 0, frame 1
		n(0, 1), n(255, 1), n(0, 1), n(0, 1),
		n(51, 2), n(102, 2), n(0, 2), n(0, 2),
	}
	if d := maxAbsDiff(x, wantCF); d > 1e-6 {
		t.Errorf("BCFHW: got %v, want %v", x, wantCF)
	}
}

// The attribution from a Session equals the engine's on PyTorch's attention.
func TestAttributionMatchesEngine(t *testing.T) {
	s, f := openTiny(t)
	g := s.Geometry()
	var ref []staa.Clip
	for b := 0; b < 2; b++ {
		ref = append(ref, staa.Clip{
			Spatial:  staa.Tensor{Shape: []int{2, 4, 2, 17, 17}, F32: part(f.spatial, 2, b)},
			Temporal: staa.Tensor{Shape: []int{2, 16, 2, 4, 4}, F32: part(f.temporal, 2, b)},
		})
	}
	raw := staa.DefaultOptions()
	raw.Post = staa.Raw()
	last := raw
	last.Method = staa.Last
	for name, o := range map[string]staa.Options{"rollout raw": raw, "last raw": last, "rollout optimized": staa.DefaultOptions()} {
		res, err := s.Explain(f.clips, o)
		if err != nil {
			t.Fatal(err)
		}
		want, err := staa.AttributeBatch(g, ref, o)
		if err != nil {
			t.Fatal(err)
		}
		for b, e := range res.Clips {
			a := e.Attribution
			if d := maxAbsDiff(a.Volume.Data, want[b].Volume.Data); d > tolerance {
				t.Errorf("%s clip %d: volume differs by %.3g", name, b, d)
			}
			if d := maxAbsDiff(a.Spatial.Data, want[b].Spatial.Data); d > tolerance {
				t.Errorf("%s clip %d: spatial maps differ by %.3g", name, b, d)
			}
			if d := maxAbsDiff(a.Temporal, want[b].Temporal); d > tolerance {
				t.Errorf("%s clip %d: temporal profile differs by %.3g", name, b, d)
			}
			if a.TemporalAttention != (o.Method != staa.Last) {
				t.Errorf("%s: TemporalAttention = %v", name, a.TemporalAttention)
			}
		}
		// On the session's own buffers the engine gives exactly the same.
		own, err := res.Output.Attribute(o)
		if err != nil {
			t.Fatal(err)
		}
		for b := range own {
			if !reflect.DeepEqual(own[b], res.Clips[b].Attribution) {
				t.Errorf("%s clip %d: Output.Attribute differs from Explain", name, b)
			}
		}
		// A batch of one goes through the session's staa.Attributor (made
		// anew when the options change): the same as the engine on the same
		// buffers, and as the reference.
		for b, clip := range f.clips {
			one, err := s.Explain([]Video{clip}, o)
			if err != nil {
				t.Fatal(err)
			}
			own, err := one.Output.Attribute(o)
			if err != nil {
				t.Fatal(err)
			}
			got := one.Clips[0].Attribution
			if !reflect.DeepEqual(own[0], got) {
				t.Errorf("%s clip %d alone: Output.Attribute differs from Explain", name, b)
			}
			if d := maxAbsDiff(got.Spatial.Data, want[b].Spatial.Data); d > tolerance {
				t.Errorf("%s clip %d alone: spatial maps differ from the reference by %.3g", name, b, d)
			}
		}
	}
}

// The per-clip attention handed to the engine is a view of ORT's output.
func TestClipViewsShareOutput(t *testing.T) {
	s, f := openTiny(t)
	out, err := s.Run(f.clips)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 2; b++ {
		c := out.Clip(b)
		n := len(out.Spatial.F32) / 2
		if unsafe.SliceData(c.Spatial.F32) != &out.Spatial.F32[b*n] {
			t.Errorf("clip %d spatial attention is a copy", b)
		}
		n = len(out.Temporal.F32) / 2
		if unsafe.SliceData(c.Temporal.F32) != &out.Temporal.F32[b*n] {
			t.Errorf("clip %d temporal attention is a copy", b)
		}
	}
}

func TestPredictAndTopK(t *testing.T) {
	s, f := openTiny(t)
	var m Model = s
	probs, err := m.Predict(f.clips)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Explain(f.clips, staa.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for b, p := range probs {
		want := Softmax(part(f.logits, 2, b))
		if d := maxAbsDiff(p, want); d > 1e-5 {
			t.Errorf("clip %d: probabilities differ from softmax(PyTorch logits) by %.3g", b, d)
		}
		if d := maxAbsDiff(p, res.Clips[b].Probabilities); d > 1e-5 {
			t.Errorf("clip %d: Predict and Explain disagree by %.3g", b, d)
		}
		sum := 0.0
		for _, x := range p {
			sum += float64(x)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("clip %d: probabilities sum to %v", b, sum)
		}
		e := res.Clips[b]
		top := e.TopK(3)
		if len(top) != 3 || len(e.TopK(99)) != 5 || len(e.TopK(-1)) != 0 {
			t.Fatalf("TopK lengths %d %d", len(top), len(e.TopK(99)))
		}
		best := 0
		for i, x := range want {
			if x > want[best] {
				best = i
			}
		}
		if top[0].Index != best || top[0].Name != f.exp.Classes[best] || e.Prediction() != top[0] {
			t.Errorf("clip %d: top %+v, want class %d %s", b, top[0], best, f.exp.Classes[best])
		}
		for i := 1; i < len(top); i++ {
			if top[i].Probability > top[i-1].Probability {
				t.Errorf("clip %d: ranking not sorted: %+v", b, top)
			}
		}
		if got := res.Output.TopK(b, 3); !reflect.DeepEqual(got, top) {
			t.Errorf("Output.TopK %v != %v", got, top)
		}
	}
}

// Explain from 4 goroutines at once gives the results of a serial run.
func TestConcurrentExplain(t *testing.T) {
	s, f := openTiny(t)
	o := staa.DefaultOptions()
	want, err := s.Explain(f.clips, o)
	if err != nil {
		t.Fatal(err)
	}
	// Clips of another size too, so preprocessing runs concurrently as well.
	big := resizedCopy(f.clips[0], 48, 40)
	wantBig, err := s.Explain([]Video{big}, o)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				clips, ref := f.clips, want
				if (g+r)%2 == 1 {
					clips, ref = []Video{big}, wantBig
				}
				got, err := s.Explain(clips, o)
				if err != nil {
					errs <- err
					return
				}
				for b := range got.Clips {
					if !reflect.DeepEqual(got.Clips[b].Attribution, ref.Clips[b].Attribution) ||
						!reflect.DeepEqual(got.Clips[b].Logits, ref.Clips[b].Logits) {
						errs <- fmt.Errorf("goroutine %d round %d clip %d: result differs from the serial run", g, r, b)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// resizedCopy returns v with frames of h×w (nearest neighbour), a clip of
// another size with the same content.
func resizedCopy(v Video, h, w int) Video {
	out := NewVideo(v.Frames, h, w)
	for f := 0; f < v.Frames; f++ {
		src, dst := v.Frame(f), out.Frame(f)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				copy(dst[(y*w+x)*3:(y*w+x)*3+3], src[((y*v.Height/h)*v.Width+x*v.Width/w)*3:])
			}
		}
	}
	return out
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

// Model errors are found before ONNX Runtime is loaded: these run without it.
func TestOpenModelErrors(t *testing.T) {
	f := loadFixture(t)
	dir := t.TempDir()

	_, err := Open(filepath.Join(dir, "nope.onnx"), Options{})
	wantErr(t, err, "model file not found", "nope.onnx")

	corrupt := filepath.Join(dir, "corrupt.onnx")
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	if err := os.WriteFile(corrupt, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(corrupt, Options{})
	wantErr(t, err, "not a valid ONNX file", "corrupt.onnx")

	empty := filepath.Join(dir, "empty.onnx")
	os.WriteFile(empty, nil, 0o644)
	_, err = Open(empty, Options{})
	wantErr(t, err, "not a valid ONNX file", "empty")

	// A truncated model: the first half of a good one.
	good, err := os.ReadFile(f.model)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "truncated.onnx")
	os.WriteFile(trunc, good[:len(good)/2], 0o644)
	_, err = Open(trunc, Options{})
	wantErr(t, err, "not a valid ONNX file", "truncated")

	_, err = Open(dir, Options{})
	wantErr(t, err, "is a directory")

	_, err = Open(filepath.Join(testdata, f.exp.ModelNoAttn), Options{})
	wantErr(t, err, "has no attention outputs", "spatial_attention", "temporal_attention", "[logits]", "export_onnx.py")

	_, err = Open(filepath.Join(testdata, f.exp.ModelNoMeta), Options{})
	wantErr(t, err, "has no staa metadata", "staa.geometry", "staa.frame_size", "staa.class_names", "staa.outputs", "export_onnx.py")

	_, err = Open(f.model, Options{IntraOpThreads: -1})
	wantErr(t, err, "thread counts must be >= 0")
}

// Metadata that contradicts the graph, checked on the parsed fixture.
func TestMetadataErrors(t *testing.T) {
	f := loadFixture(t)
	base, err := readONNX(f.model)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(k, v string) *onnxModel {
		m := *base
		m.Metadata = map[string]string{}
		for kk, vv := range base.Metadata {
			m.Metadata[kk] = vv
		}
		if v == "" {
			delete(m.Metadata, k)
		} else {
			m.Metadata[k] = v
		}
		return &m
	}
	cases := []struct {
		key, value string
		parts      []string
	}{
		{"staa.frame_size", "", []string{"lacks the metadata_props staa.frame_size"}},
		{"staa.geometry", `{"layout":"divided","frames":8,"grid":[4,4]}`, []string{"input \"pixel_values\" has shape [batch, 4, 3, 32, 32]", "frames 8"}},
		{"staa.geometry", `{"layout":"divided","frames":4,"grid":[5,5]}`, []string{"spatial_attention", "[2, 4, 2, 26, 26]"}},
		{"staa.geometry", `{"frames":4}`, []string{"staa.geometry", "grid"}},
		{"staa.class_names", `["a","b"]`, []string{"output \"logits\"", "staa.class_names has 2 names"}},
		{"staa.std", `[1, 0, 1]`, []string{"staa.std", "positive"}},
		{"staa.mean", `[0.5]`, []string{"staa.mean", "[r, g, b]"}},
		{"staa.layers", "3", []string{"staa.layers = \"3\"", "have 2"}},
		{"staa.outputs", `{"logits":"logits"}`, []string{"has no attention outputs", "no \"spatial\""}},
		{"staa.outputs", `{"logits":"logits","spatial":"spatial_attention","temporal":"nope"}`, []string{"lacks the output nope"}},
		{"staa.outputs", `{"logits":"logits","spatial":"spatial_attention","extra":"x"}`, []string{"unknown key \"extra\""}},
		{"staa.input", "video", []string{"no input \"video\"", "[pixel_values]"}},
		{"staa.input_layout", "BHWC", []string{"staa.input_layout"}},
		{"staa.metadata_version", "2", []string{"metadata_version \"2\""}},
	}
	for _, c := range cases {
		_, _, err := parseModelInfo(f.model, edit(c.key, c.value))
		wantErr(t, err, c.parts...)
	}
	// Temporal attention is optional: a model with spatial attention only.
	m := edit("staa.outputs", `{"logits":"logits","spatial":"spatial_attention"}`)
	info, shapes, err := parseModelInfo(f.model, m)
	if err != nil || info.Outputs.Temporal != "" || len(shapes) != 2 {
		t.Errorf("spatial-only model: %v, %+v", err, info.Outputs)
	}
}

func TestRunErrors(t *testing.T) {
	s, f := openTiny(t)
	c := f.clips[0]
	_, err := s.Explain([]Video{{Frames: 3, Height: 32, Width: 32, Data: c.Data[:3*32*32*3]}}, staa.DefaultOptions())
	wantErr(t, err, "clip 0 has 3 frames but the model takes 4", "UniformIndices")
	_, err = s.Explain([]Video{c, {Frames: 4, Height: 32, Width: 31, Data: c.Data}}, staa.DefaultOptions())
	wantErr(t, err, "clip 1", "4 frames of 32×31 RGB pixels needs 11904 bytes", "holds 12288")
	_, err = s.Run([]Video{{Frames: 4, Height: 0, Width: 32}})
	wantErr(t, err, "every size must be positive")
	_, err = s.Run(nil)
	wantErr(t, err, "no clips")
	_, err = s.RunPixels(f.pixels[:100], 1)
	wantErr(t, err, "input of 100 values for a batch of 1", "12288 per clip")
	_, err = s.PredictPixels(f.pixels, 3)
	wantErr(t, err, "for a batch of 3")
	grad := staa.DefaultOptions()
	grad.Method = staa.Grad
	_, err = s.Explain(f.clips, grad)
	wantErr(t, err, "method grad needs the gradients", "rollout")
	bad := staa.DefaultOptions()
	bad.Residual = 2
	_, err = s.Explain(f.clips, bad)
	wantErr(t, err, "residual")

	// A closed session refuses calls; Close is idempotent.
	s2, err := Open(f.model, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s2.Run(f.clips)
	wantErr(t, err, "session is closed")
	_, err = s2.Predict(f.clips)
	wantErr(t, err, "session is closed")
}

// Two sessions on one model coexist (one ORT environment).
func TestTwoSessions(t *testing.T) {
	s1, f := openTiny(t)
	s2, err := Open(f.model, Options{IntraOpThreads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a, err := s1.Run(f.clips)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s2.Run(f.clips)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(a.Logits, b.Logits); d > 1e-5 {
		t.Errorf("sessions disagree by %.3g", d)
	}
}
