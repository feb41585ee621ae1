package main

// #include "capi.h"
import "C"

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/staa-dev/staa/internal/memo"
	"github.com/staa-dev/staa/staa/arrowio"
)

// importFlat describes the input batch's columns in place when the batch has
// the shape every caller sends: a struct array ("+s", offset 0) of
// FixedSizeList columns of fixed-width values, no dictionaries, every null
// count 0. It returns false for anything else, which cdata.ImportCArray
// handles.
//
// The columns' values are Go slices over the caller's memory and the C
// structs are not moved: a.consume releases them when the call returns,
// after the last use of the values. Only the top-level structs are released,
// once each, as the C Data Interface asks of a consumer; arrow-go's importer
// also releases every child schema, each a callback into the producer (into
// Python for the staa package), which cost more than a small attribution.
// No arrow-go record is built either: the readers (arrowio.ReadClipColumns
// and friends) take the plain description, and check the rows and values
// that the columns claim.
func importFlat(a args) ([]arrowio.InputColumn, int, bool) {
	sch, arr := a.inSchema, a.in
	if cView(sch.format) != "+s" || sch.dictionary != nil || arr.dictionary != nil ||
		arr.offset != 0 || arr.length < 0 || arr.n_children != sch.n_children || sch.n_children < 0 ||
		!nullFree(arr) || arr.n_children > 0 && (arr.children == nil || sch.children == nil) {
		return nil, 0, false
	}
	// The schema's own metadata is not read, only checked.
	if _, _, ok := metadataExtent(sch.metadata); !ok {
		return nil, 0, false
	}
	k := int(sch.n_children)
	schemas := unsafe.Slice(sch.children, k)
	arrays := unsafe.Slice(arr.children, k)
	cols := make([]arrowio.InputColumn, k)
	for i := range k {
		var ok bool
		if cols[i], ok = flatColumnIn(schemas[i], arrays[i]); !ok {
			return nil, 0, false
		}
	}
	return cols, int(arr.length), true
}

// nullFree reports whether a says it has no nulls (a null count of 0; -1,
// "not computed", is left to arrow-go, which counts or refuses).
func nullFree(a *C.struct_ArrowArray) bool {
	return a.n_buffers >= 1 && a.buffers != nil && a.null_count == 0
}

// maxValues bounds the values a column may claim, so that their size in
// bytes is an int.
const maxValues = math.MaxInt64 / 16

// flatColumnIn describes one column: "+w:size" over one child of a type in
// valueFormats. Its rows and values are what the C structs say; the readers
// check them against the batch.
func flatColumnIn(s *C.struct_ArrowSchema, a *C.struct_ArrowArray) (arrowio.InputColumn, bool) {
	var c arrowio.InputColumn
	if s == nil || a == nil || s.dictionary != nil || a.dictionary != nil || s.n_children != 1 || a.n_children != 1 ||
		s.children == nil || a.children == nil || a.n_buffers != 1 || !nullFree(a) || a.offset < 0 || a.length < 0 {
		return c, false
	}
	size, ok := listSize(cView(s.format))
	if !ok {
		return c, false
	}
	vs, va := *s.children, *a.children
	if vs == nil || va == nil || vs.dictionary != nil || va.dictionary != nil || vs.n_children != 0 ||
		va.n_children != 0 || va.n_buffers != 2 || !nullFree(va) || va.offset < 0 || va.length < 0 ||
		int64(va.offset)+int64(va.length) > maxValues {
		return c, false
	}
	elem, ok := typeOf[cView(vs.format)]
	if !ok {
		return c, false
	}
	md, ok := decodeMetadata(s.metadata)
	if !ok {
		return c, false
	}
	width := elem.(arrow.FixedWidthDataType).BitWidth() / 8
	data := unsafe.Slice(va.buffers, 2)[1]
	end := int(int64(va.offset)+int64(va.length)) * width
	if data == nil && end > 0 {
		return c, false
	}
	var values []byte
	if end > 0 {
		values = unsafe.Slice((*byte)(data), end)[int(va.offset)*width:]
	}
	return arrowio.InputColumn{
		Name:     columnName(s.name),
		Metadata: md,
		Elem:     elem,
		Size:     size,
		Len:      int(a.length),
		Offset:   int(a.offset),
		Values:   values,
	}, true
}

// listSize parses a FixedSizeList format, "+w:size".
func listSize(format string) (int, bool) {
	digits, ok := strings.CutPrefix(format, "+w:")
	size, err := strconv.Atoi(digits)
	return size, ok && err == nil && size > 0 && size <= math.MaxInt32
}

// cView returns the NUL-terminated C string at p as a Go string over the C
// memory, not copied: to compare or look up, never to keep.
func cView(p *C.char) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return unsafe.String((*byte)(unsafe.Pointer(p)), n)
}

// cInt32 reads the native-endian int32 at p+at.
func cInt32(p *C.char, at int) int {
	return int(int32(binary.NativeEndian.Uint32(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), at)), 4))))
}

// metadataExtent walks the C Data Interface's binary metadata at p (int32
// count, then int32-length-prefixed keys and values) and returns the number
// of pairs and its size in bytes, or reports false if it is malformed. A
// NULL pointer is no metadata.
func metadataExtent(p *C.char) (pairs, size int, ok bool) {
	if p == nil {
		return 0, 0, true
	}
	n := cInt32(p, 0)
	if n < 0 || n > 1<<16 {
		return 0, 0, false
	}
	pos := 4
	for range 2 * n {
		l := cInt32(p, pos)
		if l < 0 || l > 1<<24 || pos > 1<<30 {
			return 0, 0, false
		}
		pos += 4 + l
	}
	return n, pos, true
}

// decodeMetadata reads the binary metadata at p, or reports false if it is
// malformed. Callers send the same few columns' metadata call after call:
// metadatas remembers them by their bytes (compared in place, copied once),
// and the decoded arrow.Metadata is shared, read only.
func decodeMetadata(p *C.char) (arrow.Metadata, bool) {
	n, size, ok := metadataExtent(p)
	if !ok || n == 0 {
		return arrow.Metadata{}, ok
	}
	view := unsafe.String((*byte)(unsafe.Pointer(p)), size)
	if md, ok := metadatas.Load(view); ok {
		return md, true
	}
	raw := strings.Clone(view)
	kv := make([]string, 2*n)
	pos := 4
	for i := range 2 * n {
		l := cInt32(p, pos)
		kv[i/2+i%2*n] = raw[pos+4 : pos+4+l] // keys first, then values
		pos += 4 + l
	}
	md := arrow.NewMetadata(kv[:n:n], kv[n:2*n])
	metadatas.Store(raw, md)
	return md, true
}

// metadatas and names remember decoded field metadata and column names.
var (
	metadatas = memo.Table[string, arrow.Metadata]{Max: 256}
	names     = memo.Table[string, string]{Max: 256}
)

// columnName returns the NUL-terminated C string at p as a Go string,
// the same one for the same text (names).
func columnName(p *C.char) string {
	view := cView(p)
	if s, ok := names.Load(view); ok {
		return s
	}
	s := strings.Clone(view)
	names.Store(s, s)
	return s
}
