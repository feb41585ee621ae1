package main

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// icol is a column of an input batch for the import tests: a tensor column
// of the given per-row shape, its metadata overridden by meta when not "".
type icol struct {
	name  string
	elem  arrow.DataType
	shape []int
	meta  string // ARROW:extension:metadata instead of {"shape":...}
}

var (
	f32 = arrow.PrimitiveTypes.Float32
	f16 = arrow.FixedWidthTypes.Float16
	f64 = arrow.PrimitiveTypes.Float64
)

// inputRecord is a Go record of rows rows of cols, with distinct values.
func inputRecord(t *testing.T, rows int, cols ...icol) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrowio.TensorField(c.name, c.elem, c.shape)
		if c.meta != "" {
			fields[i].Metadata = arrow.NewMetadata([]string{arrowio.ExtensionNameKey, arrowio.ExtensionMetadataKey}, []string{arrowio.FixedShapeTensor, c.meta})
		}
		size := int(fields[i].Type.(*arrow.FixedSizeListType).Len())
		b := array.NewFixedSizeListBuilder(mem, int32(size), c.elem)
		for r := range rows {
			b.Append(true)
			for j := range size {
				v := float32(r) + float32((j*7+i)%97)/128
				switch vb := b.ValueBuilder().(type) {
				case *array.Float32Builder:
					vb.Append(v)
				case *array.Float16Builder:
					vb.Append(float16.New(v))
				case *array.Float64Builder:
					vb.Append(float64(v))
				}
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
		defer arrs[i].Release()
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(rows))
}

// flatAndRecord reads the C export of rec twice, after edit (may be nil)
// changed both exports the same way: in place (importFlat, then read) and
// through arrow-go's importer (importRecord, then read on the record).
func flatAndRecord[T any](t *testing.T, rec arrow.RecordBatch, edit func(cOutput),
	read func([]arrowio.InputColumn, int) (T, error), readRec func(arrow.RecordBatch) (T, error)) (flat, viaRec T, flatErr, recErr error) {
	t.Helper()
	x, err := exportForTest(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer x.free()
	y, err := exportForTest(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer y.free()
	if edit != nil {
		edit(x)
		edit(y)
	}
	cols, rows, ok := importFlat(args{in: x.arr, inSchema: x.sch})
	if !ok {
		t.Fatal("importFlat refused the batch")
	}
	flat, flatErr = read(cols, rows)
	r, recErr := importRecord(args{in: y.arr, inSchema: y.sch})
	if recErr != nil {
		return flat, viaRec, flatErr, recErr
	}
	defer r.Release()
	viaRec, recErr = readRec(r)
	return flat, viaRec, flatErr, recErr
}

// sameErr reports whether a and b are both nil or have the same message.
func sameErr(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
}

// sameTensor reports whether a and b have the same shape and values (and
// the same element type).
func sameTensor(a, b staa.Tensor) bool {
	return slices.Equal(a.Shape, b.Shape) && (a.F32 == nil) == (b.F32 == nil) && (a.F16 == nil) == (b.F16 == nil) &&
		slices.Equal(a.F16, b.F16) && slices.EqualFunc(a.F32, b.F32, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y)
	})
}

func sameClips(a, b []staa.Clip) bool {
	return slices.EqualFunc(a, b, func(x, y staa.Clip) bool {
		return sameTensor(x.Spatial, y.Spatial) && sameTensor(x.Temporal, y.Temporal) && sameTensor(x.Joint, y.Joint) &&
			sameTensor(x.SpatialGrad, y.SpatialGrad) && sameTensor(x.TemporalGrad, y.TemporalGrad) && sameTensor(x.JointGrad, y.JointGrad)
	})
}

