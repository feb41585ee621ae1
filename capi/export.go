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
	if err := exportSchema(rec.Schema(), cols, outSchema); err != nil {
		return err
	}
	if err := exportArrays(rec.NumRows(), cols, out); err != nil {
		C.capi_release_schema(outSchema)
		return err
	}
	return nil
}

// flatColumn is one column of a flat batch: size values per row of a
// fixed-width type, starting at element first of data.
type flatColumn struct {
	format string // the C Data Interface format of the values
	width  int    // bytes per value
	size   int    // values per row
	data   []byte // the values buffer
	first  int    // index of the first value of row 0 in data
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

// flatColumns describes rec's columns, or reports false if one is not a
// null-free FixedSizeList of a type in valueFormats.
func flatColumns(rec arrow.RecordBatch) ([]flatColumn, bool) {
	cols := make([]flatColumn, rec.NumCols())
	for i := range cols {
		l, ok := rec.Column(i).(*array.FixedSizeList)
		if !ok || l.NullN() != 0 {
			return nil, false
		}
		vals := l.ListValues().Data()
		f, ok := formatOf[vals.DataType().ID()]
		if !ok || vals.NullN() != 0 || len(vals.Buffers()) != 2 || vals.Buffers()[1] == nil {
			return nil, false
		}
		size := int(l.DataType().(*arrow.FixedSizeListType).Len())
		cols[i] = flatColumn{
			format: f,
			width:  vals.DataType().(arrow.FixedWidthDataType).BitWidth() / 8,
			size:   size,
			data:   vals.Buffers()[1].Bytes(),
			first:  vals.Offset() + l.Data().Offset()*size,
		}
		if (cols[i].first+int(rec.NumRows())*size)*cols[i].width > len(cols[i].data) {
			return nil, false
		}
	}
	return cols, true
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

func newBlock(size int) (*block, error) {
	p := C.malloc(C.size_t(size))
	if p == nil {
		return nil, errNoMem
	}
	C.memset(p, 0, C.size_t(size))
	return &block{base: p, size: size, used: headerSize}, nil
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

// bytes copies s into the block (no terminator).
func (b *block) bytes(s []byte) *C.char {
	p := b.take(len(s), 8)
	copy(unsafe.Slice((*byte)(p), len(s)), s)
	return (*C.char)(p)
}

// pointers returns an n-long array of pointers in the block.
func (b *block) pointers(n int) []unsafe.Pointer {
	return unsafe.Slice((*unsafe.Pointer)(b.take(n*ptrSize, ptrSize)), n)
}

func (b *block) header() *C.capi_block { return (*C.capi_block)(b.base) }

// encodeMetadata writes md in the C Data Interface's binary form: int32
// count, then per pair int32 length and bytes of key and value (native
// byte order), or nil for no metadata.
func encodeMetadata(md arrow.Metadata) []byte {
	if md.Len() == 0 {
		return nil
	}
	var out []byte
	out = binary.NativeEndian.AppendUint32(out, uint32(md.Len()))
	for i, k := range md.Keys() {
		v := md.Values()[i]
		out = binary.NativeEndian.AppendUint32(out, uint32(len(k)))
		out = append(out, k...)
		out = binary.NativeEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out
}

// exportSchema writes the schema tree: "+s" with one "+w:size" child per
// column, whose child is the values' type.
func exportSchema(s *arrow.Schema, cols []flatColumn, out *C.struct_ArrowSchema) error {
	fields := s.Fields()
	top := encodeMetadata(s.Metadata())
	formats := make([]string, len(cols))
	metas := make([][]byte, len(cols))
	n := headerSize + len("+s") + 1 + 1 + len(top) + 8 + len(cols)*ptrSize + 8
	for i, c := range cols {
		formats[i] = "+w:" + strconv.Itoa(c.size)
		metas[i] = encodeMetadata(fields[i].Metadata)
		n += 2*schemaSize + 8 + ptrSize + 8 + // two structs, one child pointer
			len(formats[i]) + 1 + len(fields[i].Name) + 1 + len(metas[i]) + 8 + // list
			len(c.format) + 1 + len("item") + 1 // values
	}
	b, err := newBlock(n)
	if err != nil {
		return err
	}
	release := (*[0]byte)(C.capi_block_release_schema)
	b.header().live = C.int64_t(1 + 2*len(cols))
	*out = C.struct_ArrowSchema{format: b.str("+s"), name: b.str(""), n_children: C.int64_t(len(cols)),
		release: release, private_data: b.base}
	if top != nil {
		out.metadata = b.bytes(top)
	}
	if len(cols) > 0 {
		children := b.pointers(len(cols))
		out.children = (**C.struct_ArrowSchema)(unsafe.Pointer(&children[0]))
		for i, c := range cols {
			list := (*C.struct_ArrowSchema)(b.take(schemaSize, 8))
			vals := (*C.struct_ArrowSchema)(b.take(schemaSize, 8))
			child := b.pointers(1)
			child[0] = unsafe.Pointer(vals)
			children[i] = unsafe.Pointer(list)
			*list = C.struct_ArrowSchema{format: b.str(formats[i]), name: b.str(fields[i].Name), n_children: 1,
				children: (**C.struct_ArrowSchema)(unsafe.Pointer(&child[0])), release: release, private_data: b.base}
			if fields[i].Nullable {
				list.flags = flagNullable
			}
			if metas[i] != nil {
				list.metadata = b.bytes(metas[i])
			}
			*vals = C.struct_ArrowSchema{format: b.str(c.format), name: b.str("item"), flags: flagNullable,
				release: release, private_data: b.base}
		}
	}
	return nil
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
		copy(unsafe.Slice((*byte)(data), nbytes), c.data[c.first*c.width:])
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
