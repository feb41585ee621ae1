package ortmodel

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/baselines"
	"github.com/staa-dev/staa/staa/metrics"
)

// The runtime package's fixture: a tiny random-weights TimeSformer (4
// frames of 32×32, patch 8, 5 classes) and PyTorch's logits for two clips.
var testdata = filepath.Join("..", "..", "..", "runtime", "testdata")

func openTiny(t *testing.T) (*runtime.Session, []runtime.Video, []float32) {
	t.Helper()
	if _, err := runtime.LoadLibrary(""); err != nil {
		if v := strings.ToLower(os.Getenv("CI")); v != "" && v != "0" && v != "false" {
			t.Fatalf("CI is set and the ONNX Runtime library is missing: %v", err)
		}
		t.Skipf("ONNX Runtime library not installed, skipping (run scripts/install_onnxruntime.sh): %v", err)
	}
	var exp struct {
		Model string `json:"model"`
		Clips struct {
			File  string
			Shape []int
		} `json:"clips"`
		Outputs map[string]struct{ File string } `json:"outputs"`
	}
	b, err := os.ReadFile(filepath.Join(testdata, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(testdata, exp.Clips.File))
	if err != nil {
		t.Fatal(err)
	}
	sh := exp.Clips.Shape
	n := sh[1] * sh[2] * sh[3] * 3
	var videos []runtime.Video
	for i := range sh[0] {
		videos = append(videos, runtime.Video{Frames: sh[1], Height: sh[2], Width: sh[3], Data: raw[i*n : (i+1)*n]})
	}
	lb, err := os.ReadFile(filepath.Join(testdata, exp.Outputs["logits"].File))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, len(lb)/4)
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(lb[4*i:]))
	}
	s, err := runtime.Open(filepath.Join(testdata, exp.Model), runtime.Options{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, videos, logits
}

func TestPredictMatchesSession(t *testing.T) {
	s, videos, want := openTiny(t)
	m := New(s)
	clips, err := m.Clips(videos)
	if err != nil {
		t.Fatal(err)
	}
	if c := clips[0]; c.Frames != 4 || c.Channels != 3 || c.Height != 32 || c.Width != 32 {
		t.Fatalf("clip shape [%d, %d, %d, %d]", c.Frames, c.Channels, c.Height, c.Width)
	}
	// The two clips are consecutive views of one buffer: handed over as is.
	if contiguous(clips, clips[0].Len()) == nil {
		t.Error("preprocessed clips are not seen as contiguous")
	}
	got, err := m.Predict(clips)
	if err != nil {
		t.Fatal(err)
	}
	// The batches of PredictBatched are one buffer too.
	batches := 0
	spy := metrics.ModelFunc(func(c []metrics.Clip) ([][]float32, error) {
		if contiguous(c, c[0].Len()) == nil {
			t.Errorf("batch of %d clips from PredictBatched is not contiguous", len(c))
		}
		batches++
		return m.Predict(c)
	})
	if _, err := metrics.PredictBatched(spy, clips[0], 5, 2, func(k int, dst metrics.Clip) { copy(dst.Data, clips[k%2].Data) }, nil); err != nil || batches != 3 {
		t.Errorf("PredictBatched: %d batches, %v", batches, err)
	}
	// Separate buffers: copied into one.
	sep := []metrics.Clip{clips[1].Clone(), clips[0].Clone()}
	if contiguous(sep, sep[0].Len()) != nil {
		t.Error("separate clips seen as contiguous")
	}
	swapped, err := m.Predict(sep)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 2 {
		for c := range 5 {
			if d := math.Abs(float64(got[b][c] - want[b*5+c])); d > 1e-4 {
				t.Errorf("clip %d class %d: logit %v, PyTorch %v", b, c, got[b][c], want[b*5+c])
			}
			if got[b][c] != swapped[1-b][c] {
				t.Errorf("clip %d class %d: %v in one buffer, %v copied", b, c, got[b][c], swapped[1-b][c])
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	src := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} // [2, 3, 2]
	dst := transpose(src, 2, 3, 2)                         // [3, 2, 2]
	want := []float32{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("transpose %v, want %v", dst, want)
		}
	}
	back := make([]float32, 12)
	transposeInto(back, dst, 3, 2, 2)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("round trip %v", back)
		}
	}
}

// TestEndToEnd scores STAA's attribution of the tiny model with the
// perturbation metrics and runs both baselines on the same session.
func TestEndToEnd(t *testing.T) {
	s, videos, _ := openTiny(t)
	m := New(s)
	x, err := m.Clip(videos[0])
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Explain(videos[:1], staa.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	v := res.Clips[0].Attribution.Volume
	e, err := metrics.NewEvaluator(m, x, metrics.Options{BatchSize: 4, Tubelet: s.Geometry().Tubelet, BlurSigma: 2})
	if err != nil {
		t.Fatal(err)
	}
	if e.Predicted() != res.Clips[0].Prediction().Index {
		t.Errorf("evaluator predicts %d, session %d", e.Predicted(), res.Clips[0].Prediction().Index)
	}
	f, err := e.Faithfulness(v, metrics.FaithfulnessOptions{})
	if err != nil || !(f >= 0 && f <= 1) {
		t.Errorf("faithfulness %v, %v", f, err)
	}
	d, err := e.Deletion(v, metrics.PredictedClass, metrics.CurveOptions{Steps: 8})
	if err != nil || !(d.AUC >= 0 && d.AUC <= 1) {
		t.Errorf("deletion %v, %v", d.AUC, err)
	}
	sh, err := baselines.TemporalSHAP(m, x, metrics.PredictedClass, baselines.SHAPOptions{Segments: 4, BatchSize: 8, Height: v.Height, Width: v.Width})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, p := range sh.Values {
		sum += p
	}
	if math.Abs(sum-(sh.Full-sh.Empty)) > 1e-9 {
		t.Errorf("SHAP efficiency on the ONNX model: Σφ = %v, v(N) − v(∅) = %v", sum, sh.Full-sh.Empty)
	}
	li, err := baselines.SpatialLIME(m, x, metrics.PredictedClass, baselines.LIMEOptions{Height: v.Height, Width: v.Width, Samples: 64, BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Faithfulness(li.Volume, metrics.FaithfulnessOptions{}); err != nil {
		t.Error(err)
	}
	t.Logf("STAA faithfulness %.3f, deletion AUC %.3f; SHAP φ %.4f; LIME R² %.3f", f, d.AUC, sh.Values, li.Score)
}
