package arrowio

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
	want []dim  // expected per-row shape; nil for a twin
	set  func(c *staa.Clip, t staa.Tensor)
}

func layoutColumns(g staa.Geometry) (required string, cols []column) {
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
		return ColJoint, []column{
			{name: ColJoint, want: []dim{L, H, {n: S}, {n: S}}, set: func(c *staa.Clip, t staa.Tensor) { c.Joint = t }},
			{name: ColJointGrad, base: ColJoint, set: func(c *staa.Clip, t staa.Tensor) { c.JointGrad = t }},
		}
	}
	CN := addSat(C, N)
	return ColSpatial, []column{
		{name: ColSpatial, want: []dim{L, {n: T}, H, {n: CN}, {n: CN}}, set: func(c *staa.Clip, t staa.Tensor) { c.Spatial = t }},
		{name: ColTemporal, want: []dim{L, {n: N}, H, {n: T}, {n: T}}, set: func(c *staa.Clip, t staa.Tensor) { c.Temporal = t }},
		{name: ColSpatialGrad, base: ColSpatial, set: func(c *staa.Clip, t staa.Tensor) { c.SpatialGrad = t }},
		{name: ColTemporalGrad, base: ColTemporal, set: func(c *staa.Clip, t staa.Tensor) { c.TemporalGrad = t }},
	}
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

