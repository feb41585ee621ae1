package evaluation

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/staa-dev/staa/staa"
)

// Criterion states the selection rule of Tune, for the table's legend.
func (r *TuneReport) Criterion() []string {
	var ms []string
	for _, m := range r.Methods {
		ms = append(ms, m.String())
	}
	return []string{
		fmt.Sprintf("Guard: for each method (%s), mean faithfulness ≥ raw's − %g and mean deletion AUC ≤ raw's + %g.", strings.Join(ms, ", "), r.Guard, r.Guard),
		fmt.Sprintf("Candidates: the settings that pass the guard with a pooled mean pointing game (over every clip of every method) within %g of the best that pass.", r.Slack),
		"Top: the candidate with the highest pooled mean energy in the mask (ties: the higher pooled median SNR, then the earlier setting in grid order).",
		"Choice (the one-standard-error rule): of the candidates whose pooled mean energy is at least the top's minus its standard error (std/√n over the pooled values), the least aggressive: the smallest γ, then the smallest blur, then the earliest threshold and normalisation in the grid's lists (none first).",
		"Ranks: that plateau, least aggressive first; the other candidates by energy; the other settings that pass the guard by pointing game then energy; those that fail it.",
	}
}

// WriteMarkdown writes the tuning table: the choice, the criterion, raw
// and the chosen setting per method, and every setting of the grid by rank
// (pooled pointing game, energy, SNR median and temporal AP, each method's
// faithfulness and deletion AUC, the guard). current, if it is in the grid,
// is marked as such ("current preset").
func (r *TuneReport) WriteMarkdown(w io.Writer, title string, preamble []string, current staa.Post) error {
	var b strings.Builder
	writeHeading(&b, title, preamble)
	ch := r.Rows[r.Choice]
	fmt.Fprintf(&b, "**Choice: %s** (`%s`).\n\n", PostString(ch.Post), PostJSON(ch.Post))
	if !ch.Guard {
		b.WriteString("No setting passed the guard: the choice is the best of those that fail it.\n\n")
	}
	for _, c := range r.Criterion() {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	fmt.Fprintf(&b, "\nOver %d clips; %d post-processed volumes scored, with %d distinct tube orders (faithfulness and deletion are computed once per order of a clip).\n\n",
		r.Clips, r.Explanations, r.Orders)

	// Per method: raw and the choice.
	b.WriteString("| setting | method |")
	for _, name := range TuneMetrics {
		b.WriteString(" " + tuneTitle(name) + " |")
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", 2+len(TuneMetrics)) + "\n")
	for _, row := range []struct {
		name string
		r    TuneRow
	}{{"raw", r.Raw}, {"top: " + PostString(r.Rows[r.Top].Post), r.Rows[r.Top]}, {"choice: " + PostString(ch.Post), ch}} {
		for mi, m := range r.Methods {
			fmt.Fprintf(&b, "| %s | %s |", row.name, m)
			for _, name := range TuneMetrics {
				b.WriteString(" " + tuneCell(name, row.r.PerMethod[mi][name]) + " |")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nmean ± std over the clips; SNR: median (count of +Inf).\n\n")

	// The grid.
	h := []string{"rank", "setting", "pointing ↑", "energy ↑", "snr median ↑", "temporal AP ↑"}
	for _, m := range r.Methods {
		h = append(h, "faithfulness "+m.String()+" ↑")
	}
	for _, m := range r.Methods {
		h = append(h, "deletion "+m.String()+" ↓")
	}
	h = append(h, "guard")
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(h)) + "\n")
	writeRow := func(rank string, row TuneRow) {
		name := PostString(row.Post)
		if row.Post == current {
			name += " (current preset)"
		}
		c := []string{rank, name,
			fmtNum(row.Pooled[Pointing].Mean), fmtNum(row.Pooled[Energy].Mean),
			fmtNum(row.Pooled[SNR].Median) + " (" + strconv.Itoa(row.Pooled[SNR].Inf) + ")",
			fmtNum(row.Pooled[TemporalAP].Mean)}
		for mi := range r.Methods {
			c = append(c, fmtNum(row.PerMethod[mi][Faithfulness].Mean))
		}
		for mi := range r.Methods {
			c = append(c, fmtNum(row.PerMethod[mi][Deletion].Mean))
		}
		switch {
		case rank == "raw":
			c = append(c, "reference")
		case row.Plateau:
			c = append(c, "pass, plateau")
		case row.Candidate:
			c = append(c, "pass, candidate")
		case row.Guard:
			c = append(c, "pass")
		default:
			c = append(c, "fail: "+row.Failed)
		}
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	writeRow("raw", r.Raw)
	for _, k := range r.Ranked() {
		writeRow(strconv.Itoa(r.Rows[k].Rank), r.Rows[k])
	}
	b.WriteString("\npointing, energy, temporal AP: pooled mean over every clip of every method; snr median: pooled median (count of +Inf); faithfulness and deletion AUC: mean over the clips per method.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func tuneTitle(name string) string {
	if name == SNR {
		return "snr median (+Inf) ↑"
	}
	return name + " " + MetricInfo[name].Better
}

func tuneCell(name string, s Stat) string {
	if name == SNR {
		return fmtNum(s.Median) + " (" + strconv.Itoa(s.Inf) + ")"
	}
	return fmtNum(s.Mean) + " ± " + fmtNum(s.Std)
}

// JSONTuneRow is one setting in the JSON file.
type JSONTuneRow struct {
	Setting     string                         `json:"setting"`
	Postprocess json.RawMessage                `json:"postprocess"`
	Rank        int                            `json:"rank,omitempty"`
	Guard       bool                           `json:"guard"`
	Failed      string                         `json:"failed,omitempty"`
	Candidate   bool                           `json:"candidate"`
	Plateau     bool                           `json:"plateau"`
	Pooled      map[string]JSONStat            `json:"pooled"`
	PerMethod   map[string]map[string]JSONStat `json:"per_method"`
}

// JSONTune is the JSON file of a tuning run.
type JSONTune struct {
	Meta         map[string]any `json:"meta,omitempty"`
	Clips        int            `json:"clips"`
	Methods      []string       `json:"methods"`
	Guard        float64        `json:"guard"`
	Slack        float64        `json:"slack"`
	Criterion    []string       `json:"criterion"`
	Choice       JSONTuneRow    `json:"choice"`
	Top          JSONTuneRow    `json:"top"`
	Raw          JSONTuneRow    `json:"raw"`
	Explanations int            `json:"explanations"`
	Orders       int            `json:"distinct_orders"`
	Grid         []JSONTuneRow  `json:"grid"`
}

func (r *TuneReport) jsonRow(row TuneRow) JSONTuneRow {
	j := JSONTuneRow{Setting: PostString(row.Post), Postprocess: json.RawMessage(PostJSON(row.Post)), Rank: row.Rank,
		Guard: row.Guard, Failed: row.Failed, Candidate: row.Candidate, Plateau: row.Plateau,
		Pooled: map[string]JSONStat{}, PerMethod: map[string]map[string]JSONStat{}}
	for k, s := range row.Pooled {
		j.Pooled[k] = jsonStat(s)
	}
	for mi, m := range r.Methods {
		pm := map[string]JSONStat{}
		for k, s := range row.PerMethod[mi] {
			pm[k] = jsonStat(s)
		}
		j.PerMethod[m.String()] = pm
	}
	return j
}

// JSON returns the report as the JSON file's structure (grid in grid
// order); meta is stored as is.
func (r *TuneReport) JSON(meta map[string]any) JSONTune {
	out := JSONTune{Meta: meta, Clips: r.Clips, Guard: r.Guard, Slack: r.Slack, Criterion: r.Criterion(),
		Choice: r.jsonRow(r.Rows[r.Choice]), Top: r.jsonRow(r.Rows[r.Top]), Raw: r.jsonRow(r.Raw), Explanations: r.Explanations, Orders: r.Orders}
	for _, m := range r.Methods {
		out.Methods = append(out.Methods, m.String())
	}
	for _, row := range r.Rows {
		out.Grid = append(out.Grid, r.jsonRow(row))
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *TuneReport) WriteJSON(w io.Writer, meta map[string]any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSON(meta))
}

// guardMargin is a row's smallest margin over the guard's two conditions
// and the methods: min over m of (faithfulness − raw's) and (raw's deletion
// AUC − its deletion AUC); the guard passes when it is ≥ −δ.
func (r *TuneReport) guardMargin(row TuneRow) float64 {
	m := math.Inf(1)
	for mi := range r.Methods {
		m = math.Min(m, row.PerMethod[mi][Faithfulness].Mean-r.Raw.PerMethod[mi][Faithfulness].Mean)
		m = math.Min(m, r.Raw.PerMethod[mi][Deletion].Mean-row.PerMethod[mi][Deletion].Mean)
	}
	return m
}

// TunePlot is a scatter of the settings: the pooled energy in the mask
// against the guard's margin (the worst, over the methods, of the change in
// mean faithfulness and of the decrease in mean deletion AUC against raw),
// blur by colour, those that fail the guard (left of −δ) as crosses, raw
// and the choice marked.
func (r *TuneReport) TunePlot() (*plot.Plot, error) {
	if len(r.Rows) == 0 {
		return nil, errors.New("evaluation: no settings to plot")
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("post-processing grid, %d tuning clips, %s", r.Clips, methodNames(r.Methods))
	pl.X.Label.Text = "guard margin: worst change in faithfulness (or decrease in deletion AUC) against raw"
	pl.Y.Label.Text = "energy in mask (pooled mean)"
	pl.Add(plotter.NewGrid())
	type key struct {
		blur float64
		pass bool
	}
	groups := map[key]plotter.XYs{}
	lo, hi := 0.0, r.Raw.Pooled[Energy].Mean
	for _, row := range r.Rows {
		xy := plotter.XY{X: r.guardMargin(row), Y: row.Pooled[Energy].Mean}
		if math.IsNaN(xy.X) || math.IsNaN(xy.Y) || math.IsInf(xy.X, 0) {
			continue
		}
		lo, hi = math.Min(lo, xy.X), math.Max(hi, xy.Y)
		k := key{row.Post.Blur, row.Guard}
		groups[k] = append(groups[k], xy)
	}
	add := func(xys plotter.XYs, name string, c color.Color, shape draw.GlyphDrawer, radius vg.Length) error {
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Shape, s.GlyphStyle.Radius = c, shape, radius
		pl.Add(s)
		if name != "" {
			pl.Legend.Add(name, s)
		}
		return nil
	}
	blurs := r.Grid.Blur
	if len(blurs) == 0 {
		for _, row := range r.Rows {
			if !slices.Contains(blurs, row.Post.Blur) {
				blurs = append(blurs, row.Post.Blur)
			}
		}
	}
	for bi, b := range blurs {
		c := palette[(2*bi)%len(palette)]
		for _, pass := range []bool{true, false} {
			xys := groups[key{b, pass}]
			if len(xys) == 0 {
				continue
			}
			name, shape := fmt.Sprintf("blur %s, passes the guard", fmtParam(b)), draw.GlyphDrawer(draw.CircleGlyph{})
			if !pass {
				name, shape = fmt.Sprintf("blur %s, fails it", fmtParam(b)), draw.CrossGlyph{}
			}
			if err := add(xys, name, c, shape, vg.Points(2.5)); err != nil {
				return nil, err
			}
		}
	}
	ch := r.Rows[r.Choice]
	if err := add(plotter.XYs{{X: 0, Y: r.Raw.Pooled[Energy].Mean}}, "raw", color.Black, draw.BoxGlyph{}, vg.Points(5)); err != nil {
		return nil, err
	}
	if err := add(plotter.XYs{{X: r.guardMargin(ch), Y: ch.Pooled[Energy].Mean}}, "choice: "+PostString(ch.Post), palette[5], draw.PyramidGlyph{}, vg.Points(6)); err != nil {
		return nil, err
	}
	line, err := plotter.NewLine(plotter.XYs{{X: -r.Guard, Y: 0}, {X: -r.Guard, Y: math.Min(1, hi*1.5)}})
	if err != nil {
		return nil, err
	}
	line.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	line.LineStyle.Color = color.Gray{Y: 90}
	pl.Add(line)
	pl.Legend.Add(fmt.Sprintf("guard: −%g", r.Guard), line)
	pl.Legend.Top, pl.Legend.Left = true, true
	pl.X.Min, pl.X.Max = lo*1.05, math.Max(0.05, -lo*0.1)
	pl.Y.Min, pl.Y.Max = 0, math.Min(1, hi*1.5) // room for the legend
	return pl, nil
}

func methodNames(ms []staa.Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, " and ")
}