// The in-place import and arrow-go's importer followed by ReadClips give
// the same clips, or the same error, and so does ReadClips on the Go record
// that was exported (when the edit of the C batch leaves it meaning the
// same).
func TestFlatImportMatchesRecordClips(t *testing.T) {
	const rows = 3
	// Divided: frames 4, tubelet 2 (T 2), grid 2×3 with CLS: spatial
	// [L 2 H 7 7], temporal [L 6 H 2 2]. Joint: frames 4, tubelet 2, grid
	// 2×3 with CLS: [L H 13 13].
	divided := `{"frames":4,"tubelet":2,"grid":[2,3]}`
	joint := `{"layout":"joint","frames":4,"tubelet":2,"grid":[2,3]}`
	spatial := icol{name: "spatial", elem: f32, shape: []int{2, 2, 3, 7, 7}}
	temporal := icol{name: "temporal", elem: f32, shape: []int{2, 6, 3, 2, 2}}
	grad := func(c icol) icol { c.name += "_grad"; return c }
	half := func(c icol) icol { c.elem = f16; return c }
	jointCol := icol{name: "joint", elem: f32, shape: []int{1, 2, 13, 13}}
	shorten := func(o cOutput) { setColumn(o, 0, 0, rows-1) }
	skip := func(o cOutput) { setColumn(o, 0, 1, rows) } // rows 1..3 of 4

	cases := []struct {
		name    string
		opts    string
		rows    int // of the Go record; rows when 0
		cols    []icol
		edit    func(cOutput)
		goSame  bool   // ReadClips on the Go record must agree too
		wantErr string // "" = clips
	}{
		{"divided spatial", divided, 0, []icol{spatial}, nil, true, ""},
		{"divided temporal", divided, 0, []icol{spatial, temporal}, nil, true, ""},
		{"divided grads", divided, 0, []icol{temporal, grad(spatial), spatial, grad(temporal)}, nil, true, ""},
		{"divided float16", divided, 0, []icol{half(spatial), half(temporal)}, nil, true, ""},
		{"joint tubelet 2", joint, 0, []icol{jointCol, grad(jointCol)}, nil, true, ""},
		{"joint float16", joint, 0, []icol{half(jointCol)}, nil, true, ""},
		{"offset rows", divided, rows + 1, []icol{spatial}, func(o cOutput) { setColumn(o, 0, 1, rows); o.arr.length = rows }, false, ""},
		{"list size", divided, 0, []icol{{name: "spatial", elem: f32, shape: []int{2, 2, 3, 7, 7}, meta: `{"shape":[2,2,3,7,6]}`}}, nil, true, "shape [2 2 3 7 6] holds 504 values but the list size is 588"},
		{"bad shape json", divided, 0, []icol{{name: "spatial", elem: f32, shape: []int{2, 2, 3, 7, 7}, meta: `{"shape":[2,2,`}}, nil, true, "bad ARROW:extension:metadata"},
		{"shape vs geometry", divided, 0, []icol{{name: "spatial", elem: f32, shape: []int{2, 2, 3, 6, 6}}}, nil, true, "want [L 2 H 7 7]"},
		{"layers", divided, 0, []icol{spatial, {name: "temporal", elem: f32, shape: []int{3, 6, 3, 2, 2}}}, nil, true, "has 3 layers"},
		{"unknown column", divided, 0, []icol{spatial, {name: "attn", elem: f32, shape: []int{4}}}, nil, true, `column "attn": unknown column`},
		{"other layout's column", joint, 0, []icol{jointCol, spatial}, nil, true, `did you mean layout divided`},
		{"float64", divided, 0, []icol{{name: "spatial", elem: f64, shape: []int{2, 2, 3, 7, 7}}}, nil, true, "element type float64, want float32 or float16"},
		{"rows mismatch", divided, 0, []icol{spatial, temporal}, shorten, false, `column "spatial" has 2 rows, the batch 3`},
		{"values short", divided, 0, []icol{spatial}, skip, false, "3 rows of 588 values need 2352 values, the array holds 1764"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := staa.ParseConfig([]byte(tc.opts))
			if err != nil {
				t.Fatal(err)
			}
			n := tc.rows
			if n == 0 {
				n = rows
			}
			rec := inputRecord(t, n, tc.cols...)
			defer rec.Release()
			read := func(cols []arrowio.InputColumn, rows int) ([]staa.Clip, error) {
				return arrowio.ReadClipColumns(cols, rows, cfg)
			}
			readRec := func(r arrow.RecordBatch) ([]staa.Clip, error) { return arrowio.ReadClips(r, cfg) }
			flat, viaRec, flatErr, recErr := flatAndRecord(t, rec, tc.edit, read, readRec)
			if !sameErr(flatErr, recErr) {
				t.Fatalf("in place: %v; through arrow-go: %v", flatErr, recErr)
			}
			if tc.wantErr != "" {
				if flatErr == nil || !strings.Contains(flatErr.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", flatErr, tc.wantErr)
				}
			} else if flatErr != nil {
				t.Fatal(flatErr)
			}
			if !sameClips(flat, viaRec) || len(flat) != rows && flatErr == nil {
				t.Fatalf("the clips differ (%d in place, %d through arrow-go)", len(flat), len(viaRec))
			}
			if tc.goSame {
				goClips, goErr := arrowio.ReadClips(rec, cfg)
				if !sameErr(flatErr, goErr) || !sameClips(flat, goClips) {
					t.Fatalf("in place: %v; ReadClips on the Go record: %v (or the clips differ)", flatErr, goErr)
				}
			}
		})
	}
}

// The same for staa_postprocess's volumes.
func TestFlatImportMatchesRecordVolumes(t *testing.T) {
	const rows = 2
	volume := icol{name: "volume", elem: f32, shape: []int{3, 2, 5}}
	cases := []struct {
		name    string
		cols    []icol
		wantErr string
	}{
		{"float32", []icol{volume}, ""},
		{"float16", []icol{{name: "volume", elem: f16, shape: []int{3, 2, 5}}}, ""},
		{"rank", []icol{{name: "volume", elem: f32, shape: []int{6, 5}}}, "want [F h w]"},
		{"unknown column", []icol{volume, {name: "spatial", elem: f32, shape: []int{3, 2, 5}}}, `column "spatial": unknown column`},
		{"float64", []icol{{name: "volume", elem: f64, shape: []int{3, 2, 5}}}, "element type float64"},
	}
	sameVolumes := func(a, b []staa.Volume) bool {
		return slices.EqualFunc(a, b, func(x, y staa.Volume) bool {
			return x.Frames == y.Frames && x.Height == y.Height && x.Width == y.Width && slices.Equal(x.Data, y.Data)
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := inputRecord(t, rows, tc.cols...)
			defer rec.Release()
			flat, viaRec, flatErr, recErr := flatAndRecord(t, rec, nil, arrowio.ReadVolumeColumns, arrowio.ReadVolumes)
			goVols, goErr := arrowio.ReadVolumes(rec)
			if !sameErr(flatErr, recErr) || !sameErr(flatErr, goErr) {
				t.Fatalf("in place: %v; through arrow-go: %v; Go record: %v", flatErr, recErr, goErr)
			}
			if (tc.wantErr == "") != (flatErr == nil) || flatErr != nil && !strings.Contains(flatErr.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", flatErr, tc.wantErr)
			}
			if !sameVolumes(flat, viaRec) || !sameVolumes(flat, goVols) || flatErr == nil && len(flat) != rows {
				t.Fatal("the volumes differ")
			}
		})
	}
}
