package arrowio

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
)

// divided: frames 4, tubelet 2 (T = 2), grid [3, 4] (N = 12), CLS: spatial
// [L, 2, H, 13, 13], temporal [L, 12, H, 2, 2].
func dividedConfig() staa.Config {
	return staa.Config{
		Geometry: staa.Geometry{Layout: staa.Divided, Frames: 4, Height: 3, Width: 4, CLS: true, Tubelet: 2},
		Options:  staa.DefaultOptions(),
	}
}

// joint: frames 3, tubelet 1, grid [3, 4], no CLS: S = 36, joint [L, H, 36, 36].
func jointConfig() staa.Config {
	return staa.Config{
		Geometry: staa.Geometry{Layout: staa.Joint, Frames: 3, Height: 3, Width: 4, CLS: false, Tubelet: 1},
		Options:  staa.DefaultOptions(),
	}
}

func checked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestReadClipsDividedZeroCopy(t *testing.T) {
	mem := checked(t)
	rec := buildBatch(t, mem, 2,
		tcol{name: "spatial", shape: []int{2, 2, 3, 13, 13}},
		tcol{name: "temporal", shape: []int{2, 12, 3, 2, 2}, f16: true},
		tcol{name: "spatial_grad", shape: []int{2, 2, 3, 13, 13}},
	)
	defer rec.Release()
	clips, err := ReadClips(rec, dividedConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 2 {
		t.Fatalf("%d clips, want 2", len(clips))
	}
	vals := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	size := 2 * 2 * 3 * 13 * 13
	for r, c := range clips {
		if got, want := c.Spatial.Shape, []int{2, 2, 3, 13, 13}; !equalShapes(got, want) {
			t.Errorf("row %d: spatial shape %v, want %v", r, got, want)
		}
		if len(c.Spatial.F32) != size || cap(c.Spatial.F32) != size || c.Spatial.F16 != nil {
			t.Fatalf("row %d: spatial len %d cap %d, want %d", r, len(c.Spatial.F32), cap(c.Spatial.F32), size)
		}
		if unsafe.Pointer(&c.Spatial.F32[0]) != unsafe.Pointer(&vals[r*size]) {
			t.Errorf("row %d: spatial tensor is a copy, not a slice of the Arrow buffer", r)
		}
		if c.Spatial.F32[5] != value(r, 5) {
			t.Errorf("row %d: spatial[5] = %v, want %v", r, c.Spatial.F32[5], value(r, 5))
		}
		if c.Temporal.F16 == nil || c.Temporal.F32 != nil || len(c.Temporal.F16) != 2*12*3*2*2 {
			t.Errorf("row %d: temporal not float16 of the right length", r)
		}
		if got := c.Temporal.F16[7].Float32(); got != value(r, 7) {
			t.Errorf("row %d: temporal[7] = %v, want %v", r, got, value(r, 7))
		}
		if c.SpatialGrad.Len() != size || !c.TemporalGrad.Empty() || !c.Joint.Empty() {
			t.Errorf("row %d: wrong tensors set", r)
		}
	}
}

func TestReadClipsJointSliced(t *testing.T) {
	mem := checked(t)
	rec := buildBatch(t, mem, 4, tcol{name: "joint", shape: []int{2, 2, 36, 36}})
	defer rec.Release()
	sl := rec.NewSlice(1, 3) // rows 1 and 2: a column offset of 1
	defer sl.Release()
	clips, err := ReadClips(sl, jointConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 2 {
		t.Fatalf("%d clips, want 2", len(clips))
	}
	full := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	size := 2 * 2 * 36 * 36
	for r, c := range clips {
		if unsafe.Pointer(&c.Joint.F32[0]) != unsafe.Pointer(&full[(r+1)*size]) {
			t.Errorf("row %d: not the slice of row %d of the buffer", r, r+1)
		}
		if c.Joint.F32[3] != value(r+1, 3) {
			t.Errorf("row %d: joint[3] = %v, want %v", r, c.Joint.F32[3], value(r+1, 3))
		}
	}
}

func TestReadClipsErrors(t *testing.T) {
	badName := arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{"arrow.uuid", `{"shape":[2,2,3,13,13]}`})
	noMeta := arrow.NewMetadata(nil, nil)
	badJSON := arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{FixedShapeTensor, `{"shape":[2,2,`})
	noShape := arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{FixedShapeTensor, `{"dim_names":["a"]}`})
	perm := arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{FixedShapeTensor, `{"shape":[2,2,3,13,13],"permutation":[0,1,2,4,3]}`})
	ident := arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{FixedShapeTensor, `{"shape":[2,2,3,13,13],"permutation":[0,1,2,3,4],"dim_names":["l","t","h","q","k"]}`})
	spatial := tcol{name: "spatial", shape: []int{2, 2, 3, 13, 13}}
	with := func(c tcol, f func(*tcol)) tcol { f(&c); return c }

	cases := []struct {
		name string
		cfg  staa.Config
		rows int
		cols []tcol
		want string // "" = no error
	}{
		{"ok", dividedConfig(), 2, []tcol{spatial}, ""},
		{"identity permutation", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &ident })}, ""},
		{"unknown column", dividedConfig(), 1, []tcol{spatial, {name: "attn", shape: []int{4}}}, `column "attn": unknown column for layout divided`},
		{"other layout's column", dividedConfig(), 1, []tcol{spatial, {name: "joint", shape: []int{4}}}, `column "joint" is not used by layout divided`},
		{"missing required", jointConfig(), 1, []tcol{{name: "joint_grad", shape: []int{2, 2, 36, 36}}}, `missing column "joint"`},
		{"empty batch", dividedConfig(), 0, []tcol{spatial}, "empty batch"},
		{"no columns", dividedConfig(), 0, nil, "empty batch"},
		{"float64", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.typ = arrow.FixedSizeListOf(int32(prod(c.shape)), arrow.PrimitiveTypes.Float64) })}, `column "spatial": element type float64, want float32 or float16`},
		{"not a list", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.typ = arrow.PrimitiveTypes.Float32 })}, `column "spatial": type float32, want fixed_size_list`},
		{"variable list", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.typ = arrow.ListOf(arrow.PrimitiveTypes.Float32) })}, `column "spatial": type list<item: float32, nullable>, want fixed_size_list`},
		{"no metadata", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &noMeta })}, `column "spatial": field metadata ARROW:extension:name is missing`},
		{"other extension", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &badName })}, `column "spatial": extension "arrow.uuid"`},
		{"bad metadata json", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &badJSON })}, `column "spatial": bad ARROW:extension:metadata`},
		{"no shape", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &noShape })}, `has no "shape"`},
		{"permutation", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.meta = &perm })}, `permutation [0 1 2 4 3] is not supported`},
		{"shape vs list size", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.typ = arrow.FixedSizeListOf(7, arrow.PrimitiveTypes.Float32) })}, `holds 2028 values but the list size is 7`},
		{"brief's example", staa.Config{Geometry: staa.Geometry{Layout: staa.Divided, Frames: 8, Height: 4, Width: 4, CLS: true, Tubelet: 1}}, 1,
			[]tcol{{name: "spatial", shape: []int{2, 3, 4, 17, 17}}},
			`column "spatial": shape [2 3 4 17 17] does not match layout divided with frames 8, grid [4 4], cls true, tubelet 1: want [L 8 H 17 17]`},
		{"spatial shape", dividedConfig(), 1, []tcol{{name: "spatial", shape: []int{2, 2, 3, 12, 12}}}, `want [L 2 H 13 13]`},
		{"spatial rank", dividedConfig(), 1, []tcol{{name: "spatial", shape: []int{2, 3, 13, 13}}}, `want [L 2 H 13 13]`},
		{"temporal shape", dividedConfig(), 1, []tcol{spatial, {name: "temporal", shape: []int{2, 13, 3, 2, 2}}}, `column "temporal": shape [2 13 3 2 2] does not match layout divided with frames 4, grid [3 4], cls true, tubelet 2: want [L 12 H 2 2]`},
		{"temporal layers", dividedConfig(), 1, []tcol{spatial, {name: "temporal", shape: []int{3, 12, 3, 2, 2}}}, `has 3 layers but column "spatial" has 2`},
		{"joint shape", jointConfig(), 1, []tcol{{name: "joint", shape: []int{2, 2, 37, 37}}}, `want [L H 36 36]`},
		{"grad without base", dividedConfig(), 1, []tcol{spatial, {name: "temporal_grad", shape: []int{2, 12, 3, 2, 2}}}, `column "temporal_grad" needs column "temporal"`},
		{"grad shape", dividedConfig(), 1, []tcol{spatial, {name: "spatial_grad", shape: []int{2, 2, 4, 13, 13}}}, `column "spatial_grad": shape [2 2 4 13 13], want [2 2 3 13 13]`},
		{"duplicate", dividedConfig(), 1, []tcol{spatial, spatial}, `column "spatial" appears twice`},
		{"null row", dividedConfig(), 3, []tcol{with(spatial, func(c *tcol) { c.nullRow = 2 })}, `column "spatial": row 1 is null`},
		{"null value", dividedConfig(), 1, []tcol{with(spatial, func(c *tcol) { c.nullElem = true })}, `column "spatial": holds null values`},
		{"bad geometry", staa.Config{Geometry: staa.Geometry{Layout: staa.Divided, Frames: 3, Height: 3, Width: 4, Tubelet: 2}}, 1, []tcol{spatial}, "not a multiple of tubelet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := checked(t)
			rec := buildBatch(t, mem, tc.rows, tc.cols...)
			defer rec.Release()
			clips, err := ReadClips(rec, tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(clips) != tc.rows {
					t.Fatalf("%d clips, want %d", len(clips), tc.rows)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "staa: ") {
				t.Errorf("error %q does not start with \"staa: \"", err)
			}
		})
	}
	if _, err := ReadClips(nil, dividedConfig()); err == nil {
		t.Error("nil record: no error")
	}
}

