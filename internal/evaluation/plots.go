package evaluation

import (
	"errors"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette colours the methods (matplotlib's tab10).
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{174, 199, 232, 255},
	color.RGBA{255, 127, 14, 255}, color.RGBA{255, 187, 120, 255},
	color.RGBA{44, 160, 44, 255}, color.RGBA{214, 39, 40, 255},
	color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

// chartValue is the value a metric's bar shows: its mean, or log10 of the
// median for SNR; 0 when undefined or infinite.
func chartValue(m MethodResult, name string) float64 {
	s := m.Metrics[name]
	v := s.Mean
	if name == SNR {
		v = math.Log10(s.Median)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// MetricsPlot is a grouped bar chart: one group per metric, one bar per
// method (the mean; for SNR, log10 of the median).
func (r *Report) MetricsPlot() (*plot.Plot, error) {
	if len(r.Methods) == 0 {
		return nil, errors.New("evaluation: no methods to plot")
	}
	pl := plot.New()
	pl.Title.Text = "metrics per method (mean over clips; SNR: log10 of the median)"
	pl.Y.Label.Text = "value"
	pl.Add(plotter.NewGrid())
	n := len(r.Methods)
	w := vg.Points(60 / float64(n))
	labels := make([]string, len(AllMetrics))
	for i, name := range AllMetrics {
		labels[i] = name
		if name == SNR {
			labels[i] = "log10 snr"
		}
	}
	for k, m := range r.Methods {
		vals := make(plotter.Values, len(AllMetrics))
		for i, name := range AllMetrics {
			vals[i] = chartValue(m, name)
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bc.Color = palette[k%len(palette)]
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(float64(k)-float64(n-1)/2)
		pl.Add(bc)
		pl.Legend.Add(m.Method, bc)
	}
	pl.NominalX(labels...)
	pl.Legend.Top = true
	pl.Legend.Left = false
	pl.Y.Max = math.Max(pl.Y.Max, 1) * 1.7 // room for the legend
	return pl, nil
}

// TimePlot is the time per clip of each method, a bar chart on a log10
// scale with the bars' bottoms at the axis.
func (r *Report) TimePlot() (*plot.Plot, error) {
	if len(r.Methods) == 0 {
		return nil, errors.New("evaluation: no methods to plot")
	}
	pl := plot.New()
	pl.Title.Text = "time per clip (mean over clips, log scale)"
	pl.Y.Label.Text = "seconds per clip"
	pl.Y.Scale = plot.LogScale{}
	pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	vals := make([]float64, len(r.Methods))
	for k, m := range r.Methods {
		v := m.Time.Mean
		if !(v > 0) || math.IsInf(v, 0) {
			v = 1e-9
		}
		vals[k] = v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	// Whole decades around the values, so that the log ticks are labelled.
	floor := math.Pow(10, math.Floor(math.Log10(lo))-0.0)
	if floor >= lo {
		floor /= 10
	}
	ceil := math.Pow(10, math.Ceil(math.Log10(hi*1.5)))
	names := make([]string, len(r.Methods))
	for k, m := range r.Methods {
		names[k] = m.Method
		x := float64(k)
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x - 0.35, Y: floor}, {X: x + 0.35, Y: floor}, {X: x + 0.35, Y: vals[k]}, {X: x - 0.35, Y: vals[k]}})
		if err != nil {
			return nil, err
		}
		poly.Color = palette[k%len(palette)]
		poly.LineStyle.Width = 0
		pl.Add(poly)
		lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x, Y: vals[k]}}, Labels: []string{fmtNum(vals[k]) + " s"}})
		if err != nil {
			return nil, err
		}
		lbl.Offset = vg.Point{X: -vg.Points(12), Y: vg.Points(3)}
		pl.Add(lbl)
	}
	pl.NominalX(names...)
	pl.X.Min, pl.X.Max = -0.6, float64(len(r.Methods))-0.4
	pl.Y.Min, pl.Y.Max = floor, ceil
	return pl, nil
}

// WritePNG draws pl as a width×height-pixel PNG.
func WritePNG(w io.Writer, pl *plot.Plot, width, height int) error {
	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(width)*vg.Inch/dpi, vg.Length(height)*vg.Inch/dpi), vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White))
	pl.Draw(draw.New(c))
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}