// ReadClips returns the clips of rec, one per row, for the geometry of cfg.
//
// It checks the column names (for cfg's layout), their types and field
// metadata, the per-row shapes against the geometry (L and H are free, but
// the same L across columns, and a *_grad twin has exactly the shape of its
// attention), and that nothing is null. It does not look at the values: the
// engine refuses NaN and infinities.
//
// Zero copy: the tensors of the returned clips are slices over rec's
// buffers, valid while rec is.
func ReadClips(rec arrow.RecordBatch, cfg staa.Config) ([]staa.Clip, error) {
	if rec == nil {
		return nil, errors.New("staa: no record batch")
	}
	g := cfg.Geometry
	if err := g.Validate(); err != nil {
		return nil, err
	}
	rows := rec.NumRows()
	if rows <= 0 {
		return nil, errors.New("staa: empty batch: the record batch has no rows (one row per clip)")
	}
	required, cols := layoutColumns(g)
	schema := rec.Schema()
	if schema == nil || int64(schema.NumFields()) != rec.NumCols() {
		return nil, errors.New("staa: record batch schema does not match its columns")
	}
	type found struct {
		idx   int
		shape []int
	}
	seen := make(map[string]found, len(cols))
	for i, f := range schema.Fields() {
		ok := false
		for _, c := range cols {
			if c.name == f.Name {
				ok = true
				break
			}
		}
		if !ok {
			other := staa.Joint
			if g.Layout == staa.Joint {
				other = staa.Divided
			}
			_, oc := layoutColumns(staa.Geometry{Layout: other})
			for _, c := range oc {
				if c.name == f.Name {
					return nil, fmt.Errorf("staa: column %q is not used by layout %s (want %s); did you mean layout %s?", f.Name, g.Layout, columnNames(cols), other)
				}
			}
			return nil, fmt.Errorf("staa: column %q: unknown column for layout %s (want %s)", f.Name, g.Layout, columnNames(cols))
		}
		if _, dup := seen[f.Name]; dup {
			return nil, fmt.Errorf("staa: column %q appears twice", f.Name)
		}
		shape, _, err := TensorShape(f)
		if err != nil {
			return nil, err
		}
		seen[f.Name] = found{idx: i, shape: shape}
	}
	if _, ok := seen[required]; !ok {
		return nil, fmt.Errorf("staa: missing column %q (layout %s needs it)", required, g.Layout)
	}

	// Shapes: against the geometry, then across columns.
	for _, c := range cols {
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
		if !matches(fc.shape, c.want) {
			return nil, fmt.Errorf("staa: column %q: shape %v does not match %s: want %s", c.name, fc.shape, describe(g), shapeString(c.want))
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
	views := make([]rowView, len(cols))
	for i, c := range cols {
		fc, ok := seen[c.name]
		if !ok {
			continue
		}
		v, err := tensorRows(schema.Field(fc.idx), fc.shape, rec.Column(fc.idx), rows)
		if err != nil {
			return nil, err
		}
		views[i] = v
	}
	clips := make([]staa.Clip, rows)
	for i, c := range cols {
		if _, ok := seen[c.name]; !ok {
			continue
		}
		for r := range clips {
			c.set(&clips[r], views[i].row(int64(r)))
		}
	}
	return clips, nil
}

// rowView is a checked tensor column: row r is elements
// [(off+r)·size, (off+r+1)·size) of f32 or f16.
type rowView struct {
	shape     []int
	f32       []float32
	f16       []float16.Num
	off, size int64
}

func (v rowView) row(r int64) staa.Tensor {
	s := (v.off + r) * v.size
	e := s + v.size
	if v.f16 != nil {
		return staa.Tensor{Shape: v.shape, F16: v.f16[s:e:e]}
	}
	return staa.Tensor{Shape: v.shape, F32: v.f32[s:e:e]}
}

// tensorRows checks that column arr of field f holds rows non-null tensors of
// the given shape and returns the view that cuts them out without copying.
func tensorRows(f arrow.Field, shape []int, arr arrow.Array, rows int64) (rowView, error) {
	v := rowView{shape: shape}
	if arr == nil || !arrow.TypeEqual(arr.DataType(), f.Type) {
		return v, fmt.Errorf("staa: column %q: array type does not match the field type %s", f.Name, f.Type)
	}
	fsl, ok := arr.(*array.FixedSizeList)
	if !ok {
		return v, fmt.Errorf("staa: column %q: not a fixed-size list array", f.Name)
	}
	if int64(fsl.Len()) < rows {
		return v, fmt.Errorf("staa: column %q has %d rows, the batch %d", f.Name, fsl.Len(), rows)
	}
	values := fsl.ListValues()
	if values == nil {
		return v, fmt.Errorf("staa: column %q: no values", f.Name)
	}
	v.size = int64(f.Type.(*arrow.FixedSizeListType).Len())
	v.off = int64(fsl.Data().Offset())
	// the values of rows [0, rows) are [off·size, (off+rows)·size)
	end := mulSat(addSat(v.off, rows), v.size)
	if v.off < 0 || v.size <= 0 || end > int64(values.Len()) {
		return v, fmt.Errorf("staa: column %q: %d rows of %d values need %d values, the array holds %d", f.Name, rows, v.size, end, values.Len())
	}
	// Null checks. NullN and IsNull trust the validity bitmap: check that it
	// covers the array first (a missing or empty bitmap means no nulls).
	rowNulls, ok1 := hasNulls(fsl)
	valNulls, ok2 := hasNulls(values)
	if !ok1 || !ok2 {
		return v, fmt.Errorf("staa: column %q: validity bitmap shorter than the array", f.Name)
	}
	if rowNulls {
		for r := 0; r < int(rows); r++ {
			if fsl.IsNull(r) {
				return v, fmt.Errorf("staa: column %q: row %d is null (nulls are not allowed)", f.Name, r)
			}
		}
	}
	if valNulls {
		return v, fmt.Errorf("staa: column %q: holds null values (nulls are not allowed)", f.Name)
	}
	switch a := values.(type) {
	case *array.Float32:
		v.f32 = a.Float32Values()
		if int64(len(v.f32)) < end {
			return v, fmt.Errorf("staa: column %q: values buffer too short", f.Name)
		}
	case *array.Float16:
		v.f16 = a.Values()
		if int64(len(v.f16)) < end {
			return v, fmt.Errorf("staa: column %q: values buffer too short", f.Name)
		}
	default:
		return v, fmt.Errorf("staa: column %q: element type %s, want float32 or float16", f.Name, values.DataType())
	}
	return v, nil
}

// ReadVolumes returns the volumes of rec's single column "volume"
// ([F, h, w] per row, float32 or float16), the input of staa_postprocess.
// float32 volumes are slices over rec's buffers (zero copy, valid while rec
// is); float16 ones are widened into new memory.
func ReadVolumes(rec arrow.RecordBatch) ([]staa.Volume, error) {
	if rec == nil {
		return nil, errors.New("staa: no record batch")
	}
	rows := rec.NumRows()
	if rows <= 0 {
		return nil, errors.New("staa: empty batch: the record batch has no rows (one row per volume)")
	}
	schema := rec.Schema()
	if schema == nil || int64(schema.NumFields()) != rec.NumCols() {
		return nil, errors.New("staa: record batch schema does not match its columns")
	}
	idx := -1
	for i, f := range schema.Fields() {
		if f.Name != ColVolume {
			return nil, fmt.Errorf("staa: column %q: unknown column (staa_postprocess takes the single column %q)", f.Name, ColVolume)
		}
		if idx >= 0 {
			return nil, fmt.Errorf("staa: column %q appears twice", f.Name)
		}
		idx = i
	}
	if idx < 0 {
		return nil, fmt.Errorf("staa: missing column %q", ColVolume)
	}
	f := schema.Field(idx)
	shape, _, err := TensorShape(f)
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("staa: column %q: shape %v, want [F h w]", f.Name, shape)
	}
	v, err := tensorRows(f, shape, rec.Column(idx), rows)
	if err != nil {
		return nil, err
	}
	vols := make([]staa.Volume, rows)
	for r := range vols {
		t := v.row(int64(r))
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