func TestWriteAttributions(t *testing.T) {
	mem := checked(t)
	mk := func(base float32, ta bool) staa.Attribution {
		v := staa.NewVolume(4, 3, 2)
		s := staa.NewVolume(4, 3, 2)
		for i := range v.Data {
			v.Data[i] = base + float32(i)
			s.Data[i] = base - float32(i)
		}
		return staa.Attribution{Volume: v, Spatial: s, Temporal: []float32{base, 0.1, 0.2, 0.3}, TemporalAttention: ta}
	}
	res := []staa.Attribution{mk(1, true), mk(100, true)}
	for _, withVolume := range []bool{false, true} {
		rec, err := WriteAttributions(mem, res, withVolume, map[string]string{MetaMethod: "last", MetaVersion: "x"})
		if err != nil {
			t.Fatal(err)
		}
		wantCols := []string{"spatial", "temporal"}
		if withVolume {
			wantCols = append(wantCols, "volume")
		}
		if int(rec.NumCols()) != len(wantCols) || rec.NumRows() != 2 {
			t.Fatalf("%d cols %d rows, want %d and 2", rec.NumCols(), rec.NumRows(), len(wantCols))
		}
		md := rec.Schema().Metadata()
		for k, want := range map[string]string{MetaTemporalAttention: "true", MetaMethod: "last", MetaVersion: "x"} {
			if got, _ := md.GetValue(k); got != want {
				t.Errorf("schema metadata %s = %q, want %q", k, got, want)
			}
		}
		for i, name := range wantCols {
			f := rec.Schema().Field(i)
			if f.Name != name {
				t.Errorf("column %d named %q, want %q", i, f.Name, name)
			}
			shape, elem, err := TensorShape(f)
			if err != nil {
				t.Fatal(err)
			}
			want := []int{4, 3, 2}
			if name == "temporal" {
				want = []int{4}
			}
			if !equalShapes(shape, want) || elem.ID() != arrow.FLOAT32 {
				t.Errorf("column %q: shape %v %s, want %v float32", name, shape, elem, want)
			}
			if ext, _ := f.Metadata.GetValue(ExtensionMetadataKey); name == "temporal" && ext != `{"shape":[4]}` {
				t.Errorf("temporal extension metadata %q", ext)
			}
		}
		sp := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		if sp[24+5] != 100-5 || sp[5] != 1-5 {
			t.Errorf("spatial values wrong: %v %v", sp[5], sp[29])
		}
		tp := rec.Column(1).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		if tp[4] != 100 || tp[3] != 0.3 {
			t.Errorf("temporal values wrong: %v", tp)
		}
		if withVolume {
			vv := rec.Column(2).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
			if vv[24+7] != 107 {
				t.Errorf("volume values wrong: %v", vv[31])
			}
		}
		// The written batch reads back as volumes.
		if withVolume {
			sch := arrow.NewSchema([]arrow.Field{rec.Schema().Field(2)}, nil)
			vrec := array.NewRecordBatch(sch, []arrow.Array{rec.Column(2)}, 2)
			vols, err := ReadVolumes(vrec)
			if err != nil {
				t.Fatal(err)
			}
			if vols[1].Frames != 4 || vols[1].Height != 3 || vols[1].Width != 2 || vols[1].Data[7] != 107 {
				t.Errorf("read back volume %+v", vols[1])
			}
			vrec.Release()
		}
		rec.Release()
	}
	res[1].TemporalAttention = false
	rec, err := WriteAttributions(mem, res, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.Schema().Metadata().GetValue(MetaTemporalAttention); got != "false" {
		t.Errorf("temporal attention %q, want false", got)
	}
	rec.Release()

	bad := []staa.Attribution{mk(1, true), {Spatial: staa.NewVolume(4, 3, 3), Temporal: make([]float32, 4)}}
	if _, err := WriteAttributions(mem, bad, false, nil); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("mismatched shapes: %v", err)
	}
	if _, err := WriteAttributions(mem, nil, false, nil); err == nil {
		t.Error("no attributions: no error")
	}
	short := []staa.Attribution{mk(1, true)}
	short[0].Temporal = short[0].Temporal[:3]
	if _, err := WriteAttributions(mem, short, false, nil); err == nil || !strings.Contains(err.Error(), "temporal profile") {
		t.Errorf("short temporal: %v", err)
	}
}

