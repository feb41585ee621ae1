package render

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text draws s on dst with its top-left corner at (x, y), in the 7×13
// fixed font of golang.org/x/image (ASCII; other runes show as boxes).
func Text(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y+basicfont.Face7x13.Ascent)}
	d.DrawString(s)
}

// TextWidth is the width in pixels of s drawn by Text; TextHeight the
// height of a line.
func TextWidth(s string) int { return len([]rune(s)) * basicfont.Face7x13.Advance }

// TextHeight is the height of one line of Text.
const TextHeight = 13

// Caption returns img with lines of text under it, centred, on bg.
func Caption(img image.Image, bg, fg color.Color, lines ...string) *image.RGBA {
	b := img.Bounds()
	w := b.Dx()
	for _, l := range lines {
		w = max(w, TextWidth(l)+4)
	}
	h := b.Dy() + len(lines)*(TextHeight+2) + 2
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect((w-b.Dx())/2, 0, (w-b.Dx())/2+b.Dx(), b.Dy()), img, b.Min, draw.Src)
	for i, l := range lines {
		Text(out, (w-TextWidth(l))/2, b.Dy()+2+i*(TextHeight+2), l, fg)
	}
	return out
}
