package main

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/cdata"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// testRecord is a flat batch of 3 rows: float32 "spatial" [2, 2] (sliced
// from a longer array, so that its offsets are not 0) and int32 "top_k" [2].
func testRecord(t *testing.T) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewGoAllocator()
	fb := array.NewFixedSizeListBuilder(mem, 4, arrow.PrimitiveTypes.Float32)
	defer fb.Release()
	vb := fb.ValueBuilder().(*array.Float32Builder)
	for r := 0; r < 4; r++ {
		fb.Append(true)
		for j := 0; j < 4; j++ {
			vb.Append(float32(10*r + j))
		}
	}
	full := fb.NewArray()
	defer full.Release()
	spatial := array.NewSlice(full, 1, 4)
	defer spatial.Release()
	ib := array.NewFixedSizeListBuilder(mem, 2, arrow.PrimitiveTypes.Int32)
	defer ib.Release()
	iv := ib.ValueBuilder().(*array.Int32Builder)
	for r := 0; r < 3; r++ {
		ib.Append(true)
		iv.AppendValues([]int32{int32(r), int32(r + 1)}, nil)
	}
	topk := ib.NewArray()
	defer topk.Release()
	md := arrow.NewMetadata([]string{"staa.method"}, []string{"rollout"})
	schema := arrow.NewSchema([]arrow.Field{
		arrowio.TensorField("spatial", arrow.PrimitiveTypes.Float32, []int{2, 2}),
		{Name: "top_k", Type: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32)},
	}, &md)
	return array.NewRecordBatch(schema, []arrow.Array{spatial, topk}, 3)
}

