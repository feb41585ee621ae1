package main

import (
	"image"
	"image/color"
	"image/draw"

	"github.com/staa-dev/staa/internal/render"
	"github.com/staa-dev/staa/staa"
)

// layout sizes the frames of the explanation video: the video frame
// (enlarged k times by pixel repetition when its shorter side is under
// displaySide/2, so that a 64×64 clip is watchable) on the left, the same with the heatmap over it on the right, a
// timeline of the temporal profile underneath. Both sides are even (yuv420p).
type layout struct {
	srcW, srcH     int
	scale          int
	panelW, panelH int
	gap            int
	stripH         int
	outW, outH     int
}

// Small videos are enlarged by the largest integer factor that keeps their
// shorter side within displaySide; maxPanelSide bounds the enlargement of
// very elongated frames.
const displaySide, maxPanelSide = 256, 1024

func newLayout(w, h int) layout {
	k := max(1, displaySide/min(w, h))
	for k > 1 && max(w, h)*k > maxPanelSide {
		k--
	}
	l := layout{srcW: w, srcH: h, scale: k, panelW: w * k, panelH: h * k, gap: 4}
	l.outW = 2*l.panelW + l.gap
	if l.outW%2 != 0 {
		l.gap++
		l.outW++
	}
	l.stripH = max(16, l.panelH/8)
	if (l.panelH+l.stripH)%2 != 0 {
		l.stripH++
	}
	l.outH = l.panelH + l.stripH
	return l
}

// composer draws the frames of the explanation.
type composer struct {
	layout
	up    *staa.Upsampler // map grid → panel
	alpha float64
	heat  []float32
}

func newComposer(l layout, gridH, gridW int, alpha float64) (*composer, error) {
	up, err := staa.NewUpsampler(gridH, gridW, l.panelH, l.panelW)
	if err != nil {
		return nil, err
	}
	return &composer{layout: l, up: up, alpha: alpha, heat: make([]float32, l.panelH*l.panelW)}, nil
}

// clone returns a composer that shares c's read-only parts and has its own
// buffer, for another goroutine.
func (c *composer) clone() *composer {
	d := *c
	d.heat = make([]float32, len(c.heat))
	return &d
}

// panels returns the enlarged frame and the frame with the map m (h×w,
// values in [0, 1]) over it.
func (c *composer) panels(rgb []byte, m []float32) (frame, overlay *image.RGBA) {
	frame = render.ScaleNearest(render.FromRGB(rgb, c.srcW, c.srcH), c.scale)
	c.up.Frame(c.heat, m)
	return frame, render.Overlay(frame, c.heat, c.alpha)
}

var (
	background = color.RGBA{24, 24, 28, 255}
	white      = color.RGBA{255, 255, 255, 255}
	black      = color.RGBA{0, 0, 0, 255}
)

// frame draws output frame f: the panels and the timeline with its cursor
// on f.
func (c *composer) frame(rgb []byte, m []float32, profile []float32, keyFrames []int, f int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, c.outW, c.outH))
	draw.Draw(out, out.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	left, right := c.panels(rgb, m)
	draw.Draw(out, image.Rect(0, 0, c.panelW, c.panelH), left, image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(c.panelW+c.gap, 0, c.outW, c.panelH), right, image.Point{}, draw.Src)
	strip := render.Timeline(c.outW, c.stripH, profile, keyFrames, f)
	draw.Draw(out, image.Rect(0, c.panelH, c.outW, c.outH), strip, image.Point{}, draw.Src)
	return out
}

// keyFrameTile stacks key frame f's panels, captioned with its number and
// weight.
func (c *composer) keyFrameTile(rgb []byte, m []float32, f int, weight float64) *image.RGBA {
	left, right := c.panels(rgb, m)
	stack := image.NewRGBA(image.Rect(0, 0, c.panelW, 2*c.panelH+c.gap))
	draw.Draw(stack, stack.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	draw.Draw(stack, image.Rect(0, 0, c.panelW, c.panelH), left, image.Point{}, draw.Src)
	draw.Draw(stack, image.Rect(0, c.panelH+c.gap, c.panelW, 2*c.panelH+c.gap), right, image.Point{}, draw.Src)
	return render.Caption(stack, white, black, fmtFrame(f), fmtWeight(weight))
}