func TestWritePostprocessed(t *testing.T) {
	mem := checked(t)
	s := staa.NewVolume(2, 1, 3)
	s.Data[4] = 1
	rec, err := WritePostprocessed(mem, []staa.Volume{s}, [][]float32{{0, 1}}, map[string]string{MetaVersion: "v"})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumCols() != 2 || rec.Schema().Field(0).Name != "spatial" || rec.Schema().Field(1).Name != "temporal" {
		t.Fatalf("schema %v", rec.Schema())
	}
	if _, err := WritePostprocessed(mem, []staa.Volume{s}, nil, nil); err == nil {
		t.Error("missing temporal: no error")
	}
}

func TestReadVolumes(t *testing.T) {
	mem := checked(t)
	for _, f16 := range []bool{false, true} {
		rec := buildBatch(t, mem, 2, tcol{name: "volume", shape: []int{4, 3, 2}, f16: f16})
		vols, err := ReadVolumes(rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(vols) != 2 || vols[1].Frames != 4 || vols[1].Height != 3 || vols[1].Width != 2 || vols[1].Data[9] != value(1, 9) {
			t.Errorf("f16 %v: volumes %+v", f16, vols)
		}
		if !f16 {
			vals := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
			if unsafe.Pointer(&vols[1].Data[0]) != unsafe.Pointer(&vals[24]) {
				t.Error("float32 volume is a copy")
			}
		}
		rec.Release()
	}
	errs := []struct {
		cols []tcol
		rows int
		want string
	}{
		{[]tcol{{name: "spatial", shape: []int{4, 3, 2}}}, 1, `column "spatial": unknown column`},
		{[]tcol{{name: "volume", shape: []int{4, 6}}}, 1, `shape [4 6], want [F h w]`},
		{[]tcol{{name: "volume", shape: []int{4, 3, 2}}}, 0, "empty batch"},
		{nil, 1, `missing column "volume"`},
	}
	for _, e := range errs {
		var rec arrow.RecordBatch
		if e.cols == nil {
			rec = array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
		} else {
			rec = buildBatch(t, mem, e.rows, e.cols...)
		}
		_, err := ReadVolumes(rec)
		if err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("error %v, want one containing %q", err, e.want)
		}
		rec.Release()
	}
}

