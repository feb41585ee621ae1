package render

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestRGBRoundTrip(t *testing.T) {
	rgb := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
	img := FromRGB(rgb, 3, 2)
	if img.RGBAAt(1, 1) != (color.RGBA{13, 14, 15, 255}) {
		t.Errorf("pixel (1,1) = %v", img.RGBAAt(1, 1))
	}
	back := ToRGB(nil, img)
	if string(back) != string(rgb) {
		t.Errorf("round trip %v", back)
	}
	// A sub-image converts its own pixels only.
	sub := img.SubImage(image.Rect(1, 0, 3, 2)).(*image.RGBA)
	if got := ToRGB(nil, sub); string(got) != string([]byte{4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18}) {
		t.Errorf("sub-image %v", got)
	}
}

func TestScaleNearest(t *testing.T) {
	img := FromRGB([]byte{255, 0, 0, 0, 255, 0}, 2, 1)
	s := ScaleNearest(img, 3)
	if s.Bounds().Dx() != 6 || s.Bounds().Dy() != 3 {
		t.Fatalf("size %v", s.Bounds())
	}
	if s.RGBAAt(2, 2) != (color.RGBA{255, 0, 0, 255}) || s.RGBAAt(3, 0) != (color.RGBA{0, 255, 0, 255}) {
		t.Errorf("pixels %v %v", s.RGBAAt(2, 2), s.RGBAAt(3, 0))
	}
}

func TestOverlay(t *testing.T) {
	base := FromRGB([]byte{100, 100, 100, 100, 100, 100}, 2, 1)
	o := Overlay(base, []float32{0, 1}, 0.5)
	if o.RGBAAt(0, 0) != (color.RGBA{100, 100, 100, 255}) {
		t.Errorf("m = 0 changes the frame: %v", o.RGBAAt(0, 0))
	}
	top := Inferno(1)
	want := color.RGBA{uint8((100 + int(top.R)) / 2), uint8((100 + int(top.G)) / 2), uint8((100 + int(top.B)) / 2), 255}
	got := o.RGBAAt(1, 0)
	for _, d := range []int{int(got.R) - int(want.R), int(got.G) - int(want.G), int(got.B) - int(want.B)} {
		if d < -1 || d > 1 {
			t.Errorf("m = 1 at alpha 0.5: %v, want %v", got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a map of the wrong size does not panic")
		}
	}()
	Overlay(base, []float32{1}, 0.5)
}

func TestQuantize(t *testing.T) {
	if len(CubePalette) != 252 {
		t.Fatalf("palette of %d colours", len(CubePalette))
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), uint8((x + y) * 2), 255})
		}
	}
	for _, dither := range []bool{false, true} {
		p := Quantize(img, dither)
		var sum [3]float64
		var maxErr float64
		for y := range 64 {
			for x := range 64 {
				a, b := img.RGBAAt(x, y), p.At(x, y).(color.RGBA)
				for k, d := range []float64{float64(a.R) - float64(b.R), float64(a.G) - float64(b.G), float64(a.B) - float64(b.B)} {
					sum[k] += d
					maxErr = max(maxErr, math.Abs(d))
				}
			}
		}
		// Within one cube step (51 for 6 levels) everywhere; and dithering
		// keeps the mean colour (no bias).
		if maxErr > 51 {
			t.Errorf("dither %v: error up to %.0f", dither, maxErr)
		}
		if !dither && maxErr > 26 {
			t.Errorf("nearest level: error up to %.0f, want at most half a step", maxErr)
		}
		for k := range sum {
			if m := sum[k] / 4096; math.Abs(m) > 4 {
				t.Errorf("dither %v: channel %d biased by %.1f", dither, k, m)
			}
		}
	}
	// Palette entries are exact.
	for i, c := range CubePalette {
		one := image.NewRGBA(image.Rect(0, 0, 1, 1))
		one.Set(0, 0, c)
		if p := Quantize(one, true); int(p.Pix[0]) != i {
			t.Fatalf("palette colour %d (%v) maps to %d", i, c, p.Pix[0])
		}
	}
}

func TestTimelineAndCaption(t *testing.T) {
	tl := Timeline(40, 10, []float32{0.1, 0.5, 0.2, 0.2}, []int{1}, 2)
	if tl.Bounds().Dx() != 40 || tl.Bounds().Dy() != 10 {
		t.Fatalf("size %v", tl.Bounds())
	}
	if tl.RGBAAt(13, 5) != TimelineKey { // frame 1 (x 10–19), key, full height
		t.Errorf("key frame bar %v", tl.RGBAAt(13, 5))
	}
	if tl.RGBAAt(2, 2) != TimelineBackground || tl.RGBAAt(2, 8) != TimelinePast {
		t.Errorf("frame 0 (past, short bar): %v %v", tl.RGBAAt(2, 2), tl.RGBAAt(2, 8))
	}
	if tl.RGBAAt(25, 0) != TimelineCursor {
		t.Errorf("cursor on frame 2: %v", tl.RGBAAt(25, 0))
	}
	if tl.RGBAAt(35, 8) != TimelineBar {
		t.Errorf("future frame: %v", tl.RGBAAt(35, 8))
	}
	c := Caption(image.NewRGBA(image.Rect(0, 0, 20, 20)), color.White, color.Black, "frame 12", "P 0.5")
	if c.Bounds().Dx() != TextWidth("frame 12")+4 || c.Bounds().Dy() != 20+2*(TextHeight+2)+2 {
		t.Errorf("caption size %v", c.Bounds())
	}
	dark := 0
	for y := 20; y < c.Bounds().Dy(); y++ {
		for x := range c.Bounds().Dx() {
			if c.RGBAAt(x, y).R < 128 {
				dark++
			}
		}
	}
	if dark < 20 {
		t.Errorf("caption text not drawn (%d dark pixels)", dark)
	}
}

func TestShrink(t *testing.T) {
	img := FromRGB([]byte{
		0, 0, 0, 100, 100, 100, 7, 7, 7,
		200, 200, 200, 100, 100, 100, 9, 9, 9,
	}, 3, 2)
	s := Shrink(img, 2)
	if s.Bounds().Dx() != 2 || s.Bounds().Dy() != 1 {
		t.Fatalf("size %v", s.Bounds())
	}
	if s.RGBAAt(0, 0) != (color.RGBA{100, 100, 100, 255}) || s.RGBAAt(1, 0) != (color.RGBA{8, 8, 8, 255}) {
		t.Errorf("pixels %v %v", s.RGBAAt(0, 0), s.RGBAAt(1, 0))
	}
	if Shrink(img, 1) != img {
		t.Error("k = 1 copies")
	}
}
