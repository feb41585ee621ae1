package metrics_test

import (
	"math"
	"testing"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

func TestSparsenessComplexity(t *testing.T) {
	// Gini of 1, 2, 3, 4: Σ(2k − 5)a_k / (4·10) = (−3 − 2 + 3 + 12)/40.
	near(t, "gini", must[float64](t)(metrics.Sparseness(vol(1, 2, 2, 3, 1, 4, 2))), 10.0/40, 1e-12)
	onehot, uniform := staa.NewVolume(2, 3, 3), staa.NewVolume(2, 3, 3)
	onehot.Data[7] = 5
	for k := range uniform.Data {
		uniform.Data[k] = 0.25
	}
	near(t, "gini one-hot", must[float64](t)(metrics.Sparseness(onehot)), 1-1.0/18, 1e-12)
	near(t, "gini uniform", must[float64](t)(metrics.Sparseness(uniform)), 0, 1e-12)
	near(t, "gini zero", must[float64](t)(metrics.Sparseness(staa.NewVolume(1, 2, 2))), math.NaN(), 0)

	// Entropy of (1, 1, 2)/4 over ln 3.
	h := -(0.5*math.Log(0.25) + 0.5*math.Log(0.5)) / math.Log(3)
	near(t, "entropy", must[float64](t)(metrics.Complexity(vol(1, 1, 3, 1, 1, 2))), h, 1e-12)
	near(t, "entropy one-hot", must[float64](t)(metrics.Complexity(onehot)), 0, 1e-12)
	near(t, "entropy uniform", must[float64](t)(metrics.Complexity(uniform)), 1, 1e-12)
	random := vol(1, 2, 2, 0.3, 0.1, 0.5, 0.2)
	if g, c := must[float64](t)(metrics.Sparseness(random)), must[float64](t)(metrics.Complexity(random)); !(g > 0 && g < 1-1.0/4 && c > 0 && c < 1) {
		t.Errorf("random: gini %v, entropy %v: want strictly inside the bounds", g, c)
	}
	if _, err := metrics.Sparseness(vol(1, 1, 2, 1, -1)); err == nil {
		t.Error("negative value: no error")
	}
	if _, err := metrics.Complexity(vol(1, 1, 2, 1, float32(math.Inf(1)))); err == nil {
		t.Error("Inf: no error")
	}
}

// mask4 is a 2-frame 4×4-pixel mask on a 2×2 grid (2×2 pixels a cell):
// frame 0 has the target on pixels (0..1, 0..1), all of cell (0, 0), and
// pixel (1, 2) of cell (0, 1); frame 1 has no target.
func mask4() metrics.Mask {
	m := metrics.Mask{Frames: 2, Height: 4, Width: 4, Data: make([]uint8, 32)}
	for _, p := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}} {
		m.Data[p[0]*4+p[1]] = 1
	}
	return m
}

func TestPointingGame(t *testing.T) {
	m := mask4()
	pg := func(v staa.Volume, tol int) metrics.Pointing {
		return must[metrics.Pointing](t)(metrics.PointingGame(v, m, tol))
	}
	perfect := pg(vol(2, 2, 2, 9, 1, 1, 1, 5, 5, 5, 5), 0)
	if perfect.Score != 1 || perfect.Frames != 1 || !math.IsNaN(perfect.PerFrame[1]) {
		t.Errorf("perfect: %+v", perfect)
	}
	near(t, "inverted", pg(vol(2, 2, 2, 0, 1, 1, 9, 0, 0, 0, 0), 0).Score, 0, 0)
	near(t, "inverted, tolerance 1", pg(vol(2, 2, 2, 0, 1, 1, 9, 0, 0, 0, 0), 1).Score, 1, 0)
	near(t, "partly covered cell", pg(vol(2, 2, 2, 0, 9, 1, 1, 0, 0, 0, 0), 0).Score, 1, 0)
	near(t, "flat map", pg(vol(2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), 0).Score, 0.5, 0)
	near(t, "tie of a hit and a miss", pg(vol(2, 2, 2, 3, 0, 3, 0, 0, 0, 0, 0), 0).Score, 0.5, 0)
	empty := metrics.Mask{Frames: 2, Height: 4, Width: 4, Data: make([]uint8, 32)}
	if p := must[metrics.Pointing](t)(metrics.PointingGame(staa.NewVolume(2, 2, 2), empty, 0)); !math.IsNaN(p.Score) || p.Frames != 0 {
		t.Errorf("no visible frame: %+v", p)
	}
	if _, err := metrics.PointingGame(staa.NewVolume(3, 2, 2), m, 0); err == nil {
		t.Error("3-frame volume, 2-frame mask: no error")
	}
}