// The IPC reader, like cdata import, leaves an unregistered extension's
// metadata on the field: ReadClips works on a batch that went through IPC.
func TestIPCRoundTrip(t *testing.T) {
	mem := checked(t)
	rec := buildBatch(t, mem, 2, tcol{name: "joint", shape: []int{1, 2, 36, 36}, f16: true})
	data := ipcBytes(t, rec)
	rec.Release()
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	got := r.RecordBatch()
	if name, _ := got.Schema().Field(0).Metadata.GetValue(ExtensionNameKey); name != FixedShapeTensor {
		t.Fatalf("extension name lost through IPC: %v", got.Schema())
	}
	clips, err := ReadClips(got, jointConfig())
	if err != nil {
		t.Fatal(err)
	}
	if clips[1].Joint.F16[11].Float32() != value(1, 11) {
		t.Error("values differ after IPC")
	}
}

func TestTensorMetadata(t *testing.T) {
	md := TensorMetadata([]int{8, 14, 14})
	if v, _ := md.GetValue(ExtensionMetadataKey); v != `{"shape":[8,14,14]}` {
		t.Errorf("metadata %q", v)
	}
	f := TensorField("x", arrow.PrimitiveTypes.Float32, []int{8, 14, 14})
	if f.Type.(*arrow.FixedSizeListType).Len() != 8*14*14 {
		t.Errorf("list size %d", f.Type.(*arrow.FixedSizeListType).Len())
	}
	// Remembered fields are the fields: per name, element type and shape
	// (9 dimensions are not remembered, and still right).
	for _, c := range []struct {
		name  string
		elem  arrow.DataType
		shape []int
	}{
		{"x", arrow.PrimitiveTypes.Float32, []int{8, 14, 14}},
		{"y", arrow.PrimitiveTypes.Float32, []int{8, 14, 14}},
		{"x", arrow.FixedWidthTypes.Float16, []int{8, 14, 14}},
		{"x", arrow.PrimitiveTypes.Float32, []int{8, 14, 15}},
		{"x", arrow.PrimitiveTypes.Float32, []int{8, 14}},
		{"x", arrow.PrimitiveTypes.Float32, []int{1, 2, 1, 2, 1, 2, 1, 2, 3}},
	} {
		for range 2 {
			got, want := TensorField(c.name, c.elem, c.shape), tensorField(c.name, c.elem, c.shape)
			if !got.Equal(want) || !got.Metadata.Equal(want.Metadata) {
				t.Errorf("TensorField(%s, %v, %v) = %v, want %v", c.name, c.elem, c.shape, got, want)
			}
		}
	}
	for _, bad := range []string{`{"shape":[0,3]}`, `{"shape":[-1]}`, `{"shape":[65536,65536]}`, `{"shape":"x"}`, `{"shape":[1.5]}`, `[]`, `{"shape":[2],"dim_names":["a","b"]}`} {
		f.Metadata = arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{FixedShapeTensor, bad})
		if _, _, err := TensorShape(f); err == nil {
			t.Errorf("metadata %s: no error", bad)
		}
	}
}

