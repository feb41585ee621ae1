package render

import (
	"image"
	"image/color"
	"image/draw"
)

// Timeline colours.
var (
	TimelineBackground = color.RGBA{24, 24, 28, 255}
	TimelineBar        = color.RGBA{110, 110, 120, 255}
	TimelineKey        = color.RGBA{249, 140, 10, 255}
	TimelineCursor     = color.RGBA{255, 255, 255, 255}
	TimelinePast       = color.RGBA{170, 170, 180, 255}
)

// Timeline draws a temporal profile as a w×h strip: one column band per
// frame, its height growing with profile[f] from 15 % of the strip for the
// smallest value to all of it for the largest (contrast-stretched: a profile
// over hundreds of frames varies by small amounts around its mean, which
// bars from zero would not show; the exact curve is the profile plot's
// job). Key frames are orange, frames up to current lighter, and a white
// cursor on current (none when current < 0). Drawn under each frame of an
// explanation video, it shows when the model looked while the video plays.
func Timeline(w, h int, profile []float32, keyFrames []int, current int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(TimelineBackground), image.Point{}, draw.Src)
	n := len(profile)
	if n == 0 || w <= 0 || h <= 0 {
		return out
	}
	lo, hi := profile[0], profile[0]
	for _, p := range profile {
		lo, hi = min(lo, p), max(hi, p)
	}
	key := make(map[int]bool, len(keyFrames))
	for _, k := range keyFrames {
		key[k] = true
	}
	x0 := func(f int) int { return f * w / n }
	for f, p := range profile {
		c := TimelineBar
		switch {
		case key[f]:
			c = TimelineKey
		case f <= current:
			c = TimelinePast
		}
		frac := float32(1)
		if hi > lo {
			frac = 0.15 + 0.85*(p-lo)/(hi-lo)
		}
		bh := int(float32(h-2)*frac + 0.5)
		r := image.Rect(x0(f), h-1-bh, max(x0(f+1), x0(f)+1), h-1)
		draw.Draw(out, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	if current >= 0 && current < n {
		cx := (x0(current) + max(x0(current+1), x0(current)+1)) / 2
		draw.Draw(out, image.Rect(max(cx-1, 0), 0, min(cx+1, w), h), image.NewUniform(TimelineCursor), image.Point{}, draw.Src)
	}
	return out
}
