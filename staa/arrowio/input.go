package arrowio

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/staa-dev/staa/staa"
)

// InputColumn is a column of an input batch as the readers need it: its
// field and a view of its values, without arrow-go arrays. RecordColumns
// describes a record's columns; package capi describes a C batch's straight
// from the C Data Interface structs, in place, because building an arrow-go
// record for ReadClips to take apart again (schema, arrays, metadata) cost a
// fifth of a small staa_attribute call, in small allocations.
type InputColumn struct {
	Name     string
	Metadata arrow.Metadata // the field's: the fixed_shape_tensor name and shape
	// Elem is the values' type; nil when the field is not a FixedSizeList.
	Elem arrow.DataType
	Size int // values per row: the FixedSizeList's size
	Len  int // rows in the column
	// Offset is the list's offset: row r is values
	// [(Offset+r)·Size, (Offset+r+1)·Size) of Values.
	Offset int
	// Values is the values' buffer, from the values array's first element
	// (nil for values that are not fixed-width). The readers slice it, they
	// do not copy it.
	Values []byte
	// Err, when not nil, is why the values cannot be read: RecordColumns
	// sets it when a record's arrays do not match the field or hold nulls
	// (a C batch read in place has neither). The readers report it where
	// they read the values, after names, types and shapes.
	Err error

	typ arrow.DataType // the field's type, when known (a record's)
}

// Type returns the column's field type, for messages: the record's, or the
// FixedSizeList that Elem and Size describe.
func (c InputColumn) Type() arrow.DataType {
	if c.typ != nil || c.Elem == nil {
		return c.typ
	}
	return arrow.FixedSizeListOf(int32(c.Size), c.Elem)
}

// RecordColumns describes rec's columns for ReadClipColumns and
// ReadVolumeColumns, and returns the batch's number of rows. The columns'
// values are rec's buffers, valid while rec is.
func RecordColumns(rec arrow.RecordBatch) ([]InputColumn, int, error) {
	if rec == nil {
		return nil, 0, errors.New("staa: no record batch")
	}
	schema := rec.Schema()
	if schema == nil || int64(schema.NumFields()) != rec.NumCols() {
		return nil, 0, errors.New("staa: record batch schema does not match its columns")
	}
	rows := int(rec.NumRows())
	cols := make([]InputColumn, schema.NumFields())
	for i := range cols {
		f := schema.Field(i)
		cols[i] = fieldColumn(f)
		if cols[i].Elem != nil {
			cols[i].Err = cols[i].setArray(f, rec.Column(i), rows)
		}
	}
	return cols, rows, nil
}

// fieldColumn describes field f, without values.
func fieldColumn(f arrow.Field) InputColumn {
	c := InputColumn{Name: f.Name, Metadata: f.Metadata, typ: f.Type}
	if t, ok := f.Type.(*arrow.FixedSizeListType); ok {
		c.Elem, c.Size = t.Elem(), int(t.Len())
	}
	return c
}

// setArray points c at the values of arr, the column of field f in a batch
// of rows rows, or returns why they cannot be read: an array that does not
// match the field, a validity bitmap shorter than its array, nulls (null
// rows are looked for among the batch's rows only).
func (c *InputColumn) setArray(f arrow.Field, arr arrow.Array, rows int) error {
	if arr == nil || !arrow.TypeEqual(arr.DataType(), f.Type) {
		return fmt.Errorf("staa: column %q: array type does not match the field type %s", f.Name, f.Type)
	}
	fsl, ok := arr.(*array.FixedSizeList)
	if !ok {
		return fmt.Errorf("staa: column %q: not a fixed-size list array", f.Name)
	}
	values := fsl.ListValues()
	if values == nil {
		return fmt.Errorf("staa: column %q: no values", f.Name)
	}
	c.Len, c.Offset, c.Values = fsl.Len(), fsl.Data().Offset(), valueBytes(values)
	// NullN and IsNull trust the validity bitmap: check that it covers the
	// array first (a missing or empty bitmap means no nulls).
	rowNulls, ok1 := hasNulls(fsl)
	valNulls, ok2 := hasNulls(values)
	if !ok1 || !ok2 {
		return fmt.Errorf("staa: column %q: validity bitmap shorter than the array", f.Name)
	}
	if rowNulls {
		for r := range min(rows, c.Len) {
			if fsl.IsNull(r) {
				return fmt.Errorf("staa: column %q: row %d is null (nulls are not allowed)", f.Name, r)
			}
		}
	}
	if valNulls {
		return fmt.Errorf("staa: column %q: holds null values (nulls are not allowed)", f.Name)
	}
	return nil
}

// valueBytes returns the data buffer of a, an array of fixed-width values,
// from its first element to its last, cut short where the buffer ends; nil
// for other arrays.
func valueBytes(a arrow.Array) []byte {
	w := elemWidth(a.DataType())
	d := a.Data()
	if w == 0 || len(d.Buffers()) < 2 || d.Buffers()[1] == nil {
		return nil
	}
	b := d.Buffers()[1].Bytes()
	end := min(len(b), (d.Offset()+d.Len())*w)
	return b[min(d.Offset()*w, end):end:end]
}

