package main

// #include <stdlib.h>
// #include "capi.h"
// #include "testhelpers.h"
import "C"

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/cdata"
)

// This file serves capi_test.go: _test.go files cannot use cgo. It adds
// nothing to the library's ABI (the version script keeps it local).

// testBatch is a hand-built C record batch and the counters of its release
// callbacks, all in C memory.
type testBatch struct {
	arr *C.struct_ArrowArray
	sch *C.struct_ArrowSchema
	cnt *C.capitest_counts
}

// newTestBatch builds a batch of one tensor column over values (C memory,
// rows·listSize elements of format's type), not copied.
func newTestBatch(rows int, name, format, extMeta string, listSize int, values unsafe.Pointer, structTop bool) *testBatch {
	b := &testBatch{
		arr: (*C.struct_ArrowArray)(C.calloc(1, C.sizeof_struct_ArrowArray)),
		sch: (*C.struct_ArrowSchema)(C.calloc(1, C.sizeof_struct_ArrowSchema)),
		cnt: (*C.capitest_counts)(C.calloc(1, C.sizeof_capitest_counts)),
	}
	cname, cformat, cmeta := C.CString(name), C.CString(format), C.CString(extMeta)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cformat))
	defer C.free(unsafe.Pointer(cmeta))
	top := C.int(0)
	if structTop {
		top = 1
	}
	C.capitest_make_batch(C.int64_t(rows), cname, cformat, cmeta, C.int64_t(listSize), values, top, b.cnt, b.arr, b.sch)
	return b
}

// releaseLeft releases what the library did not (for the NULL-argument
// tests) and frees the structs.
func (b *testBatch) free() {
	C.capi_release_array(b.arr)
	C.capi_release_schema(b.sch)
	C.free(unsafe.Pointer(b.arr))
	C.free(unsafe.Pointer(b.sch))
	C.free(unsafe.Pointer(b.cnt))
}

// counts returns the release calls: top-level array, top-level schema, all
// arrays, all schemas.
func (b *testBatch) counts() (topArray, topSchema, arrays, schemas int) {
	return int(b.cnt.top_array_calls), int(b.cnt.top_schema_calls), int(b.cnt.array_calls), int(b.cnt.schema_calls)
}

func (b *testBatch) released() bool { return b.arr.release == nil && b.sch.release == nil }

// cFloats returns n float32s of C memory and a Go slice over them.
func cFloats(n int) (unsafe.Pointer, []float32) {
	p := C.calloc(C.size_t(n), 4)
	return p, unsafe.Slice((*float32)(p), n)
}

func cFree(p unsafe.Pointer) { C.free(p) }

// cOutput is a C output record batch (zeroed C memory).
type cOutput struct {
	arr *C.struct_ArrowArray
	sch *C.struct_ArrowSchema
}

func newCOutput() cOutput {
	return cOutput{
		arr: (*C.struct_ArrowArray)(C.calloc(1, C.sizeof_struct_ArrowArray)),
		sch: (*C.struct_ArrowSchema)(C.calloc(1, C.sizeof_struct_ArrowSchema)),
	}
}

func (o cOutput) released() bool { return o.arr.release == nil && o.sch.release == nil }

func (o cOutput) free() {
	C.capi_release_array(o.arr)
	C.capi_release_schema(o.sch)
	C.free(unsafe.Pointer(o.arr))
	C.free(unsafe.Pointer(o.sch))
}