// A batch exported into blocks reads back through arrow-go (which releases
// schema children on their own) with its values, metadata and types.
func TestExportBatchRoundTrip(t *testing.T) {
	rec := testRecord(t)
	defer rec.Release()
	out, err := exportForTest(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.free()
	got, err := cdata.ImportCRecordBatch((*cdata.CArrowArray)(unsafe.Pointer(out.arr)), (*cdata.CArrowSchema)(unsafe.Pointer(out.sch)))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !out.released() {
		t.Error("the import did not take the exported structs")
	}
	if !got.Schema().Equal(rec.Schema()) || !slices.Equal(got.Schema().Metadata().Values(), []string{"rollout"}) {
		t.Errorf("schema %v, want %v", got.Schema(), rec.Schema())
	}
	for i := range rec.NumCols() {
		if !array.Equal(got.Column(int(i)), rec.Column(int(i))) {
			t.Errorf("column %d: %v, want %v", i, got.Column(int(i)), rec.Column(int(i)))
		}
	}
	vals := got.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	if addr := uintptr(unsafe.Pointer(&vals[0])); addr%dataAlign != 0 {
		t.Errorf("values at %#x, not %d-byte aligned", addr, dataAlign)
	}
}

// A consumer may move a child out, release the parent, and use and release
// the child later (the block lives until its last struct is released).
func TestExportBatchMovedChild(t *testing.T) {
	rec := testRecord(t)
	defer rec.Release()
	out, err := exportForTest(rec)
	if err != nil {
		t.Fatal(err)
	}
	child := moveChild(out, 0)
	defer child.free()
	out.free() // releases the parent and the child it still holds
	if got, want := childValues(child), []float32{10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33}; !slices.Equal(got, want) {
		t.Errorf("moved child holds %v, want %v", got, want)
	}
}

// importFlat reads columns with offsets at both levels, and leaves what it
// does not read (an unknown null count) to arrow-go.
func TestImportFlat(t *testing.T) {
	p, vals := attention(3)
	defer cFree(p)
	b := newTestBatch(3, "spatial", "f", spatialMeta, clipSize, p, true)
	defer b.free()
	col := *b.arr.children
	col.offset, col.length = 1, 2 // rows 1 and 2 of the values
	b.arr.length = 2
	out := newCOutput()
	defer out.free()
	a, done := testArgs(b, optsLast, out)
	defer done()
	cols, rows, ok := importFlat(a)
	if !ok {
		t.Fatal("importFlat refused a flat batch")
	}
	cfg, err := staa.ParseConfig([]byte(optsLast))
	if err != nil {
		t.Fatal(err)
	}
	clips, err := arrowio.ReadClipColumns(cols, rows, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 2 || clips[0].Spatial.F32[0] != vals[clipSize] || clips[1].Spatial.F32[5] != vals[2*clipSize+5] {
		t.Errorf("clips do not start at rows 1 and 2 of the C buffer")
	}

	b.setNullCountUnknown()
	if _, _, ok := importFlat(a); ok {
		t.Error("importFlat took a batch with null_count -1")
	}
}

// staa_attribute and staa_postprocess export, byte for byte, the batch that
// exportBatch made of arrowio's record of the same results (what they did
// before exportColumns): several clips, a 2×3 grid, with and without volume.
func TestExportColumnsAsRecord(t *testing.T) {
	p, _ := attention(3)
	defer cFree(p)
	for _, tc := range []struct {
		method   string
		volume   bool
		temporal bool // mark every attribution as using temporal attention
	}{{"last", false, false}, {"last", true, false}, {"rollout", false, true}, {"rollout", true, true}} {
		name := fmt.Sprintf("%s volume %v", tc.method, tc.volume)
		opts := fmt.Sprintf(`{"frames":2,"grid":[2,3],"method":%q,"volume":%v}`, tc.method, tc.volume)
		var res []staa.Attribution
		engine := func(dst []float32, g staa.Geometry, clips []staa.Clip, o staa.Options) ([]staa.Attribution, error) {
			r, err := staa.AttributeBatchTo(dst, g, clips, o)
			for i := range r {
				r[i].TemporalAttention = tc.temporal
			}
			res = r
			return r, err
		}
		b := newTestBatch(3, "spatial", "f", spatialMeta, clipSize, p, true)
		got := newCOutput()
		a, done := testArgs(b, opts, got)
		err := attribute(a, engine)
		done()
		b.free()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		meta := map[string]string{arrowio.MetaMethod: tc.method, arrowio.MetaVersion: libraryVersion()}
		rec, err := arrowio.WriteAttributions(memory.NewGoAllocator(), res, tc.volume, meta)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compareExport(t, name, got, rec)
	}

	const F, h, w, rows = 3, 2, 5, 3
	vp, vals := cFloats(rows * F * h * w)
	defer cFree(vp)
	for i := range vals {
		vals[i] = float32((i*7)%11) / 10
	}
	b := newTestBatch(rows, "volume", "f", fmt.Sprintf(`{"shape":[%d,%d,%d]}`, F, h, w), F*h*w, vp, true)
	got := newCOutput()
	a, done := testArgs(b, `{"postprocess":"optimized"}`, got)
	err := postprocess(a, staa.Postprocess)
	done()
	b.free()
	if err != nil {
		t.Fatal(err)
	}
	spatial := make([]staa.Volume, rows)
	temporal := make([][]float32, rows)
	for r := range rows {
		v := staa.NewVolume(F, h, w)
		copy(v.Data, vals[r*F*h*w:])
		if spatial[r], temporal[r], err = staa.Postprocess(v, staa.Optimized()); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := arrowio.WritePostprocessed(memory.NewGoAllocator(), spatial, temporal, map[string]string{arrowio.MetaVersion: libraryVersion()})
	if err != nil {
		t.Fatal(err)
	}
	compareExport(t, "postprocess", got, rec)
}

// compareExport checks that got is the export of rec, in C and read back by
// arrow-go. It releases rec and got.
func compareExport(t *testing.T, name string, got cOutput, rec arrow.RecordBatch) {
	t.Helper()
	defer got.free()
	want, err := exportForTest(rec)
	rec.Release()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer want.free()
	if d := diffOutputs(got, want); d != "" {
		t.Errorf("%s: the C batches differ: %s", name, d)
	}
	gr, err := importOutput(got)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer gr.Release()
	wr, err := importOutput(want)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer wr.Release()
	if !gr.Schema().Equal(wr.Schema()) || !gr.Schema().Metadata().Equal(wr.Schema().Metadata()) {
		t.Errorf("%s: schema\n%v\nwant\n%v", name, gr.Schema(), wr.Schema())
	}
	if !array.RecordEqual(gr, wr) {
		t.Errorf("%s: values differ", name)
	}
	if gr.NumRows() < 2 {
		t.Errorf("%s: %d rows", name, gr.NumRows())
	}
}

// exportColumns refuses rows that do not fit their column's shape (the C
// Data Interface carries no buffer sizes) and leaves the outputs released.
func TestExportColumnsShortRow(t *testing.T) {
	s := staa.NewVolume(2, 2, 3)
	cols, md, err := arrowio.PostprocessedColumns([]staa.Volume{s, s}, [][]float32{{1, 2}, {3, 4}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cols[0].Rows[1] = cols[0].Rows[1][:11]
	out := newCOutput()
	defer out.free()
	if err := exportColumns(cols, md, out.arr, out.sch); statusOf(err) != statusInternal || !out.released() {
		t.Errorf("short row: %v (status %d), outputs released %v", err, statusOf(err), out.released())
	}
}
