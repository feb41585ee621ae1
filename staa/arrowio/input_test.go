package arrowio

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// spatialColumn describes rows rows of a float32 "spatial" [2 2 3 13 13]
// column over vals from row offset on, as package capi does for a C batch.
func spatialColumn(vals []float32, offset, rows int) InputColumn {
	shape := []int{2, 2, 3, 13, 13}
	return InputColumn{
		Name:     ColSpatial,
		Metadata: TensorMetadata(shape),
		Elem:     arrow.PrimitiveTypes.Float32,
		Size:     prod(shape),
		Len:      rows,
		Offset:   offset,
		Values:   unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vals))), 4*len(vals)),
	}
}

// ReadClipColumns reads plain descriptions in place, from their offset on.
func TestReadClipColumnsInPlace(t *testing.T) {
	size := prod([]int{2, 2, 3, 13, 13})
	vals := make([]float32, 3*size)
	for i := range vals {
		vals[i] = float32(i)
	}
	clips, err := ReadClipColumns([]InputColumn{spatialColumn(vals, 1, 2)}, 2, dividedConfig())
	if err != nil {
		t.Fatal(err)
	}
	for r, c := range clips {
		if &c.Spatial.F32[0] != &vals[(1+r)*size] || len(c.Spatial.F32) != size || cap(c.Spatial.F32) != size {
			t.Errorf("clip %d: not row %d of the values, in place", r, 1+r)
		}
	}
}

// The readers check what a description claims: rows, values, element type.
func TestReadClipColumnsChecks(t *testing.T) {
	size := prod([]int{2, 2, 3, 13, 13})
	vals := make([]float32, 2*size)
	cases := []struct {
		name string
		col  func(c *InputColumn)
		rows int
		want string
	}{
		{"rows", func(c *InputColumn) { c.Len = 1 }, 2, `column "spatial" has 1 rows, the batch 2`},
		{"values", func(c *InputColumn) { c.Values = c.Values[:4*size+3] }, 2, `2 rows of 2028 values need 4056 values, the array holds 2028`},
		{"offset", func(c *InputColumn) { c.Offset = -1 }, 2, `need 2028 values`},
		{"no values", func(c *InputColumn) { c.Values = nil }, 1, `the array holds 0`},
		{"error", func(c *InputColumn) { c.Err = errFake }, 2, errFake.Error()},
		{"float16 elem", func(c *InputColumn) { c.Elem = arrow.FixedWidthTypes.Float16; c.Size = 2 * size }, 1, `list size is 4056`},
		{"not a list", func(c *InputColumn) { c.Elem = nil }, 1, `type <nil>, want fixed_size_list`},
	}
	for _, tc := range cases {
		c := spatialColumn(vals, 0, 2)
		tc.col(&c)
		_, err := ReadClipColumns([]InputColumn{c}, tc.rows, dividedConfig())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// ColumnValues reads only the type the column holds.
	if _, err := ColumnValues[float16.Num](spatialColumn(vals, 0, 2), 2); err == nil {
		t.Error("float32 values read as float16")
	}
	if got, err := ColumnValues[float32](spatialColumn(vals, 0, 2), 2); err != nil || len(got) != 2*size {
		t.Errorf("ColumnValues: %d values, %v", len(got), err)
	}
}

var errFake = fakeError("staa: column \"spatial\": fake")

type fakeError string

func (e fakeError) Error() string { return string(e) }

// RecordColumns keeps the type of a field that is not a FixedSizeList, for
// the readers' messages, and leaves its values empty.
func TestRecordColumnsNotAList(t *testing.T) {
	mem := checked(t)
	rec := buildBatch(t, mem, 2, tcol{name: "spatial", shape: []int{4}, typ: arrow.PrimitiveTypes.Int64})
	defer rec.Release()
	cols, rows, err := RecordColumns(rec)
	if err != nil || rows != 2 || len(cols) != 1 {
		t.Fatalf("%d columns, %d rows, %v", len(cols), rows, err)
	}
	if c := cols[0]; c.Elem != nil || c.Values != nil || c.Type() != arrow.PrimitiveTypes.Int64 {
		t.Errorf("column %+v", c)
	}
}
