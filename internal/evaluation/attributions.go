package evaluation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// The attributions file: explanations computed outside staa (for instance
// by the Python shap and lime packages, bindings/python/benchmarks), scored
// by Run as rows of their own. It is an Arrow IPC file (not a stream) with
//
//   - schema metadata MetaAttrMethod (the method's display name),
//     MetaAttrSeed and MetaAttrN (the seed and size of the staa/synth split
//     explained, decimal);
//   - column ColIndex, int64: the clip's index in that split;
//   - column ColVolume, arrow.fixed_shape_tensor of float32 with shape
//     [F, h, w]: the attribution, ≥ 0, on the model's patch grid, F the
//     model's frames;
//   - column ColSeconds, float64: the wall time spent explaining that clip.
//
// One row per clip, every index of 0…n−1 exactly once, in any order, over
// any number of record batches; no nulls. Other columns are ignored.
const (
	MetaAttrMethod = "staa.method"
	MetaAttrSeed   = "staa.seed"
	MetaAttrN      = "staa.n"
	ColIndex       = "index"
	ColVolume      = "volume"
	ColSeconds     = "seconds"
)

// External is one attributions file, read.
type External struct {
	// Name is the table row; Method the file's staa.method.
	Name, Method string
	Seed         uint64
	N            int
	// Volumes and Seconds are indexed by clip.
	Volumes []staa.Volume
	Seconds []float64
}

// AttributionSpec is what an attributions file must match: the split
// (seed and size) and the volume's shape [Frames, Height, Width].
type AttributionSpec struct {
	Seed                  uint64
	N                     int
	Frames, Height, Width int
}

// ReadAtSeeker is what ReadAttributions needs of a file.
type ReadAtSeeker interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// ValidName reports whether name can name a row: letters, digits and
// . _ + - only, and not a built-in method.
func ValidName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-", r)
		if !ok {
			return fmt.Errorf("name %q: use letters, digits and . _ + - only", name)
		}
	}
	for _, m := range AllMethods {
		if name == m {
			return fmt.Errorf("name %q is a built-in method", name)
		}
	}
	return nil
}

// ReadAttributions reads an attributions file (see MetaAttrMethod) whose
// rows will be named name, and checks it against want: the seed, the
// split's size, the volume's shape, every index once, values finite and
// ≥ 0, seconds finite and ≥ 0. Errors say which.
func ReadAttributions(r ReadAtSeeker, name string, want AttributionSpec) (*External, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	fr, err := ipc.NewFileReader(r)
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file (write it with pyarrow.ipc.new_file): %w", err)
	}
	defer fr.Close()
	schema := fr.Schema()
	md := schema.Metadata()
	get := func(key string) (string, error) {
		v, ok := md.GetValue(key)
		if !ok {
			return "", fmt.Errorf("schema metadata %s is missing", key)
		}
		return v, nil
	}
	ext := &External{Name: name}
	if ext.Method, err = get(MetaAttrMethod); err != nil {
		return nil, err
	}
	s, err := get(MetaAttrSeed)
	if err != nil {
		return nil, err
	}
	if ext.Seed, err = strconv.ParseUint(strings.TrimSpace(s), 10, 64); err != nil {
		return nil, fmt.Errorf("schema metadata %s = %q is not a seed", MetaAttrSeed, s)
	}
	if s, err = get(MetaAttrN); err != nil {
		return nil, err
	}
	if ext.N, err = strconv.Atoi(strings.TrimSpace(s)); err != nil || ext.N < 1 {
		return nil, fmt.Errorf("schema metadata %s = %q is not a number of clips", MetaAttrN, s)
	}
	if ext.Seed != want.Seed {
		return nil, fmt.Errorf("the file explains the split of seed %d, this evaluation's is %d (--seed)", ext.Seed, want.Seed)
	}
	if ext.N != want.N {
		return nil, fmt.Errorf("the file explains a split of %d clips, this evaluation has %d (--n)", ext.N, want.N)
	}

	cols := map[string]int{}
	for _, c := range []string{ColIndex, ColVolume, ColSeconds} {
		idx := schema.FieldIndices(c)
		switch len(idx) {
		case 0:
			return nil, fmt.Errorf("column %q is missing (want %s int64, %s fixed_shape_tensor<float32>, %s float64)", c, ColIndex, ColVolume, ColSeconds)
		case 1:
			cols[c] = idx[0]
		default:
			return nil, fmt.Errorf("column %q appears %d times", c, len(idx))
		}
	}
	if t := schema.Field(cols[ColIndex]).Type; t.ID() != arrow.INT64 {
		return nil, fmt.Errorf("column %q is %s, want int64", ColIndex, t)
	}
	if t := schema.Field(cols[ColSeconds]).Type; t.ID() != arrow.FLOAT64 {
		return nil, fmt.Errorf("column %q is %s, want float64", ColSeconds, t)
	}
	shape, size, err := volumeShape(schema.Field(cols[ColVolume]))
	if err != nil {
		return nil, err
	}
	if want := []int{want.Frames, want.Height, want.Width}; !slices.Equal(shape, want) {
		return nil, fmt.Errorf("column %q has shape %v, the model's volumes are %v ([frames, grid h, grid w])", ColVolume, shape, want)
	}

	ext.Volumes = make([]staa.Volume, ext.N)
	ext.Seconds = make([]float64, ext.N)
	seen := make([]bool, ext.N)
	for b := 0; b < fr.NumRecords(); b++ {
		rec, err := fr.RecordBatchAt(b)
		if err != nil {
			return nil, fmt.Errorf("record batch %d: %w", b, err)
		}
		err = readBatch(rec, cols, shape, size, ext, seen)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = append(missing[:10], "…")
		}
		return nil, fmt.Errorf("indices missing: %s (want one row for each clip 0…%d)", strings.Join(missing, ", "), ext.N-1)
	}
	return ext, nil
}

