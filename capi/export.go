package main

// #include <stdlib.h>
// #include <string.h>
// #include "capi.h"
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/staa-dev/staa/staa/arrowio"
)

// exportBatch exports rec into out and outSchema (C Data Interface).
//
// The library's outputs are flat: every column a FixedSizeList of a
// fixed-width primitive, without nulls. They are written into two malloc'd
// blocks (one per struct tree, see export.c) with one copy of the values and
// plain C release callbacks: arrow-go's exporter allocates every struct and
// string separately and releases through callbacks into Go, which cost more
// than the rest of a small call. rec may live in Go memory; the caller keeps
// its reference to it.
func exportBatch(rec arrow.RecordBatch, out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema) error {
	cols, ok := flatColumns(rec)
	if !ok {
		return withStatus(statusInternal, fmt.Errorf("staa: the output batch %s is not flat", rec.Schema()))
	}
	return exportFlat(rec.Schema().Metadata(), rec.NumRows(), cols, out, outSchema)
}

// exportColumns exports the batch that arrowio.WriteAttributions or
// WritePostprocessed would make of cols and md, as exportBatch would export
// it, without making it: each row is copied from the engine's slices into
// the C buffer. Building the arrow-go record first cost a fifth of a small
// call, in small allocations.
func exportColumns(cols []arrowio.OutputColumn, md arrow.Metadata, out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema) error {
	rows := 0
	if len(cols) > 0 {
		rows = len(cols[0].Rows)
	}
	flat := make([]flatColumn, len(cols))
	for i, c := range cols {
		f, ok := flatField(c.Field())
		if !ok || f.format != "f" || !rowsFit(c.Rows, rows, f.size) {
			return withStatus(statusInternal, fmt.Errorf("staa: output column %q does not hold %d float32 rows of shape %v", c.Name, rows, c.Shape))
		}
		f.rows = c.Rows
		flat[i] = f
	}
	return exportFlat(md, int64(rows), flat, out, outSchema)
}

// rowsFit reports whether rows are n rows of size values each: the C
// Data Interface carries no buffer sizes, so a short row would go unseen.
func rowsFit(rows [][]float32, n, size int) bool {
	if len(rows) != n {
		return false
	}
	for _, r := range rows {
		if len(r) != size {
			return false
		}
	}
	return true
}

// exportFlat writes the schema tree (schema metadata md) and the array tree
// of a flat batch of rows rows.
func exportFlat(md arrow.Metadata, rows int64, cols []flatColumn, out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema) error {
	if err := exportSchema(md, cols, outSchema); err != nil {
		return err
	}
	if err := exportArrays(rows, cols, out); err != nil {
		C.capi_release_schema(outSchema)
		return err
	}
	return nil
}

// flatColumn is one column of a flat batch: its field, and size values per
// row of a fixed-width type, either in one buffer (data, from element first
// on) or row by row (rows, float32 only).
type flatColumn struct {
	name     string
	nullable bool
	meta     arrow.Metadata // the field's
	format   string         // the C Data Interface format of the values
	width    int            // bytes per value
	size     int            // values per row
	data     []byte         // the values buffer
	first    int            // index of the first value of row 0 in data
	rows     [][]float32    // or the values of each row, when not nil
}

// valueFormats are the fixed-width value types of flat batches, in both
// directions: exportBatch writes them, importFlat reads them.
var valueFormats = []struct {
	format string
	typ    arrow.DataType
}{
	{"f", arrow.PrimitiveTypes.Float32}, {"e", arrow.FixedWidthTypes.Float16}, {"g", arrow.PrimitiveTypes.Float64},
	{"C", arrow.PrimitiveTypes.Uint8}, {"i", arrow.PrimitiveTypes.Int32}, {"l", arrow.PrimitiveTypes.Int64},
}

// formatOf and typeOf index valueFormats.
var (
	formatOf = map[arrow.Type]string{}
	typeOf   = map[string]arrow.DataType{}
)

func init() {
	for _, v := range valueFormats {
		formatOf[v.typ.ID()] = v.format
		typeOf[v.format] = v.typ
	}
}

// flatField describes the column of field f, without its values, or
// reports false if f is not a FixedSizeList of a type in valueFormats.
func flatField(f arrow.Field) (flatColumn, bool) {
	t, ok := f.Type.(*arrow.FixedSizeListType)
	if !ok {
		return flatColumn{}, false
	}
	format, ok := formatOf[t.Elem().ID()]
	if !ok {
		return flatColumn{}, false
	}
	return flatColumn{
		name:     f.Name,
		nullable: f.Nullable,
		meta:     f.Metadata,
		format:   format,
		width:    t.Elem().(arrow.FixedWidthDataType).BitWidth() / 8,
		size:     int(t.Len()),
	}, true
}

