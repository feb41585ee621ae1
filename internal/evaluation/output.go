package evaluation

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Num is a float64 that marshals to JSON as a number, null for NaN and the
// strings "+Inf" and "-Inf" for the infinities.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte("null"), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch s {
	case "null":
		*n = Num(math.NaN())
		return nil
	case `"+Inf"`:
		*n = Num(math.Inf(1))
		return nil
	case `"-Inf"`:
		*n = Num(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	*n = Num(f)
	return err
}

// JSONStat is a Stat in the JSON file.
type JSONStat struct {
	Mean   Num `json:"mean"`
	Std    Num `json:"std"`
	N      int `json:"n"`
	Median Num `json:"median"`
	Inf    int `json:"inf,omitempty"`
}

func jsonStat(s Stat) JSONStat {
	return JSONStat{Mean: Num(s.Mean), Std: Num(s.Std), N: s.N, Median: Num(s.Median), Inf: s.Inf}
}

// JSONClip is one method's scores on one clip in the JSON file.
type JSONClip struct {
	Clip    int            `json:"clip"`
	Label   int            `json:"label"`
	Target  int            `json:"target"`
	Seconds float64        `json:"seconds"`
	Metrics map[string]Num `json:"metrics"`
}

// JSONMethod is one method in the JSON file.
type JSONMethod struct {
	Method string `json:"method"`
	// External is the staa.method of a row read from an attributions file.
	External    string              `json:"attributions_method,omitempty"`
	TimePerClip JSONStat            `json:"time_per_clip_seconds"`
	Metrics     map[string]JSONStat `json:"metrics"`
	Clips       []JSONClip          `json:"clips"`
}

// JSONReport is the JSON file.
type JSONReport struct {
	Meta         map[string]any `json:"meta,omitempty"`
	Clips        int            `json:"clips"`
	Metrics      []string       `json:"metric_names"`
	SHAPSegments int            `json:"shap_segments"`
	LIMESamples  int            `json:"lime_samples"`
	Batch        int            `json:"batch"`
	Notes        []string       `json:"notes"`
	Methods      []JSONMethod   `json:"methods"`
}

// notes explain the table's conventions.
var notes = []string{
	"mean and std (population) over the clips where the metric is defined (n); NaN values (undefined) are left out",
	"snr: summarised by its median over the clips, +Inf included in the ordering, and the count of +Inf values (inf); its mean and std are over the finite values only",
	"time per clip: wall time of the explanation alone (STAA: one forward pass with attention and the attribution, on preprocessed input; SHAP and LIME: all their batched model calls), not of the metrics",
	"STAA is scored on its post-processed volume (Attribution.Spatial) and temporal profile; SHAP and LIME on their positive-part volumes",
}

// JSON returns the report as the JSON file's structure; meta is stored
// as is.
func (r *Report) JSON(meta map[string]any) JSONReport {
	out := JSONReport{Meta: meta, Clips: r.Clips, Metrics: AllMetrics, SHAPSegments: r.SHAPSegments,
		LIMESamples: r.LIMESamples, Batch: r.Batch, Notes: notes}
	for _, m := range r.Methods {
		jm := JSONMethod{Method: m.Method, External: m.External, TimePerClip: jsonStat(m.Time), Metrics: map[string]JSONStat{}}
		for k, s := range m.Metrics {
			jm.Metrics[k] = jsonStat(s)
		}
		for _, c := range m.Clips {
			jc := JSONClip{Clip: c.Clip, Label: c.Label, Target: c.Target, Seconds: c.Seconds, Metrics: map[string]Num{}}
			for k, v := range c.Metrics {
				jc.Metrics[k] = Num(v)
			}
			jm.Clips = append(jm.Clips, jc)
		}
		out.Methods = append(out.Methods, jm)
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer, meta map[string]any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSON(meta))
}

