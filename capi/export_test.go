package main

import (
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
	rec, ok := importFlat(a)
	if !ok {
		t.Fatal("importFlat refused a flat batch")
	}
	cfg, err := staa.ParseConfig([]byte(optsLast))
	if err != nil {
		t.Fatal(err)
	}
	clips, err := arrowio.ReadClips(rec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 2 || clips[0].Spatial.F32[0] != vals[clipSize] || clips[1].Spatial.F32[5] != vals[2*clipSize+5] {
		t.Errorf("clips do not start at rows 1 and 2 of the C buffer")
	}
	rec.Release()

	b.setNullCountUnknown()
	if _, ok := importFlat(a); ok {
		t.Error("importFlat took a batch with null_count -1")
	}
}
