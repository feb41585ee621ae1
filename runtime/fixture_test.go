package runtime

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The fixture (runtime/testdata/) is written by
// scripts/model/make_runtime_fixture.py: a tiny random-weights TimeSformer in
// ONNX and PyTorch's outputs for a fixed input.

const testdata = "testdata"

type arrayFile struct {
	File  string `json:"file"`
	Shape []int  `json:"shape"`
}

type resizeCase struct {
	U8       string `json:"u8"`
	Shape    []int  `json:"shape"`
	F32      string `json:"f32"`
	OutShape []int  `json:"out_shape"`
}

type expected struct {
	Model       string                `json:"model"`
	ModelNoAttn string                `json:"model_noattn"`
	ModelNoMeta string                `json:"model_nometa"`
	Classes     []string              `json:"classes"`
	Mean        []float64             `json:"mean"`
	Std         []float64             `json:"std"`
	Scale       float64               `json:"scale"`
	Clips       arrayFile             `json:"clips"`
	PixelValues arrayFile             `json:"pixel_values"`
	Outputs     map[string]arrayFile  `json:"outputs"`
	Resize      map[string]resizeCase `json:"resize"`
}

type fixture struct {
	exp      expected
	model    string
	clips    []Video
	pixels   []float32
	logits   []float32
	spatial  []float32
	temporal []float32
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
)

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = readFixture() })
	if fixtureErr != nil {
		t.Fatalf("fixture: %v (regenerate with python3 scripts/model/make_runtime_fixture.py)", fixtureErr)
	}
	return fixtureVal
}

func readFixture() (*fixture, error) {
	b, err := os.ReadFile(filepath.Join(testdata, "expected.json"))
	if err != nil {
		return nil, err
	}
	f := &fixture{}
	if err := json.Unmarshal(b, &f.exp); err != nil {
		return nil, err
	}
	f.model = filepath.Join(testdata, f.exp.Model)
	raw, err := os.ReadFile(filepath.Join(testdata, f.exp.Clips.File))
	if err != nil {
		return nil, err
	}
	sh := f.exp.Clips.Shape // B, F, H, W, 3
	n := sh[1] * sh[2] * sh[3] * 3
	for b := 0; b < sh[0]; b++ {
		f.clips = append(f.clips, Video{Frames: sh[1], Height: sh[2], Width: sh[3], Data: raw[b*n : (b+1)*n]})
	}
	if f.pixels, err = readF32(filepath.Join(testdata, f.exp.PixelValues.File)); err != nil {
		return nil, err
	}
	for name, dst := range map[string]*[]float32{"logits": &f.logits, "spatial_attention": &f.spatial, "temporal_attention": &f.temporal} {
		if *dst, err = readF32(filepath.Join(testdata, f.exp.Outputs[name].File)); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// inCI reports whether the tests run in CI, where a missing ONNX Runtime
// library is a failure rather than a reason to skip.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// requireLibrary loads ONNX Runtime or skips the test (fails it in CI).
func requireLibrary(t testing.TB) LibraryInfo {
	t.Helper()
	info, err := LoadLibrary("")
	if err != nil {
		if inCI() {
			t.Fatalf("CI is set and the ONNX Runtime library is missing: %v", err)
		}
		t.Skipf("ONNX Runtime library not installed, skipping (run scripts/install_onnxruntime.sh): %v", err)
	}
	return info
}

var testOptions = Options{IntraOpThreads: 1, InterOpThreads: 1}

// openTiny opens the fixture model (skipping without the library).
func openTiny(t testing.TB) (*Session, *fixture) {
	t.Helper()
	f := loadFixture(t)
	requireLibrary(t)
	s, err := Open(f.model, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f
}

// maxAbsDiff returns max |a − b|, or +Inf when the lengths differ.
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m || d != d {
			m = d
		}
	}
	return m
}