// fmtNum formats a table number: 4 significant digits, NaN and ±Inf as Go
// spells them (strconv.ParseFloat reads every cell back).
func fmtNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// TableHeader returns the column titles of the Markdown table.
func TableHeader() []string {
	h := []string{"method"}
	for _, m := range AllMetrics {
		if m == SNR {
			h = append(h, "snr median ↑", "snr +Inf")
			continue
		}
		h = append(h, m+" "+MetricInfo[m].Better)
	}
	return append(h, "time per clip (s)")
}

// writeHeading writes a Markdown document's heading (when title is not
// empty) and its preamble lines, followed by a blank line.
func writeHeading(b *strings.Builder, title string, preamble []string) {
	if title != "" {
		fmt.Fprintf(b, "# %s\n\n", title)
	}
	for _, p := range preamble {
		fmt.Fprintf(b, "%s\n", p)
	}
	if len(preamble) > 0 {
		b.WriteString("\n")
	}
}

// WriteMarkdown writes the table (one row per method: mean ± std of every
// metric, SNR's median and count of +Inf, the time per clip) with a
// legend. title, when not empty, is the heading.
func (r *Report) WriteMarkdown(w io.Writer, title string, preamble []string) error {
	var b strings.Builder
	writeHeading(&b, title, preamble)
	h := TableHeader()
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(h)) + "\n")
	for _, m := range r.Methods {
		row := []string{m.Method}
		for _, name := range AllMetrics {
			s := m.Metrics[name]
			if name == SNR {
				row = append(row, fmtNum(s.Median), strconv.Itoa(s.Inf))
				continue
			}
			row = append(row, fmtNum(s.Mean)+" ± "+fmtNum(s.Std))
		}
		row = append(row, fmtNum(m.Time.Mean)+" ± "+fmtNum(m.Time.Std))
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
	b.WriteString("↑: higher is better; ↓: lower is better. Over " + strconv.Itoa(r.Clips) + " clips.\n\n")
	for _, n := range notes {
		b.WriteString("- " + n + ".\n")
	}
	for _, m := range r.Methods {
		if m.External != "" {
			fmt.Fprintf(&b, "- %s: explanations read from an attributions file (staa.method %q), scored like SHAP and LIME; its time per clip is the file's seconds column, measured where they were computed.\n", m.Method, m.External)
		}
	}
	for _, m := range r.Methods {
		for _, name := range AllMetrics {
			if s := m.Metrics[name]; name != SNR && s.N < r.Clips {
				fmt.Fprintf(&b, "- %s, %s: defined on %d of %d clips.\n", m.Method, name, s.N, r.Clips)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CheckTable parses the Markdown table that WriteMarkdown writes and checks
// that its header is TableHeader, that it has one row per method, in order,
// and that every cell but the method's parses as numbers ("a ± b" as two).
// It returns the rows' cells. It is for tests, here so that the command's
// tests share it.
func CheckTable(md string, methods []string) ([][]string, error) {
	var lines []string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "|") {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(methods)+2 {
		return nil, fmt.Errorf("table has %d lines, want %d", len(lines), len(methods)+2)
	}
	cells := func(l string) []string {
		c := strings.Split(strings.Trim(l, "|"), "|")
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		return c
	}
	head := cells(lines[0])
	if want := TableHeader(); strings.Join(head, "|") != strings.Join(want, "|") {
		return nil, fmt.Errorf("header %q, want %q", head, want)
	}
	for _, m := range AllMetrics {
		if !strings.Contains(lines[0], m) {
			return nil, fmt.Errorf("header lacks %s", m)
		}
	}
	var rows [][]string
	for i, l := range lines[2:] {
		c := cells(l)
		if len(c) != len(head) {
			return nil, fmt.Errorf("row %d has %d cells, want %d: %s", i, len(c), len(head), l)
		}
		if c[0] != methods[i] {
			return nil, fmt.Errorf("row %d is %q, want %q", i, c[0], methods[i])
		}
		for j, cell := range c[1:] {
			for _, part := range strings.Split(cell, " ± ") {
				if _, err := strconv.ParseFloat(part, 64); err != nil {
					return nil, fmt.Errorf("row %s, column %s: %q does not parse: %v", c[0], head[j+1], cell, err)
				}
			}
		}
		rows = append(rows, c)
	}
	return rows, nil
}