func TestEnergySNR(t *testing.T) {
	m := mask4() // 5 mask pixels: 4 in cell (0, 0), 1 in cell (0, 1), all in frame 0
	cases := []struct {
		name        string
		v           staa.Volume
		energy, snr float64
	}{
		// V↑ = 1 on cell (0, 0) of frame 0: in 4 (of 5 mask pixels), out 0.
		{"perfect", vol(2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0), 1, math.Inf(1)},
		// 1 on (0, 1) of frame 0: in 1, out 3 of 27 non-mask pixels.
		{"partly", vol(2, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0), 0.25, (1.0 / 5) / (3.0 / 27)},
		// 1 everywhere: in 5, out 27: SNR 1.
		{"uniform", vol(2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1), 5.0 / 32, 1},
		// Only the frame without the target.
		{"wrong frame", vol(2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1), 0, 0},
		{"zero", staa.NewVolume(2, 2, 2), math.NaN(), math.NaN()},
	}
	for _, c := range cases {
		near(t, c.name+" energy", must[float64](t)(metrics.Energy(c.v, m)), c.energy, 1e-12)
		near(t, c.name+" SNR", must[float64](t)(metrics.SNR(c.v, m)), c.snr, 1e-12)
	}
	if _, err := metrics.Energy(vol(2, 2, 2, 1, 0, 0, 0, 0, 0, 0, -1), m); err == nil {
		t.Error("negative value: no error")
	}
	// A mask at the patch grid itself.
	g := metrics.Mask{Frames: 1, Height: 2, Width: 2, Data: []uint8{1, 0, 0, 0}}
	near(t, "grid mask energy", must[float64](t)(metrics.Energy(vol(1, 2, 2, 3, 1, 0, 0), g)), 0.75, 1e-12)
	near(t, "grid mask SNR", must[float64](t)(metrics.SNR(vol(1, 2, 2, 3, 1, 0, 0), g)), 3/(1.0/3), 1e-12)
	if _, err := metrics.Energy(staa.NewVolume(1, 4, 4), g); err == nil {
		t.Error("mask coarser than the grid: no error")
	}
}

func TestTemporalAP(t *testing.T) {
	ap := func(p []float32, vis ...bool) float64 {
		return must[float64](t)(metrics.TemporalAP(p, vis))
	}
	// Ranked T, F, T, F: precision 1 at recall ½, 2/3 at recall 1.
	near(t, "hand", ap([]float32{0.4, 0.3, 0.2, 0.1}, true, false, true, false), 0.5+0.5*2/3, 1e-12)
	near(t, "perfect", ap([]float32{0.4, 0.3, 0.2, 0.1}, true, true, false, false), 1, 0)
	// Inverted: the positives last, precision 1/3 at recall ½, ½ at recall 1.
	near(t, "inverted", ap([]float32{0.1, 0.2, 0.3, 0.4}, true, true, false, false), 0.5/3+0.5*0.5, 1e-12)
	// Ties enter together: sklearn gives 0.5 here.
	near(t, "ties", ap([]float32{0.5, 0.5, 0.1}, true, false, false), 0.5, 1e-12)
	near(t, "no positives", ap([]float32{0.5, 0.5}, false, false), math.NaN(), 0)
	if _, err := metrics.TemporalAP([]float32{1}, []bool{true, false}); err == nil {
		t.Error("length mismatch: no error")
	}
	// Profile and Visible.
	p := metrics.Profile(vol(2, 1, 2, 1, 1, 2, 0))
	if p[0] != 0.5 || p[1] != 0.5 {
		t.Errorf("profile %v", p)
	}
	if v := mask4().Visible(); !v[0] || v[1] {
		t.Errorf("visible %v", v)
	}
}