// flatColumns describes rec's columns, or reports false if one is not a
// null-free FixedSizeList of a type in valueFormats.
func flatColumns(rec arrow.RecordBatch) ([]flatColumn, bool) {
	cols := make([]flatColumn, rec.NumCols())
	for i := range cols {
		c, ok := flatField(rec.Schema().Field(i))
		l, isList := rec.Column(i).(*array.FixedSizeList)
		if !ok || !isList || l.NullN() != 0 {
			return nil, false
		}
		vals := l.ListValues().Data()
		if vals.NullN() != 0 || len(vals.Buffers()) != 2 || vals.Buffers()[1] == nil {
			return nil, false
		}
		c.data = vals.Buffers()[1].Bytes()
		c.first = vals.Offset() + l.Data().Offset()*c.size
		if (c.first+int(rec.NumRows())*c.size)*c.width > len(c.data) {
			return nil, false
		}
		cols[i] = c
	}
	return cols, true
}

// copyValues fills dst, the C buffer of the batch's rows, with the column's
// values.
func (c flatColumn) copyValues(dst []byte) {
	if c.rows == nil {
		copy(dst, c.data[c.first*c.width:])
		return
	}
	rowBytes := c.size * c.width
	for i, r := range c.rows {
		copy(dst[i*rowBytes:], unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r))), len(r)*c.width))
	}
}

const (
	ptrSize      = int(unsafe.Sizeof(uintptr(0)))
	arraySize    = int(C.sizeof_struct_ArrowArray)
	schemaSize   = int(C.sizeof_struct_ArrowSchema)
	headerSize   = int(C.sizeof_capi_block)
	dataAlign    = 64 // Arrow's recommended buffer alignment
	flagNullable = 2  // ARROW_FLAG_NULLABLE
)

// block is a malloc'd region carved up front to back.
type block struct {
	base unsafe.Pointer
	size int
	used int
}

// newBlock mallocs a zeroed block of size bytes, header first. It returns
// the block by value, so that it can stay on the caller's stack.
func newBlock(size int) (block, error) {
	p := C.malloc(C.size_t(size))
	if p == nil {
		return block{}, errNoMem
	}
	C.memset(p, 0, C.size_t(size))
	return block{base: p, size: size, used: headerSize}, nil
}

var errNoMem = withStatus(statusNoMem, errors.New("staa: out of memory: cannot allocate the output batch"))

// take returns n bytes of the block aligned to align.
func (b *block) take(n, align int) unsafe.Pointer {
	addr := uintptr(b.base) + uintptr(b.used)
	pad := int((uintptr(align) - addr%uintptr(align)) % uintptr(align))
	b.used += pad + n
	if b.used > b.size {
		panic("capi: export block overflow")
	}
	return unsafe.Add(b.base, b.used-n)
}

// str copies s into the block, NUL-terminated.
func (b *block) str(s string) *C.char {
	p := b.take(len(s)+1, 1)
	copy(unsafe.Slice((*byte)(p), len(s)), s)
	return (*C.char)(p)
}

// pointers returns an n-long array of pointers in the block.
func (b *block) pointers(n int) []unsafe.Pointer {
	return unsafe.Slice((*unsafe.Pointer)(b.take(n*ptrSize, ptrSize)), n)
}

func (b *block) header() *C.capi_block { return (*C.capi_block)(b.base) }

// metadataSize is the size of md in the C Data Interface's binary form, 0
// for no metadata.
func metadataSize(md arrow.Metadata) int {
	if md.Len() == 0 {
		return 0
	}
	n := 4
	for i, k := range md.Keys() {
		n += 4 + len(k) + 4 + len(md.Values()[i])
	}
	return n
}

// metadata writes md into the block in the C Data Interface's binary form:
// int32 count, then per pair int32 length and bytes of key and value
// (native byte order); nil for no metadata.
func (b *block) metadata(md arrow.Metadata) *C.char {
	n := metadataSize(md)
	if n == 0 {
		return nil
	}
	p := b.take(n, 8)
	buf := unsafe.Slice((*byte)(p), n)
	binary.NativeEndian.PutUint32(buf, uint32(md.Len()))
	off := 4
	put := func(s string) {
		binary.NativeEndian.PutUint32(buf[off:], uint32(len(s)))
		off += 4 + copy(buf[off+4:], s)
	}
	for i, k := range md.Keys() {
		put(k)
		put(md.Values()[i])
	}
	return (*C.char)(p)
}

