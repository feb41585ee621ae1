package plotting

import (
	"bytes"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func TestProfilePNG(t *testing.T) {
	n := 40
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = 1.0 / float64(n)
		if i >= 10 && i < 18 {
			vals[i] = 3.0 / float64(n)
		}
	}
	sm := append([]float64(nil), vals...)
	p := Profile{Title: "t", Values: vals, Smoothed: sm, KeyFrames: []int{13}, Truth: [][2]int{{10, 17}}, FPS: 10}
	var buf bytes.Buffer
	if err := p.WritePNG(&buf, 640, 320); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 320 {
		t.Fatalf("size %v", b)
	}
	// The key-frame colour and the smoothed line's colour appear.
	found := map[color.RGBA]bool{}
	for y := range 320 {
		for x := range 640 {
			r, g, b, _ := img.At(x, y).RGBA()
			found[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}] = true
		}
	}
	for _, c := range []color.RGBA{colourKey, colourSmoothed} {
		if !found[c] {
			t.Errorf("colour %v not drawn", c)
		}
	}
}

func TestProfileErrors(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		p    Profile
		want string
	}{
		{Profile{}, "empty profile"},
		{Profile{Values: []float64{1, 2}, Smoothed: []float64{1}}, "1 smoothed values for 2 frames"},
		{Profile{Values: []float64{1, 2}, KeyFrames: []int{2}}, "key frame 2 outside"},
	} {
		err := c.p.WritePNG(&buf, 100, 100)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		}
	}
}

func TestFrameTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (frameTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := strings.Join(labels(-0.5, 7.5), " "); got != "0 1 2 3 4 5 6 7" {
		t.Errorf("8 frames: %s", got)
	}
	if got := strings.Join(labels(-0.5, 299.5), " "); got != "0 50 100 150 200 250" {
		t.Errorf("300 frames: %s", got)
	}
}
