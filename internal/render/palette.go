package render

import (
	"image"
	"image/color"
)

// GIF frames need a palette of at most 256 colours. Searching a palette for
// the nearest colour (what image/draw does for *image.Paletted) costs 256
// comparisons a pixel; a uniform colour cube maps a pixel with three table
// look-ups instead, and a 4×4 ordered (Bayer) dither hides its banding on the
// smooth gradients of a heatmap without the frame-to-frame flicker of error
// diffusion.

// Cube levels per channel: 6·7·6 = 252 colours (green, to which the eye is
// most sensitive, gets the extra level).
const cubeR, cubeG, cubeB = 6, 7, 6

// CubePalette is the palette Quantize uses.
var CubePalette = func() color.Palette {
	p := make(color.Palette, 0, cubeR*cubeG*cubeB)
	for r := range cubeR {
		for g := range cubeG {
			for b := range cubeB {
				p = append(p, color.RGBA{level(r, cubeR), level(g, cubeG), level(b, cubeB), 255})
			}
		}
	}
	return p
}()

func level(i, n int) uint8 { return uint8((i*255 + (n-1)/2) / (n - 1)) }

var bayer4 = [16]int{0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5}

// quant[c][d][v] is the cube level of value v of channel c under dither
// offset d (d = 16 means no dither).
var quant = func() (q [3][17][256]uint8) {
	for c, n := range [3]int{cubeR, cubeG, cubeB} {
		step := 255.0 / float64(n-1)
		for d := 0; d <= 16; d++ {
			off := 0.0 // threshold offset in steps, in [−½, ½)
			if d < 16 {
				off = (float64(d)+0.5)/16 - 0.5
			}
			for v := range 256 {
				l := int(float64(v)/step + 0.5 + off)
				q[c][d][v] = uint8(min(max(l, 0), n-1))
			}
		}
	}
	return q
}()

// Quantize maps img onto CubePalette, with a 4×4 ordered dither when dither
// is true.
func Quantize(img *image.RGBA, dither bool) *image.Paletted {
	b := img.Bounds()
	out := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), CubePalette)
	for y := 0; y < b.Dy(); y++ {
		src := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := out.Pix[out.PixOffset(0, y):]
		for x := 0; x < b.Dx(); x++ {
			d := 16
			if dither {
				d = bayer4[(y&3)*4+(x&3)]
			}
			r, g, bl := quant[0][d][src[4*x]], quant[1][d][src[4*x+1]], quant[2][d][src[4*x+2]]
			dst[x] = (r*cubeG+g)*cubeB + bl
		}
	}
	return out
}