// cCall runs one of the exported Go entries the way entry.c does, with an
// error buffer of errLen bytes (and 16 guard bytes after it, which must stay
// untouched). options nil passes NULL; in or out nil pass NULL pointers.
func cCall(entry string, in *testBatch, options *string, out *cOutput, errLen int) (status int, msg string, guardOK bool) {
	var copts *C.cchar_t
	if options != nil {
		s := C.CString(*options)
		defer C.free(unsafe.Pointer(s))
		copts = (*C.cchar_t)(s)
	}
	var (
		arr  *C.struct_ArrowArray
		sch  *C.struct_ArrowSchema
		oarr *C.struct_ArrowArray
		osch *C.struct_ArrowSchema
	)
	if in != nil {
		arr, sch = in.arr, in.sch
	}
	if out != nil {
		oarr, osch = out.arr, out.sch
	}
	const guard = 16
	buf := (*C.char)(C.malloc(C.size_t(errLen + guard)))
	defer C.free(unsafe.Pointer(buf))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(buf)), errLen+guard)
	for i := range raw {
		raw[i] = '#'
	}
	var st C.int
	switch entry {
	case "attribute":
		st = capi_attribute(arr, sch, copts, oarr, osch, buf, C.size_t(errLen))
	case "postprocess":
		st = capi_postprocess(arr, sch, copts, oarr, osch, buf, C.size_t(errLen))
	default:
		panic("unknown entry " + entry)
	}
	guardOK = true
	for _, c := range raw[errLen:] {
		guardOK = guardOK && c == '#'
	}
	if errLen > 0 {
		msg = C.GoString(buf)
	}
	return int(st), msg, guardOK
}

// callGuarded runs f through call with a C error buffer of errLen bytes.
func callGuarded(errLen int, f func() error) (int, string) {
	buf := (*C.char)(C.malloc(C.size_t(errLen + 1)))
	defer C.free(unsafe.Pointer(buf))
	st := call(buf, C.size_t(errLen), f)
	msg := ""
	if errLen > 0 {
		msg = C.GoString(buf)
	}
	return int(st), msg
}

// writeErrTo writes msg through writeErr into a buffer of errLen bytes plus
// guard bytes and returns the whole buffer.
func writeErrTo(errLen int, msg string) []byte {
	const guard = 8
	buf := C.malloc(C.size_t(errLen + guard))
	defer C.free(buf)
	raw := unsafe.Slice((*byte)(buf), errLen+guard)
	for i := range raw {
		raw[i] = '#'
	}
	writeErr((*C.char)(buf), C.size_t(errLen), msg)
	return append([]byte(nil), raw...)
}

// testArgs returns the args of an entry for the Go-level functions.
func testArgs(in *testBatch, options string, out cOutput) (args, func()) {
	s := C.CString(options)
	return args{in: in.arr, inSchema: in.sch, options: (*C.cchar_t)(s), out: out.arr, outSchema: out.sch},
		func() { C.free(unsafe.Pointer(s)) }
}

// cForked reports capi_forked() (false in any test process).
func cForked() bool { return C.capi_forked() != 0 }

// cWriteErr runs the C capi_write_err into a buffer of errLen bytes.
func cWriteErr(errLen int, msg string) []byte {
	const guard = 8
	buf := C.malloc(C.size_t(errLen + guard))
	defer C.free(buf)
	raw := unsafe.Slice((*byte)(buf), errLen+guard)
	for i := range raw {
		raw[i] = '#'
	}
	cm := C.CString(msg)
	defer C.free(unsafe.Pointer(cm))
	C.capi_write_err((*C.char)(buf), C.size_t(errLen), cm)
	return append([]byte(nil), raw...)
}

// setNullCountUnknown sets null_count to -1 ("not computed", which the C
// Data Interface allows) in every array of b.
func (b *testBatch) setNullCountUnknown() {
	var walk func(a *C.struct_ArrowArray)
	walk = func(a *C.struct_ArrowArray) {
		a.null_count = -1
		for _, c := range unsafe.Slice(a.children, a.n_children) {
			walk(c)
		}
	}
	walk(b.arr)
}

// cBytes returns n bytes of C memory and a Go slice over them.
func cBytes(n int) (unsafe.Pointer, []byte) {
	p := C.calloc(C.size_t(max(n, 1)), 1)
	return p, unsafe.Slice((*byte)(p), n)
}

// errBuf is a C error buffer of errLen bytes followed by guard bytes.
type errBuf struct {
	p   *C.char
	raw []byte
	n   int
}

func newErrBuf(errLen int) errBuf {
	const guard = 16
	p := (*C.char)(C.malloc(C.size_t(errLen + guard)))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(p)), errLen+guard)
	for i := range raw {
		raw[i] = '#'
	}
	return errBuf{p, raw, errLen}
}

