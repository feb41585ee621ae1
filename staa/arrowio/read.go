package arrowio

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/staa-dev/staa/staa"
)

// dim is one axis of an expected shape: a fixed size, or a free one named
// sym (L layers, H heads).
type dim struct {
	sym string
	n   int64
}

func (d dim) String() string {
	if d.sym != "" {
		return d.sym
	}
	return fmt.Sprint(d.n)
}

func shapeString(want []dim) string {
	s := make([]string, len(want))
	for i, d := range want {
		s[i] = d.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// mulSat and addSat saturate at MaxInt64: an impossible size that no shape
// read from metadata (each dimension ≤ MaxInt32) can match.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// column describes an input column of a layout.
type column struct {
	name string
	base string // for a *_grad twin: the column whose shape it has
	want dims   // expected per-row shape; empty for a twin
	set  func(c *staa.Clip, t staa.Tensor)
}

// dims is an expected per-row shape of up to 5 axes, in an array rather
// than a slice so that a layout is a plain value (no allocation per call).
type dims struct {
	axes [5]dim
	rank int
}

func dimsOf(ds ...dim) dims {
	var d dims
	d.rank = copy(d.axes[:], ds)
	return d
}

func (d *dims) list() []dim { return d.axes[:d.rank] }

// inputLayout is the input columns of a layout, by value.
type inputLayout struct {
	required string // the column the layout cannot do without
	cols     [maxLayoutColumns]column
	n        int
}

func (l *inputLayout) columns() []column { return l.cols[:l.n] }

// maxLayoutColumns bounds the columns of a layout (divided: spatial,
// temporal and their gradients).
const maxLayoutColumns = 4

func layoutColumns(g staa.Geometry) inputLayout {
	tub := int64(g.Tubelet)
	if tub == 0 {
		tub = 1
	}
	T := int64(g.Frames) / tub
	N := mulSat(int64(g.Height), int64(g.Width))
	C := int64(g.C())
	L, H := dim{sym: "L"}, dim{sym: "H"}
	if g.Layout == staa.Joint {
		S := addSat(C, mulSat(T, N))
		return inputLayout{required: ColJoint, n: 2, cols: [maxLayoutColumns]column{
			{name: ColJoint, want: dimsOf(L, H, dim{n: S}, dim{n: S}), set: func(c *staa.Clip, t staa.Tensor) { c.Joint = t }},
			{name: ColJointGrad, base: ColJoint, set: func(c *staa.Clip, t staa.Tensor) { c.JointGrad = t }},
		}}
	}
	CN := addSat(C, N)
	return inputLayout{required: ColSpatial, n: 4, cols: [maxLayoutColumns]column{
		{name: ColSpatial, want: dimsOf(L, dim{n: T}, H, dim{n: CN}, dim{n: CN}), set: func(c *staa.Clip, t staa.Tensor) { c.Spatial = t }},
		{name: ColTemporal, want: dimsOf(L, dim{n: N}, H, dim{n: T}, dim{n: T}), set: func(c *staa.Clip, t staa.Tensor) { c.Temporal = t }},
		{name: ColSpatialGrad, base: ColSpatial, set: func(c *staa.Clip, t staa.Tensor) { c.SpatialGrad = t }},
		{name: ColTemporalGrad, base: ColTemporal, set: func(c *staa.Clip, t staa.Tensor) { c.TemporalGrad = t }},
	}}
}

func columnNames(cols []column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.name
	}
	return strings.Join(s, ", ")
}

func describe(g staa.Geometry) string {
	tub := g.Tubelet
	if tub == 0 {
		tub = 1
	}
	return fmt.Sprintf("layout %s with frames %d, grid [%d %d], cls %t, tubelet %d", g.Layout, g.Frames, g.Height, g.Width, g.CLS, tub)
}

func matches(shape []int, want []dim) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, d := range want {
		if d.sym == "" && int64(shape[i]) != d.n {
			return false
		}
	}
	return true
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ReadClips returns the clips of rec, one per row, for the geometry of cfg:
// ReadClipColumns on rec's columns.
//
// Zero copy: the tensors of the returned clips are slices over rec's
// buffers, valid while rec is.
func ReadClips(rec arrow.RecordBatch, cfg staa.Config) ([]staa.Clip, error) {
	cols, rows, err := RecordColumns(rec)
	if err != nil {
		return nil, err
	}
	return ReadClipColumns(cols, rows, cfg)
}

// ReadClipColumns returns the clips of a batch of rows rows and columns
// cols, one per row, for the geometry of cfg.
//
// It checks the column names (for cfg's layout), their types and field
// metadata, the per-row shapes against the geometry (L and H are free, but
// the same L across columns, and a *_grad twin has exactly the shape of its
// attention), and that every column has the batch's rows, values and no
// nulls. It does not look at the values: the engine refuses NaN and
// infinities.
//
// Zero copy: the tensors of the returned clips are slices over the columns'
// Values.
func ReadClipColumns(cols []InputColumn, rows int, cfg staa.Config) ([]staa.Clip, error) {
	g := cfg.Geometry
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if rows <= 0 {
		return nil, errors.New("staa: empty batch: the record batch has no rows (one row per clip)")
	}
	lay := layoutColumns(g)
	layout := lay.columns()
	type found struct {
		idx   int
		shape []int
	}
	seen := make(map[string]found, len(layout))
	for i, c := range cols {
		if err := inLayout(c.Name, g, layout); err != nil {
			return nil, err
		}
		if _, dup := seen[c.Name]; dup {
			return nil, fmt.Errorf("staa: column %q appears twice", c.Name)
		}
		shape, err := c.tensorShape()
		if err != nil {
			return nil, err
		}
		seen[c.Name] = found{idx: i, shape: shape}
	}
	if _, ok := seen[lay.required]; !ok {
		return nil, fmt.Errorf("staa: missing column %q (layout %s needs it)", lay.required, g.Layout)
	}

	// Shapes: against the geometry, then across columns.
	for _, c := range layout {
		fc, ok := seen[c.name]
		if !ok {
			continue
		}
		if c.base != "" {
			fb, ok := seen[c.base]
			if !ok {
				return nil, fmt.Errorf("staa: column %q needs column %q", c.name, c.base)
			}
			if !equalShapes(fc.shape, fb.shape) {
				return nil, fmt.Errorf("staa: column %q: shape %v, want %v (the shape of column %q)", c.name, fc.shape, fb.shape, c.base)
			}
			continue
		}
		if !matches(fc.shape, c.want.list()) {
			return nil, fmt.Errorf("staa: column %q: shape %v does not match %s: want %s", c.name, fc.shape, describe(g), shapeString(c.want.list()))
		}
	}
	if ft, ok := seen[ColTemporal]; ok {
		fs := seen[ColSpatial]
		if ft.shape[0] != fs.shape[0] {
			return nil, fmt.Errorf("staa: column %q: shape %v has %d layers but column %q has %d", ColTemporal, ft.shape, ft.shape[0], ColSpatial, fs.shape[0])
		}
	}

	// Check every column before allocating anything per row: a corrupt
	// batch may claim any number of rows.
	var views [maxLayoutColumns]rowView
	for i, c := range layout {
		fc, ok := seen[c.name]
		if !ok {
			continue
		}
		v, err := cols[fc.idx].view(fc.shape, rows)
		if err != nil {
			return nil, err
		}
		views[i] = v
	}
	clips := make([]staa.Clip, rows)
	for i, c := range layout {
		if _, ok := seen[c.name]; !ok {
			continue
		}
		for r := range clips {
			c.set(&clips[r], views[i].row(r))
		}
	}
	return clips, nil
}

// inLayout returns the error for a column named name that the layout of g
// (whose columns are layout) does not use, or nil.
func inLayout(name string, g staa.Geometry, layout []column) error {
	for _, c := range layout {
		if c.name == name {
			return nil
		}
	}
	other := staa.Joint
	if g.Layout == staa.Joint {
		other = staa.Divided
	}
	oc := layoutColumns(staa.Geometry{Layout: other})
	for _, c := range oc.columns() {
		if c.name == name {
			return fmt.Errorf("staa: column %q is not used by layout %s (want %s); did you mean layout %s?", name, g.Layout, columnNames(layout), other)
		}
	}
	return fmt.Errorf("staa: column %q: unknown column for layout %s (want %s)", name, g.Layout, columnNames(layout))
}

// ReadVolumes returns the volumes of rec's single column "volume"
// ([F, h, w] per row, float32 or float16), the input of staa_postprocess:
// ReadVolumeColumns on rec's columns. float32 volumes are slices over rec's
// buffers (zero copy, valid while rec is); float16 ones are widened into new
// memory.
func ReadVolumes(rec arrow.RecordBatch) ([]staa.Volume, error) {
	cols, rows, err := RecordColumns(rec)
	if err != nil {
		return nil, err
	}
	return ReadVolumeColumns(cols, rows)
}

// ReadVolumeColumns returns the volumes of a batch of rows rows whose single
// column is "volume" ([F, h, w] per row, float32 or float16). float32
// volumes are slices over the column's Values; float16 ones are widened into
// new memory.
func ReadVolumeColumns(cols []InputColumn, rows int) ([]staa.Volume, error) {
	if rows <= 0 {
		return nil, errors.New("staa: empty batch: the record batch has no rows (one row per volume)")
	}
	idx := -1
	for i, c := range cols {
		if c.Name != ColVolume {
			return nil, fmt.Errorf("staa: column %q: unknown column (staa_postprocess takes the single column %q)", c.Name, ColVolume)
		}
		if idx >= 0 {
			return nil, fmt.Errorf("staa: column %q appears twice", c.Name)
		}
		idx = i
	}
	if idx < 0 {
		return nil, fmt.Errorf("staa: missing column %q", ColVolume)
	}
	c := cols[idx]
	shape, err := c.tensorShape()
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("staa: column %q: shape %v, want [F h w]", c.Name, shape)
	}
	v, err := c.view(shape, rows)
	if err != nil {
		return nil, err
	}
	vols := make([]staa.Volume, rows)
	for r := range vols {
		t := v.row(r)
		vols[r] = staa.Volume{Frames: shape[0], Height: shape[1], Width: shape[2], Data: t.F32}
		if t.F16 != nil {
			vols[r].Data = widen(t.F16)
		}
	}
	return vols, nil
}

// widen converts float16 values to float32, exactly.
func widen(h []float16.Num) []float32 {
	out := make([]float32, len(h))
	for i, x := range h {
		out[i] = halfToFloat32(x.Uint16())
	}
	return out
}

// halfToFloat32 returns the float32 value of the IEEE binary16 bits h. It
// exists because arrow-go v18.8's float16.Num.Float32 gets subnormals wrong
// (it copies the mantissa bits into a float32 subnormal: 6e-8 comes out as
// 1e-41), and softmax attention in float16 is full of subnormals.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// subnormal: mant·2^-24, normalised for float32
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// hasNulls reports whether a has null elements, and ok false when its
// validity bitmap is too short for it. A missing or empty bitmap means no
// nulls (as IsNull reads it).
func hasNulls(a arrow.Array) (nulls, ok bool) {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) == 0 || bufs[0] == nil || bufs[0].Len() == 0 {
		return false, true
	}
	need := (int64(d.Offset()) + int64(d.Len()) + 7) / 8
	if int64(bufs[0].Len()) < need {
		return false, false
	}
	return a.NullN() != 0, true
}
