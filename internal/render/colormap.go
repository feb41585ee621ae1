// Package render draws attribution maps as pictures: colour-mapped heatmaps,
// frame grids, map overlays, timelines, text captions, GIF palettes and
// simple bar charts: the standard library and golang.org/x/image's fixed font only.
package render

import (
	"image/color"
	"math"
)

// inferno holds anchor colours of matplotlib's "inferno" map at 0, 1/8, …, 1;
// values between anchors are interpolated linearly.
var inferno = [...][3]float64{
	{0, 0, 4}, {31, 12, 72}, {85, 15, 109}, {136, 34, 106}, {186, 54, 85},
	{227, 89, 51}, {249, 140, 10}, {249, 201, 50}, {252, 255, 164},
}

// Inferno maps x in [0, 1] (clamped) to a colour.
func Inferno(x float64) color.RGBA {
	if math.IsNaN(x) || x < 0 {
		x = 0
	}
	if x > 1 {
		x = 1
	}
	pos := x * float64(len(inferno)-1)
	i := int(pos)
	if i >= len(inferno)-1 {
		i = len(inferno) - 2
	}
	t := pos - float64(i)
	a, b := inferno[i], inferno[i+1]
	c := func(k int) uint8 { return uint8(math.Round(a[k] + t*(b[k]-a[k]))) }
	return color.RGBA{c(0), c(1), c(2), 255}
}