// exportSchema writes the schema tree: "+s" (schema metadata md) with one
// "+w:size" child per column, whose child is the values' type.
func exportSchema(md arrow.Metadata, cols []flatColumn, out *C.struct_ArrowSchema) error {
	n := headerSize + len("+s") + 1 + 1 + metadataSize(md) + 8 + len(cols)*ptrSize + 8
	for _, c := range cols {
		n += 2*schemaSize + 8 + ptrSize + 8 + // two structs, one child pointer
			maxListFormat + 1 + len(c.name) + 1 + metadataSize(c.meta) + 8 + // list
			len(c.format) + 1 + len("item") + 1 // values
	}
	b, err := newBlock(n)
	if err != nil {
		return err
	}
	release := (*[0]byte)(C.capi_block_release_schema)
	b.header().live = C.int64_t(1 + 2*len(cols))
	*out = C.struct_ArrowSchema{format: b.str("+s"), name: b.str(""), metadata: b.metadata(md),
		n_children: C.int64_t(len(cols)), release: release, private_data: b.base}
	if len(cols) == 0 {
		return nil
	}
	children := b.pointers(len(cols))
	out.children = (**C.struct_ArrowSchema)(unsafe.Pointer(&children[0]))
	for i, c := range cols {
		list := (*C.struct_ArrowSchema)(b.take(schemaSize, 8))
		vals := (*C.struct_ArrowSchema)(b.take(schemaSize, 8))
		child := b.pointers(1)
		child[0] = unsafe.Pointer(vals)
		children[i] = unsafe.Pointer(list)
		*list = C.struct_ArrowSchema{format: b.listFormat(c.size), name: b.str(c.name), metadata: b.metadata(c.meta),
			n_children: 1, children: (**C.struct_ArrowSchema)(unsafe.Pointer(&child[0])), release: release, private_data: b.base}
		if c.nullable {
			list.flags = flagNullable
		}
		*vals = C.struct_ArrowSchema{format: b.str(c.format), name: b.str("item"), flags: flagNullable,
			release: release, private_data: b.base}
	}
	return nil
}

// maxListFormat bounds the length of a "+w:size" format.
const maxListFormat = len("+w:") + 20

// listFormat writes the format "+w:size" into the block, NUL-terminated.
func (b *block) listFormat(size int) *C.char {
	var buf [maxListFormat]byte
	return b.str(string(strconv.AppendInt(append(buf[:0], "+w:"...), int64(size), 10)))
}

// exportArrays writes the array tree and copies the values, each column's
// into a 64-byte aligned buffer.
func exportArrays(rows int64, cols []flatColumn, out *C.struct_ArrowArray) error {
	n := headerSize + 2*ptrSize + len(cols)*ptrSize + 8
	for _, c := range cols {
		n += 2*arraySize + 8 + 4*ptrSize + 8 + int(rows)*c.size*c.width + dataAlign
	}
	b, err := newBlock(n)
	if err != nil {
		return err
	}
	release := (*[0]byte)(C.capi_block_release_array)
	b.header().live = C.int64_t(1 + 2*len(cols))
	topBufs := b.pointers(1) // no validity bitmap
	*out = C.struct_ArrowArray{length: C.int64_t(rows), n_buffers: 1, n_children: C.int64_t(len(cols)),
		buffers: &topBufs[0], release: release, private_data: b.base}
	if len(cols) == 0 {
		return nil
	}
	children := b.pointers(len(cols))
	out.children = (**C.struct_ArrowArray)(unsafe.Pointer(&children[0]))
	for i, c := range cols {
		list := (*C.struct_ArrowArray)(b.take(arraySize, 8))
		vals := (*C.struct_ArrowArray)(b.take(arraySize, 8))
		listBufs, child, valBufs := b.pointers(1), b.pointers(1), b.pointers(2)
		nbytes := int(rows) * c.size * c.width
		data := b.take(nbytes, dataAlign)
		c.copyValues(unsafe.Slice((*byte)(data), nbytes))
		valBufs[1] = data
		child[0] = unsafe.Pointer(vals)
		children[i] = unsafe.Pointer(list)
		*list = C.struct_ArrowArray{length: C.int64_t(rows), n_buffers: 1, n_children: 1, buffers: &listBufs[0],
			children: (**C.struct_ArrowArray)(unsafe.Pointer(&child[0])), release: release, private_data: b.base}
		*vals = C.struct_ArrowArray{length: C.int64_t(rows) * C.int64_t(c.size), n_buffers: 2, buffers: &valBufs[0],
			release: release, private_data: b.base}
	}
	return nil
}
