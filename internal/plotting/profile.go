// Package plotting draws the charts of an explanation with gonum.org/v1/plot.
package plotting

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Profile is a temporal profile chart: P[f] over the frames of a video.
type Profile struct {
	Title string
	// Values is P[f], one per frame.
	Values []float64
	// Smoothed, when set, is drawn as a second, thicker line (a
	// Savitzky–Golay fit for long videos).
	Smoothed []float64
	// KeyFrames are marked with a dot on the curve (on Smoothed when set)
	// and a dashed vertical line.
	KeyFrames []int
	// Truth lists frame ranges [first, last] (inclusive) shaded as the
	// ground truth, when known (generated clips).
	Truth [][2]int
	// FPS, when positive, adds the time in seconds to the x axis label.
	FPS float64
}

// Colours of the chart (those of the explanation video's timeline).
var (
	colourRaw      = color.RGBA{110, 110, 120, 255}
	colourSmoothed = color.RGBA{31, 119, 180, 255}
	colourKey      = color.RGBA{227, 89, 51, 255}
	colourTruth    = color.NRGBA{44, 160, 44, 56}
)

// Plot builds the chart.
func (p Profile) Plot() (*plot.Plot, error) {
	n := len(p.Values)
	if n == 0 {
		return nil, errors.New("plotting: empty profile")
	}
	if p.Smoothed != nil && len(p.Smoothed) != n {
		return nil, fmt.Errorf("plotting: %d smoothed values for %d frames", len(p.Smoothed), n)
	}
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = "frame"
	if p.FPS > 0 {
		pl.X.Label.Text = fmt.Sprintf("frame (%.3g frames per second)", p.FPS)
	}
	pl.Y.Label.Text = "temporal attribution P[f]"
	pl.Add(plotter.NewGrid())
	pl.X.Min, pl.X.Max = -0.5, float64(n)-0.5
	pl.X.Tick.Marker = frameTicks{}
	pl.Y.Min = 0
	top := 0.0
	for _, v := range p.Values {
		top = max(top, v)
	}
	for _, v := range p.Smoothed {
		top = max(top, v)
	}
	if top <= 0 {
		top = 1
	}
	pl.Y.Max = top * 1.35 // room for the legend

	for i, r := range p.Truth {
		lo, hi := float64(r[0])-0.5, float64(r[1])+0.5
		poly, err := plotter.NewPolygon(plotter.XYs{{X: lo, Y: 0}, {X: hi, Y: 0}, {X: hi, Y: pl.Y.Max}, {X: lo, Y: pl.Y.Max}})
		if err != nil {
			return nil, err
		}
		poly.Color = colourTruth
		poly.LineStyle.Width = 0
		pl.Add(poly)
		if i == 0 {
			pl.Legend.Add("ground truth", poly)
		}
	}

	xy := func(v []float64) plotter.XYs {
		out := make(plotter.XYs, len(v))
		for i, y := range v {
			out[i] = plotter.XY{X: float64(i), Y: y}
		}
		return out
	}
	raw, err := plotter.NewLine(xy(p.Values))
	if err != nil {
		return nil, err
	}
	raw.Color = colourRaw
	raw.Width = vg.Points(1)
	pl.Add(raw)
	pl.Legend.Add("P[f]", raw)
	curve := p.Values
	if p.Smoothed != nil {
		sm, err := plotter.NewLine(xy(p.Smoothed))
		if err != nil {
			return nil, err
		}
		sm.Color = colourSmoothed
		sm.Width = vg.Points(2)
		pl.Add(sm)
		pl.Legend.Add("Savitzky–Golay", sm)
		curve = p.Smoothed
	}
	if len(p.KeyFrames) > 0 {
		pts := make(plotter.XYs, 0, len(p.KeyFrames))
		for _, k := range p.KeyFrames {
			if k < 0 || k >= n {
				return nil, fmt.Errorf("plotting: key frame %d outside [0, %d)", k, n)
			}
			pts = append(pts, plotter.XY{X: float64(k), Y: curve[k]})
			v, err := plotter.NewLine(plotter.XYs{{X: float64(k), Y: 0}, {X: float64(k), Y: pl.Y.Max}})
			if err != nil {
				return nil, err
			}
			v.Color = colourKey
			v.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
			pl.Add(v)
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: colourKey, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		pl.Add(sc)
		pl.Legend.Add("key frames", sc)
	}
	pl.Legend.Top = true
	return pl, nil
}

// WritePNG draws the chart as a width×height-pixel PNG.
func (p Profile) WritePNG(w io.Writer, width, height int) error {
	pl, err := p.Plot()
	if err != nil {
		return err
	}
	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(width)*vg.Inch/dpi, vg.Length(height)*vg.Inch/dpi), vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White))
	pl.Draw(draw.New(c))
	_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// frameTicks puts labelled ticks on whole frames, at a step of 1, 2 or 5
// times a power of ten that gives about eight of them, with unlabelled
// ticks between.
type frameTicks struct{}

func (frameTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000} {
		step = m
		if span/m <= 10 {
			break
		}
	}
	minor := step / 5
	if step <= 2 {
		minor = 0
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step)*step + 0 // + 0 turns −0 into 0
	for x := first; x <= hi; x += step {
		ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', 0, 64)})
	}
	if minor > 0 {
		for x := math.Ceil(lo/minor) * minor; x <= hi; x += minor {
			if math.Mod(x, step) != 0 {
				ticks = append(ticks, plot.Tick{Value: x})
			}
		}
	}
	return ticks
}
