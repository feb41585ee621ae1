package main

// #cgo CFLAGS: -I${SRCDIR}/../include -Werror=incompatible-pointer-types -Werror=int-conversion
// #include "capi.h"
import "C"

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/cdata"

	"github.com/staa-dev/staa/staa"
)

// The Go halves of staa_attribute and staa_postprocess: entry.c defines those
// (with staa.h in scope, so the compiler checks them against the header) and
// calls these with the same arguments, declared by cgo in _cgo_export.h
// (const char* is spelled *C.cchar_t). The version script keeps them local.

//export capi_attribute
func capi_attribute(in *C.struct_ArrowArray, inSchema *C.struct_ArrowSchema, options *C.cchar_t,
	out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		return attribute(args{in: in, inSchema: inSchema, options: options, out: out, outSchema: outSchema}, staa.AttributeBatchTo)
	})
}

//export capi_postprocess
func capi_postprocess(in *C.struct_ArrowArray, inSchema *C.struct_ArrowSchema, options *C.cchar_t,
	out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		return postprocess(args{in: in, inSchema: inSchema, options: options, out: out, outSchema: outSchema}, staa.Postprocess)
	})
}

// args are the C arguments common to the entries that take a batch.
type args struct {
	in        *C.struct_ArrowArray
	inSchema  *C.struct_ArrowSchema
	options   *C.cchar_t
	out       *C.struct_ArrowArray
	outSchema *C.struct_ArrowSchema
	// inName names the input in messages: "in" when empty ("clips" for
	// staa_session_explain).
	inName string
}

func (a args) cIn() *cdata.CArrowArray { return (*cdata.CArrowArray)(unsafe.Pointer(a.in)) }
func (a args) cInSchema() *cdata.CArrowSchema {
	return (*cdata.CArrowSchema)(unsafe.Pointer(a.inSchema))
}
func (a args) cOut() *cdata.CArrowArray { return (*cdata.CArrowArray)(unsafe.Pointer(a.out)) }
func (a args) cOutSchema() *cdata.CArrowSchema {
	return (*cdata.CArrowSchema)(unsafe.Pointer(a.outSchema))
}

// optionsView is the options text as a Go string over the caller's C
// memory, not copied ("" for NULL): to read during the call, never to keep.
func (a args) optionsView() string {
	return cView((*C.char)(unsafe.Pointer(a.options)))
}

// optionsJSON returns the options document; NULL is the empty document.
func (a args) optionsJSON() []byte {
	if a.options == nil {
		return nil
	}
	return []byte(C.GoString((*C.char)(unsafe.Pointer(a.options))))
}

// consume releases the inputs that are not released (or moved) yet. Every
// entry defers it first thing, so the inputs are released exactly once on
// every path, panics included.
func (a args) consume() {
	C.capi_release_array(a.in)
	C.capi_release_schema(a.inSchema)
}

// libraryVersion is staa_version()'s string.
func libraryVersion() string { return C.STAA_LIBRARY_VERSION }
