package arrowio

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tcol is a hand-built tensor column for the tests.
type tcol struct {
	name  string
	shape []int
	f16   bool
	rows  int
	// overrides
	typ      arrow.DataType  // storage type instead of FixedSizeList<float>[prod(shape)]
	meta     *arrow.Metadata // field metadata instead of the fixed_shape_tensor one
	nullRow  int             // 1 + index of a null row; 0: none
	nullElem bool            // make value 0 null
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// value is the deterministic content of element i of row r.
func value(r, i int) float32 { return float32(r) + float32(i%97)/128 }

// buildColumn returns the field and array of c, values value(r, i).
func buildColumn(t testing.TB, mem memory.Allocator, c tcol) (arrow.Field, arrow.Array) {
	t.Helper()
	size := prod(c.shape)
	var elem arrow.DataType = arrow.PrimitiveTypes.Float32
	if c.f16 {
		elem = arrow.FixedWidthTypes.Float16
	}
	f := TensorField(c.name, elem, c.shape)
	if c.meta != nil {
		f.Metadata = *c.meta
	}
	if c.typ != nil {
		f.Type = c.typ
		b := array.NewBuilder(mem, c.typ)
		defer b.Release()
		for r := 0; r < c.rows; r++ {
			b.AppendEmptyValue()
		}
		return f, b.NewArray()
	}
	n := size * c.rows
	var vals *memory.Buffer
	if c.f16 {
		vals = memory.NewResizableBuffer(mem)
		vals.Resize(2 * n)
		dst := arrow.Float16Traits.CastFromBytes(vals.Bytes())
		for r := 0; r < c.rows; r++ {
			for i := 0; i < size; i++ {
				dst[r*size+i] = float16.New(value(r, i))
			}
		}
	} else {
		vals = memory.NewResizableBuffer(mem)
		vals.Resize(4 * n)
		dst := arrow.Float32Traits.CastFromBytes(vals.Bytes())
		for r := 0; r < c.rows; r++ {
			for i := 0; i < size; i++ {
				dst[r*size+i] = value(r, i)
			}
		}
	}
	defer vals.Release()
	var childNulls *memory.Buffer
	childNullN := 0
	if c.nullElem {
		childNulls = memory.NewResizableBuffer(mem)
		childNulls.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.SetBitsTo(childNulls.Bytes(), 0, int64(n), true)
		bitutil.ClearBit(childNulls.Bytes(), 0)
		childNullN = 1
		defer childNulls.Release()
	}
	child := array.NewData(elem, n, []*memory.Buffer{childNulls, vals}, nil, childNullN, 0)
	defer child.Release()
	var nulls *memory.Buffer
	nullN := 0
	if c.nullRow > 0 {
		nulls = memory.NewResizableBuffer(mem)
		nulls.Resize(int(bitutil.BytesForBits(int64(c.rows))))
		bitutil.SetBitsTo(nulls.Bytes(), 0, int64(c.rows), true)
		bitutil.ClearBit(nulls.Bytes(), c.nullRow-1)
		nullN = 1
		defer nulls.Release()
	}
	data := array.NewData(f.Type, c.rows, []*memory.Buffer{nulls, nil}, []arrow.ArrayData{child}, nullN, 0)
	defer data.Release()
	return f, array.MakeFromData(data)
}

// buildBatch returns a record batch of the columns cs, all with rows rows.
func buildBatch(t testing.TB, mem memory.Allocator, rows int, cs ...tcol) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cs))
	arrs := make([]arrow.Array, len(cs))
	for i, c := range cs {
		c.rows = rows
		fields[i], arrs[i] = buildColumn(t, mem, c)
		defer arrs[i].Release()
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(rows))
}

// ipcBytes serialises rec as an Arrow IPC stream.
func ipcBytes(t testing.TB, rec arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