// volumeShape checks that f is a fixed_shape_tensor of float32 (as a
// FixedSizeList with the extension's field metadata, or as a registered
// extension type) and returns its shape and row size.
func volumeShape(f arrow.Field) ([]int, int, error) {
	typ, md := f.Type, f.Metadata
	if et, ok := typ.(arrow.ExtensionType); ok {
		if et.ExtensionName() != "arrow.fixed_shape_tensor" {
			return nil, 0, fmt.Errorf("column %q is the extension %s, want arrow.fixed_shape_tensor", ColVolume, et.ExtensionName())
		}
		typ = et.StorageType()
		md = arrow.NewMetadata([]string{"ARROW:extension:name", "ARROW:extension:metadata"},
			[]string{et.ExtensionName(), et.Serialize()})
	}
	fsl, ok := typ.(*arrow.FixedSizeListType)
	if !ok {
		return nil, 0, fmt.Errorf("column %q is %s, want arrow.fixed_shape_tensor of float32", ColVolume, f.Type)
	}
	if fsl.Elem().ID() != arrow.FLOAT32 {
		return nil, 0, fmt.Errorf("column %q holds %s, want float32", ColVolume, fsl.Elem())
	}
	if name, _ := md.GetValue("ARROW:extension:name"); name != "arrow.fixed_shape_tensor" {
		return nil, 0, fmt.Errorf("column %q is not an arrow.fixed_shape_tensor (field metadata ARROW:extension:name is %q)", ColVolume, name)
	}
	raw, _ := md.GetValue("ARROW:extension:metadata")
	var tm struct {
		Shape       []int `json:"shape"`
		Permutation []int `json:"permutation"`
	}
	if err := json.Unmarshal([]byte(raw), &tm); err != nil || len(tm.Shape) != 3 {
		return nil, 0, fmt.Errorf("column %q: extension metadata %q, want {\"shape\":[F,h,w]}", ColVolume, raw)
	}
	for i, p := range tm.Permutation {
		if p != i {
			return nil, 0, fmt.Errorf("column %q: permutation %v is not supported (write the tensor row-major)", ColVolume, tm.Permutation)
		}
	}
	size := 1
	for _, d := range tm.Shape {
		if d <= 0 || d > math.MaxInt32 {
			return nil, 0, fmt.Errorf("column %q: shape %v has a dimension out of range", ColVolume, tm.Shape)
		}
		size *= d
	}
	if size != int(fsl.Len()) {
		return nil, 0, fmt.Errorf("column %q: shape %v holds %d values, the list size is %d", ColVolume, tm.Shape, size, fsl.Len())
	}
	return tm.Shape, size, nil
}