// halfToFloat32 is exact on every float16 bit pattern.
func TestHalfToFloat32(t *testing.T) {
	for b := 0; b < 1<<16; b++ {
		h := uint16(b)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(int(sign))
		case exp == 0x1f:
			if got := halfToFloat32(h); !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: %v, want NaN", h, got)
			}
			continue
		case exp == 0:
			want = sign * math.Ldexp(mant, -24)
		default:
			want = sign * math.Ldexp(1+mant/1024, exp-15)
		}
		if got := halfToFloat32(h); float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
	// ReadVolumes widens through it: a float16 subnormal keeps its value.
	mem := checked(t)
	f := TensorField("volume", arrow.FixedWidthTypes.Float16, []int{1, 1, 2})
	b := array.NewFixedSizeListBuilder(mem, 2, arrow.FixedWidthTypes.Float16)
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float16Builder)
	b.Append(true)
	vb.Append(float16.FromBits(0x0001)) // 2^-24
	vb.Append(float16.FromBits(0x03ff)) // the largest subnormal
	arr := b.NewArray()
	defer arr.Release()
	f.Type = arr.DataType()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{f}, nil), []arrow.Array{arr}, 1)
	defer rec.Release()
	vols, err := ReadVolumes(rec)
	if err != nil {
		t.Fatal(err)
	}
	if vols[0].Data[0] != float32(math.Ldexp(1, -24)) || vols[0].Data[1] != float32(math.Ldexp(1023, -24)) {
		t.Errorf("float16 subnormals widened to %v", vols[0].Data)
	}
}