// elemWidth is the size in bytes of a value of type t, 0 when t is not a
// fixed-width type of whole bytes.
func elemWidth(t arrow.DataType) int {
	fw, ok := t.(arrow.FixedWidthDataType)
	if !ok || fw.BitWidth()%8 != 0 {
		return 0
	}
	return fw.BitWidth() / 8
}

// CheckRows reports why c cannot give the rows [0, rows) of a batch: Err,
// fewer rows, or fewer values than those rows need.
func (c InputColumn) CheckRows(rows int) error {
	if c.Err != nil {
		return c.Err
	}
	if c.Len < rows {
		return fmt.Errorf("staa: column %q has %d rows, the batch %d", c.Name, c.Len, rows)
	}
	have := 0
	if w := elemWidth(c.Elem); w > 0 {
		have = len(c.Values) / w
	}
	// the values of rows [0, rows) are [Offset·Size, (Offset+rows)·Size)
	end := mulSat(addSat(int64(c.Offset), int64(rows)), int64(c.Size))
	if c.Offset < 0 || c.Size <= 0 || end > int64(have) {
		return fmt.Errorf("staa: column %q: %d rows of %d values need %d values, the array holds %d", c.Name, rows, c.Size, end, have)
	}
	return nil
}

// valueType are the element types ColumnValues reads.
type valueType interface {
	float32 | float16.Num | uint8
}

// ColumnValues returns the values of rows [0, rows) of c, row after row, as
// a slice over c.Values (not copied), after CheckRows. E must be the Go type
// of c.Elem.
func ColumnValues[E valueType](c InputColumn, rows int) ([]E, error) {
	if err := c.CheckRows(rows); err != nil {
		return nil, err
	}
	var zero E
	if c.Elem == nil || c.Elem.ID() != idOf(zero) {
		return nil, fmt.Errorf("staa: column %q: element type %s read as %T", c.Name, c.Elem, zero)
	}
	all := unsafe.Slice((*E)(unsafe.Pointer(unsafe.SliceData(c.Values))), len(c.Values)/int(unsafe.Sizeof(zero)))
	s, e := c.Offset*c.Size, (c.Offset+rows)*c.Size
	return all[s:e:e], nil
}

// idOf is the Arrow type of values of zero's type.
func idOf[E valueType](zero E) arrow.Type {
	switch any(zero).(type) {
	case float32:
		return arrow.FLOAT32
	case float16.Num:
		return arrow.FLOAT16
	default:
		return arrow.UINT8
	}
}

// Shape reads the per-row shape of c from its fixed_shape_tensor metadata
// and checks it against the list size.
func (c InputColumn) Shape() ([]int, error) {
	name, ok := c.Metadata.GetValue(ExtensionNameKey)
	if !ok {
		return nil, fmt.Errorf("staa: column %q: field metadata %s is missing (want %q)", c.Name, ExtensionNameKey, FixedShapeTensor)
	}
	if name != FixedShapeTensor {
		return nil, fmt.Errorf("staa: column %q: extension %q, want %q", c.Name, name, FixedShapeTensor)
	}
	raw, ok := c.Metadata.GetValue(ExtensionMetadataKey)
	if !ok {
		return nil, fmt.Errorf("staa: column %q: field metadata %s is missing (want {\"shape\":[...]})", c.Name, ExtensionMetadataKey)
	}
	shape, n, err := shapeOf(raw)
	if err != nil {
		return nil, fmt.Errorf("staa: column %q: %w", c.Name, err)
	}
	if int64(c.Size) != n {
		return nil, fmt.Errorf("staa: column %q: shape %v holds %d values but the list size is %d", c.Name, shape, n, c.Size)
	}
	return shape, nil
}

// tensorShape is TensorShape on c: a FixedSizeList of float32 or float16
// whose metadata gives its shape.
func (c InputColumn) tensorShape() ([]int, error) {
	if c.Elem == nil {
		return nil, fmt.Errorf("staa: column %q: type %v, want fixed_size_list<float32 | float16> (an %s)", c.Name, c.Type(), FixedShapeTensor)
	}
	switch c.Elem.ID() {
	case arrow.FLOAT32, arrow.FLOAT16:
	default:
		return nil, fmt.Errorf("staa: column %q: element type %s, want float32 or float16", c.Name, c.Elem)
	}
	return c.Shape()
}

// rowView is a checked tensor column: row r is elements [r·size,
// (r+1)·size) of f32 or f16.
type rowView struct {
	shape []int
	f32   []float32
	f16   []float16.Num
	size  int
}

// view checks that c holds rows tensors of shape (float32 or float16, which
// tensorShape checked) and returns the view that cuts them out.
func (c InputColumn) view(shape []int, rows int) (v rowView, err error) {
	v = rowView{shape: shape, size: c.Size}
	if c.Elem.ID() == arrow.FLOAT16 {
		v.f16, err = ColumnValues[float16.Num](c, rows)
	} else {
		v.f32, err = ColumnValues[float32](c, rows)
	}
	return v, err
}

func (v rowView) row(r int) staa.Tensor {
	s, e := r*v.size, (r+1)*v.size
	if v.f16 != nil {
		return staa.Tensor{Shape: v.shape, F16: v.f16[s:e:e]}
	}
	return staa.Tensor{Shape: v.shape, F32: v.f32[s:e:e]}
}
