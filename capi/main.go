// Command capi is the C ABI of staa: built with -buildmode=c-shared it is
// libstaa.so, whose public header is include/staa.h (`make lib`).
//
// The layout follows apache/arrow-adbc's Go drivers: the engine is pure Go
// (package staa, and staa/arrowio for the Arrow conversion), and this
// package is a thin layer that imports and exports record batches through
// the Arrow C Data Interface (arrow-go's cdata package), turns every error
// into a status code plus a message, and recovers every panic.
//
//   - entry.c defines the exported symbols (staa_*). Those that enter Go
//     check that the process was not forked since the library was loaded,
//     then call the Go functions capi_attribute, capi_postprocess
//     (exports.go) and capi_session_* (session.go).
//   - call (status.go) runs each Go entry: it recovers panics (STAA_EINTERNAL,
//     or STAA_ENOMEM when an allocation failed) and writes the message.
//   - attribute and postprocess (attribute.go) do the work on arrow-go types:
//     import (consuming the input on every path), parse the options, read the
//     clips zero-copy, run the engine, write the output with a malloc-based
//     allocator and export it.
//   - session.go is the session API (staa_session_open / _explain / _info /
//     _close) over package runtime: ONNX models on ONNX Runtime. A
//     staa_session* is an integer id of a registry, never a Go pointer.
//   - staa.map is the linker version script: only staa_* stays global.
//
// The session registry is the only package-level mutable state (behind a
// mutex): each call makes its own allocator, and everything else is on the
// stack of the call.
package main

func main() {}