func readBatch(rec arrow.RecordBatch, cols map[string]int, shape []int, size int, ext *External, seen []bool) error {
	idx, ok := rec.Column(cols[ColIndex]).(*array.Int64)
	if !ok {
		return fmt.Errorf("column %q is not int64", ColIndex)
	}
	secs, ok := rec.Column(cols[ColSeconds]).(*array.Float64)
	if !ok {
		return fmt.Errorf("column %q is not float64", ColSeconds)
	}
	col := rec.Column(cols[ColVolume])
	if e, ok := col.(array.ExtensionArray); ok {
		col = e.Storage()
	}
	vol, ok := col.(*array.FixedSizeList)
	if !ok {
		return fmt.Errorf("column %q is not a fixed-size list", ColVolume)
	}
	vals, ok := vol.ListValues().(*array.Float32)
	if !ok {
		return fmt.Errorf("column %q does not hold float32", ColVolume)
	}
	if idx.NullN() > 0 || secs.NullN() > 0 || vol.NullN() > 0 || vals.NullN() > 0 {
		return errors.New("the file holds nulls (not allowed)")
	}
	data := vals.Float32Values()
	off := vol.Data().Offset()
	n := int(rec.NumRows())
	if (off+n)*size > len(data) {
		return fmt.Errorf("column %q: %d rows need %d values, the array holds %d", ColVolume, n, (off+n)*size, len(data))
	}
	for r := range n {
		i := idx.Value(r)
		if i < 0 || i >= int64(len(seen)) {
			return fmt.Errorf("index %d is outside the split's clips 0…%d", i, len(seen)-1)
		}
		if seen[i] {
			return fmt.Errorf("index %d appears twice", i)
		}
		seen[i] = true
		t := secs.Value(r)
		if !(t >= 0) || math.IsInf(t, 0) {
			return fmt.Errorf("clip %d: seconds %v, want a finite time ≥ 0", i, t)
		}
		v := staa.Volume{Frames: shape[0], Height: shape[1], Width: shape[2],
			Data: append([]float32(nil), data[(off+r)*size:(off+r+1)*size]...)}
		for k, x := range v.Data {
			if !(x >= 0) || math.IsInf(float64(x), 1) {
				f, rem := k/(shape[1]*shape[2]), k%(shape[1]*shape[2])
				return fmt.Errorf("clip %d: volume holds %v at [%d, %d, %d] (want finite values ≥ 0: take the positive part)", i, x, f, rem/shape[2], rem%shape[2])
			}
		}
		ext.Volumes[i], ext.Seconds[i] = v, t
	}
	return nil
}

// WriteAttributions writes x as an attributions file (see MetaAttrMethod):
// schema metadata from x.Method, x.Seed and x.N, one row per clip in index
// order. Every volume must have the first one's shape.
func WriteAttributions(w io.Writer, x *External) error {
	if len(x.Volumes) == 0 || len(x.Volumes) != x.N || len(x.Seconds) != x.N {
		return fmt.Errorf("evaluation: attributions of %d clips hold %d volumes and %d times", x.N, len(x.Volumes), len(x.Seconds))
	}
	v0 := x.Volumes[0]
	shape := []int{v0.Frames, v0.Height, v0.Width}
	md := arrow.NewMetadata([]string{MetaAttrMethod, MetaAttrSeed, MetaAttrN},
		[]string{x.Method, strconv.FormatUint(x.Seed, 10), strconv.Itoa(x.N)})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int64},
		arrowio.TensorField(ColVolume, arrow.PrimitiveTypes.Float32, shape),
		{Name: ColSeconds, Type: arrow.PrimitiveTypes.Float64},
	}, &md)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ib := b.Field(0).(*array.Int64Builder)
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	sb := b.Field(2).(*array.Float64Builder)
	for i, v := range x.Volumes {
		if v.Frames != v0.Frames || v.Height != v0.Height || v.Width != v0.Width || len(v.Data) != v.Frames*v.Height*v.Width {
			return fmt.Errorf("evaluation: attributions: clip %d's volume is not of shape %v", i, shape)
		}
		ib.Append(int64(i))
		lb.Append(true)
		vb.AppendValues(v.Data, nil)
		sb.Append(x.Seconds[i])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close()
}
