package main

// #include "capi.h"
import "C"

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// importFlat reads the input batch in place when it has the shape every
// caller sends: a struct array ("+s", offset 0) of FixedSizeList columns of
// fixed-width values, no dictionaries, every null count 0. It returns false for anything else, which
// cdata.ImportCArray handles.
//
// The record's buffers are Go slices over the caller's memory and the C
// structs are not moved: a.consume releases them when the call returns, after
// the last use of the record. Only the top-level structs are released, once
// each, as the C Data Interface asks of a consumer; arrow-go's importer also
// releases every child schema, each a callback into the producer (into
// Python for the staa package), which cost more than a small attribution.
func importFlat(a args) (arrow.RecordBatch, bool) {
	sch, arr := a.inSchema, a.in
	if C.GoString(sch.format) != "+s" || sch.dictionary != nil || arr.dictionary != nil ||
		arr.offset != 0 || arr.length < 0 || arr.n_children != sch.n_children || sch.n_children < 0 ||
		!nullFree(arr) || arr.n_children > 0 && (arr.children == nil || sch.children == nil) {
		return nil, false
	}
	k := int(sch.n_children)
	rows := int(arr.length)
	schemas := unsafe.Slice(sch.children, k)
	arrays := unsafe.Slice(arr.children, k)
	fields := make([]arrow.Field, k)
	cols := make([]arrow.Array, k)
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i := range k {
		f, col, ok := flatColumnIn(schemas[i], arrays[i], rows)
		if !ok {
			release()
			return nil, false
		}
		fields[i], cols[i] = f, col
	}
	md, ok := decodeMetadata(sch.metadata)
	if !ok {
		release()
		return nil, false
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, int64(rows))
	release()
	return rec, true
}

// nullFree reports whether a says it has no nulls (a null count of 0; -1,
// "not computed", is left to arrow-go, which counts or refuses).
func nullFree(a *C.struct_ArrowArray) bool {
	return a.n_buffers >= 1 && a.buffers != nil && a.null_count == 0
}

// flatColumnIn reads one column: "+w:size" over one child of a type in
// valueFormats, at least rows long.
func flatColumnIn(s *C.struct_ArrowSchema, a *C.struct_ArrowArray, rows int) (arrow.Field, arrow.Array, bool) {
	var f arrow.Field
	if s == nil || a == nil || s.dictionary != nil || a.dictionary != nil || s.n_children != 1 || a.n_children != 1 ||
		s.children == nil || a.children == nil || a.n_buffers != 1 || !nullFree(a) || a.offset < 0 || int64(a.length) < int64(rows) {
		return f, nil, false
	}
	format := C.GoString(s.format)
	size, err := strconv.Atoi(strings.TrimPrefix(format, "+w:"))
	if !strings.HasPrefix(format, "+w:") || err != nil || size <= 0 {
		return f, nil, false
	}
	vs, va := *s.children, *a.children
	if vs == nil || va == nil || vs.dictionary != nil || va.dictionary != nil || vs.n_children != 0 ||
		va.n_children != 0 || va.n_buffers != 2 || !nullFree(va) || va.offset < 0 {
		return f, nil, false
	}
	elem, ok := typeOf[C.GoString(vs.format)]
	if !ok {
		return f, nil, false
	}
	// The values this column's rows reach must exist.
	need := (int64(a.offset) + int64(rows)) * int64(size)
	if int64(va.length) < need {
		return f, nil, false
	}
	md, ok := decodeMetadata(s.metadata)
	if !ok {
		return f, nil, false
	}
	bufs := unsafe.Slice(va.buffers, 2)
	width := elem.(arrow.FixedWidthDataType).BitWidth() / 8
	nbytes := int(int64(va.offset)+int64(va.length)) * width
	if bufs[1] == nil && nbytes > 0 {
		return f, nil, false
	}
	var data *memory.Buffer
	if nbytes > 0 {
		data = memory.NewBufferBytes(unsafe.Slice((*byte)(bufs[1]), nbytes))
	} else {
		data = memory.NewBufferBytes(nil)
	}
	typ := arrow.FixedSizeListOf(int32(size), elem)
	typ.SetElemNullable(vs.flags&flagNullable != 0)
	vals := array.NewData(elem, int(va.length), []*memory.Buffer{nil, data}, nil, 0, int(va.offset))
	defer vals.Release()
	list := array.NewData(typ, rows, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, int(a.offset))
	defer list.Release()
	f = arrow.Field{Name: C.GoString(s.name), Type: typ, Nullable: s.flags&flagNullable != 0, Metadata: md}
	return f, array.MakeFromData(list), true
}

// decodeMetadata reads the C Data Interface's binary metadata (int32 count,
// then int32-length-prefixed keys and values), or reports false if it is
// malformed. A NULL pointer is no metadata.
func decodeMetadata(p *C.char) (arrow.Metadata, bool) {
	if p == nil {
		return arrow.Metadata{}, true
	}
	read := func(at uintptr) int32 {
		return int32(binary.NativeEndian.Uint32(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), at)), 4)))
	}
	n := read(0)
	if n < 0 || n > 1<<16 {
		return arrow.Metadata{}, false
	}
	keys, vals := make([]string, n), make([]string, n)
	pos := uintptr(4)
	str := func() (string, bool) {
		l := read(pos)
		if l < 0 || l > 1<<24 {
			return "", false
		}
		s := C.GoStringN((*C.char)(unsafe.Add(unsafe.Pointer(p), pos+4)), C.int(l))
		pos += 4 + uintptr(l)
		return s, true
	}
	for i := range keys {
		var ok bool
		if keys[i], ok = str(); !ok {
			return arrow.Metadata{}, false
		}
		if vals[i], ok = str(); !ok {
			return arrow.Metadata{}, false
		}
	}
	return arrow.NewMetadata(keys, vals), true
}
