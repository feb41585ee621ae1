package render

import (
	"fmt"
	"image"
)

// infernoLUT holds Inferno at 256 evenly spaced values, for per-pixel work.
var infernoLUT = func() (t [256][3]uint8) {
	for i := range t {
		c := Inferno(float64(i) / 255)
		t[i] = [3]uint8{c.R, c.G, c.B}
	}
	return t
}()

// Overlay draws the attribution map m (one value in [0, 1] per pixel of
// base, row-major) over base in the inferno colours, with an opacity that
// grows with the value: alpha·m. Where the model did not look (m = 0) the
// frame shows unchanged, where it looked most the colour covers it at
// opacity alpha. base is not modified.
func Overlay(base *image.RGBA, m []float32, alpha float64) *image.RGBA {
	b := base.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(m) != w*h {
		panic(fmt.Sprintf("render: Overlay: map of %d values for a %d×%d image", len(m), w, h))
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	a := int(alpha*256 + 0.5)
	for y := range h {
		src := base.Pix[base.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := out.Pix[out.PixOffset(0, y):]
		row := m[y*w : (y+1)*w]
		for x, v := range row {
			i := 0
			if v > 0 {
				i = int(min(v, 1)*255 + 0.5)
			}
			op := a * i / 255 // opacity in 1/256
			c := &infernoLUT[i]
			for k := range 3 {
				p := int(src[4*x+k])
				dst[4*x+k] = uint8((p*(256-op) + int(c[k])*op) >> 8)
			}
			dst[4*x+3] = 255
		}
	}
	return out
}
