package render

import (
	"image"
	"image/color"
	"testing"
)

func TestInfernoEnds(t *testing.T) {
	if c := Inferno(0); c != (color.RGBA{0, 0, 4, 255}) {
		t.Errorf("Inferno(0) = %v", c)
	}
	if c := Inferno(1); c != (color.RGBA{252, 255, 164, 255}) {
		t.Errorf("Inferno(1) = %v", c)
	}
	if Inferno(-3) != Inferno(0) || Inferno(7) != Inferno(1) {
		t.Error("out-of-range values are not clamped")
	}
	// Brightness grows with the value.
	lum := func(c color.RGBA) int { return int(c.R) + int(c.G) + int(c.B) }
	for x := 0.0; x < 1; x += 0.05 {
		if lum(Inferno(x+0.05)) < lum(Inferno(x)) {
			t.Fatalf("not monotone at %v", x)
		}
	}
}

func TestGridAndBars(t *testing.T) {
	tiles := []image.Image{Heatmap([]float32{0, 1, 0.5, 0.25, 0, 1}, 2, 3), Heatmap(make([]float32, 6), 2, 3), Heatmap(make([]float32, 6), 2, 3)}
	g := Grid(tiles, 2, 1, color.White)
	if g.Bounds().Dx() != 2*(3+1)+1 || g.Bounds().Dy() != 2*(2+1)+1 {
		t.Fatalf("grid size %v", g.Bounds())
	}
	if g.RGBAAt(2, 1) != Inferno(1) { // tile 0, pixel (x=1, y=0)
		t.Errorf("tile pixel = %v", g.RGBAAt(2, 1))
	}
	b := Bars([]float32{1, 0.5}, 20, 11, color.Black, color.White)
	if b.RGBAAt(5, 10) != (color.RGBA{0, 0, 0, 255}) || b.RGBAAt(15, 3) != (color.RGBA{255, 255, 255, 255}) || b.RGBAAt(15, 8) != (color.RGBA{0, 0, 0, 255}) {
		t.Error("bars drawn wrong")
	}
}