// done returns the message and whether the guard bytes are untouched, and
// frees the buffer.
func (e errBuf) done() (string, bool) {
	defer C.free(unsafe.Pointer(e.p))
	ok := true
	for _, c := range e.raw[e.n:] {
		ok = ok && c == '#'
	}
	msg := ""
	if e.n > 0 {
		msg = C.GoString(e.p)
	}
	return msg, ok
}

func optCString(s *string) (*C.cchar_t, func()) {
	if s == nil {
		return nil, func() {}
	}
	c := C.CString(*s)
	return (*C.cchar_t)(c), func() { C.free(unsafe.Pointer(c)) }
}

// cSessionOpen runs capi_session_open as entry.c does. path nil passes
// NULL; noOut passes a NULL out.
func cSessionOpen(path, options *string, noOut bool, errLen int) (h uintptr, status int, msg string) {
	cp, freeP := optCString(path)
	defer freeP()
	co, freeO := optCString(options)
	defer freeO()
	out := (*C.uintptr_t)(C.malloc(C.sizeof_uintptr_t))
	defer C.free(unsafe.Pointer(out))
	*out = 12345 // must be reset
	o := out
	if noOut {
		o = nil
	}
	eb := newErrBuf(errLen)
	st := capi_session_open(cp, co, o, eb.p, C.size_t(errLen))
	msg, _ = eb.done()
	return uintptr(*out), int(st), msg
}

// cSessionExplain runs capi_session_explain; in or out nil pass NULL.
func cSessionExplain(h uintptr, in *testBatch, options *string, out *cOutput, errLen int) (status int, msg string, guardOK bool) {
	co, freeO := optCString(options)
	defer freeO()
	var (
		arr  *C.struct_ArrowArray
		sch  *C.struct_ArrowSchema
		oarr *C.struct_ArrowArray
		osch *C.struct_ArrowSchema
	)
	if in != nil {
		arr, sch = in.arr, in.sch
	}
	if out != nil {
		oarr, osch = out.arr, out.sch
	}
	eb := newErrBuf(errLen)
	st := capi_session_explain(C.uintptr_t(h), arr, sch, co, oarr, osch, eb.p, C.size_t(errLen))
	msg, guardOK = eb.done()
	return int(st), msg, guardOK
}

// cSessionInfo runs capi_session_info with a buffer of bufLen bytes (NULL
// for 0) and returns its result and the buffer's string.
func cSessionInfo(h uintptr, bufLen int) (int, string) {
	if bufLen == 0 {
		return int(capi_session_info(C.uintptr_t(h), nil, 0)), ""
	}
	buf := (*C.char)(C.malloc(C.size_t(bufLen)))
	defer C.free(unsafe.Pointer(buf))
	*buf = 'x'
	n := capi_session_info(C.uintptr_t(h), buf, C.size_t(bufLen))
	return int(n), C.GoString(buf)
}

func cSessionClose(h uintptr) { capi_session_close(C.uintptr_t(h)) }

// importOutput imports an output batch (moving it out of o).
func importOutput(o cOutput) (arrow.RecordBatch, error) {
	return cdata.ImportCRecordBatch((*cdata.CArrowArray)(unsafe.Pointer(o.arr)), (*cdata.CArrowSchema)(unsafe.Pointer(o.sch)))
}

// exportForTest runs exportBatch into fresh C structs.
func exportForTest(rec arrow.RecordBatch) (cOutput, error) {
	o := newCOutput()
	return o, exportBatch(rec, o.arr, o.sch)
}

// moveChild moves child i of o's array and schema into new C structs (the
// C Data Interface's "moving child arrays"): the originals are marked
// released. The caller releases and frees the returned output.
func moveChild(o cOutput, i int) cOutput {
	m := newCOutput()
	ca := unsafe.Slice(o.arr.children, o.arr.n_children)[i]
	cs := unsafe.Slice(o.sch.children, o.sch.n_children)[i]
	*m.arr, *m.sch = *ca, *cs
	ca.release, cs.release = nil, nil
	return m
}

// childValues returns the float32 values of a moved FixedSizeList<float32>.
func childValues(o cOutput) []float32 {
	vals := *o.arr.children
	bufs := unsafe.Slice(vals.buffers, 2)
	return unsafe.Slice((*float32)(bufs[1]), int(vals.length))
}

