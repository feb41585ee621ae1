package render

import (
	"image"
	"image/color"
	"image/draw"
)

// Heatmap draws an h×w map (row-major, values in [0, 1]) as an image of the
// same size.
func Heatmap(m []float32, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			img.SetRGBA(j, i, Inferno(float64(m[i*w+j])))
		}
	}
	return img
}

// Blend returns base with overlay drawn on top at opacity alpha in [0, 1].
func Blend(base, overlay image.Image, alpha float64) *image.RGBA {
	b := base.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r0, g0, b0, _ := base.At(x, y).RGBA()
			r1, g1, b1, _ := overlay.At(x, y).RGBA()
			mix := func(p, q uint32) uint8 { return uint8((float64(p)*(1-alpha) + float64(q)*alpha) / 257) }
			out.SetRGBA(x, y, color.RGBA{mix(r0, r1), mix(g0, g1), mix(b0, b1), 255})
		}
	}
	return out
}

// Grid lays tiles out in rows of cols, with pad pixels of background between
// them. All tiles take the size of the first.
func Grid(tiles []image.Image, cols, pad int, bg color.Color) *image.RGBA {
	if len(tiles) == 0 {
		return image.NewRGBA(image.Rect(0, 0, 0, 0))
	}
	tw, th := tiles[0].Bounds().Dx(), tiles[0].Bounds().Dy()
	rows := (len(tiles) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*(tw+pad)+pad, rows*(th+pad)+pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for k, t := range tiles {
		x := pad + (k%cols)*(tw+pad)
		y := pad + (k/cols)*(th+pad)
		draw.Draw(out, image.Rect(x, y, x+tw, y+th), t, t.Bounds().Min, draw.Src)
	}
	return out
}

// Bars draws values as a bar chart of the given size, one bar per value,
// scaled so that the largest value fills the height.
func Bars(values []float32, w, h int, fg, bg color.Color) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	var top float32
	for _, v := range values {
		top = max(top, v)
	}
	if len(values) == 0 || top <= 0 {
		return out
	}
	bw := w / len(values)
	for k, v := range values {
		bh := int(float32(h-2) * v / top)
		r := image.Rect(k*bw+1, h-bh, (k+1)*bw-1, h)
		draw.Draw(out, r, image.NewUniform(fg), image.Point{}, draw.Src)
	}
	return out
}