// AttributionColumns and PostprocessedColumns are the writers before the
// copy: the fields and schema metadata of their records, and rows that are
// the caller's own slices.
func TestOutputColumns(t *testing.T) {
	mem := checked(t)
	res := make([]staa.Attribution, 2)
	for i := range res {
		res[i] = staa.Attribution{Spatial: staa.NewVolume(3, 2, 4), Volume: staa.NewVolume(3, 2, 4), Temporal: make([]float32, 3)}
	}
	meta := map[string]string{MetaMethod: "grad", MetaVersion: "x"}
	cols, md, err := AttributionColumns(res, true, meta)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := WriteAttributions(mem, res, true, meta)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if len(cols) != 3 || !md.Equal(rec.Schema().Metadata()) {
		t.Fatalf("%d columns, metadata %v, want 3 and %v", len(cols), md, rec.Schema().Metadata())
	}
	for i, c := range cols {
		if f := rec.Schema().Field(i); !c.Field().Equal(f) {
			t.Errorf("column %d: field %v, want %v", i, c.Field(), f)
		}
	}
	if &cols[0].Rows[1][0] != &res[1].Spatial.Data[0] || &cols[1].Rows[1][0] != &res[1].Temporal[0] || &cols[2].Rows[1][0] != &res[1].Volume.Data[0] {
		t.Error("the rows are copies")
	}

	sp := []staa.Volume{res[0].Spatial, res[1].Spatial}
	tp := [][]float32{res[0].Temporal, res[1].Temporal}
	cols, md, err = PostprocessedColumns(sp, tp, map[string]string{MetaVersion: "x"})
	if err != nil || len(cols) != 2 || md.Len() != 1 || &cols[0].Rows[1][0] != &sp[1].Data[0] {
		t.Errorf("postprocessed: %d columns, metadata %v, %v", len(cols), md, err)
	}
	if _, _, err := PostprocessedColumns(sp, tp[:1], nil); err == nil {
		t.Error("missing temporal: no error")
	}
}