// diffOutputs returns the first difference between two exported batches
// (formats, names, flags, metadata bytes, lengths, null counts, offsets, the
// values' bytes), or "" when they are the same.
func diffOutputs(a, b cOutput) string {
	if d := diffSchemas("schema", a.sch, b.sch); d != "" {
		return d
	}
	return diffArrays("array", a.arr, b.arr, a.sch)
}

func diffSchemas(path string, a, b *C.struct_ArrowSchema) string {
	switch {
	case (a.release == nil) != (b.release == nil):
		return path + ": one is released"
	case C.GoString(a.format) != C.GoString(b.format):
		return fmt.Sprintf("%s: format %q, %q", path, C.GoString(a.format), C.GoString(b.format))
	case C.GoString(a.name) != C.GoString(b.name):
		return fmt.Sprintf("%s: name %q, %q", path, C.GoString(a.name), C.GoString(b.name))
	case a.flags != b.flags || a.n_children != b.n_children || (a.dictionary == nil) != (b.dictionary == nil):
		return fmt.Sprintf("%s: flags %d, %d; %d, %d children", path, a.flags, b.flags, a.n_children, b.n_children)
	case !bytes.Equal(cMetadata(a.metadata), cMetadata(b.metadata)):
		return fmt.Sprintf("%s: metadata %q, %q", path, cMetadata(a.metadata), cMetadata(b.metadata))
	}
	bc := unsafe.Slice(b.children, b.n_children)
	for i, c := range unsafe.Slice(a.children, a.n_children) {
		if d := diffSchemas(fmt.Sprintf("%s.%d", path, i), c, bc[i]); d != "" {
			return d
		}
	}
	return ""
}

// diffArrays compares arrays of schema s; it compares the bytes of the
// values buffers of leaves, and whether the other buffers are NULL.
func diffArrays(path string, a, b *C.struct_ArrowArray, s *C.struct_ArrowSchema) string {
	if (a.release == nil) != (b.release == nil) || a.length != b.length || a.null_count != b.null_count ||
		a.offset != b.offset || a.n_buffers != b.n_buffers || a.n_children != b.n_children || (a.dictionary == nil) != (b.dictionary == nil) {
		return fmt.Sprintf("%s: length %d, %d; null count %d, %d; offset %d, %d; %d, %d buffers; %d, %d children", path,
			a.length, b.length, a.null_count, b.null_count, a.offset, b.offset, a.n_buffers, b.n_buffers, a.n_children, b.n_children)
	}
	bb := unsafe.Slice(b.buffers, b.n_buffers)
	for i, p := range unsafe.Slice(a.buffers, a.n_buffers) {
		if (p == nil) != (bb[i] == nil) {
			return fmt.Sprintf("%s: buffer %d NULL in one only", path, i)
		}
		if t, ok := typeOf[C.GoString(s.format)]; ok && i == 1 {
			n := int(a.offset+a.length) * t.(arrow.FixedWidthDataType).BitWidth() / 8
			if !bytes.Equal(unsafe.Slice((*byte)(p), n), unsafe.Slice((*byte)(bb[i]), n)) {
				return fmt.Sprintf("%s: values differ", path)
			}
		}
	}
	bc, sc := unsafe.Slice(b.children, b.n_children), unsafe.Slice(s.children, s.n_children)
	for i, c := range unsafe.Slice(a.children, a.n_children) {
		if d := diffArrays(fmt.Sprintf("%s.%d", path, i), c, bc[i], sc[i]); d != "" {
			return d
		}
	}
	return ""
}

// cMetadata returns the bytes of C Data Interface metadata (nil for NULL).
func cMetadata(p *C.char) []byte {
	if p == nil {
		return nil
	}
	u32 := func(off int) int {
		return int(binary.NativeEndian.Uint32(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), off)), 4)))
	}
	n := 4
	for range u32(0) {
		n += 4 + u32(n)
		n += 4 + u32(n)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

// setColumn sets the offset and length of column i of o's array (the
// FixedSizeList, not its values).
func setColumn(o cOutput, i int, offset, length int64) {
	c := unsafe.Slice(o.arr.children, o.arr.n_children)[i]
	c.offset, c.length = C.int64_t(offset), C.int64_t(length)
}
