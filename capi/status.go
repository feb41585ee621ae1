package main

// #include "capi.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// Status codes (staa.h).
const (
	statusOK          = C.STAA_OK
	statusInvalid     = C.STAA_EINVAL
	statusNoMem       = C.STAA_ENOMEM
	statusRuntime     = C.STAA_ERUNTIME
	statusInternal    = C.STAA_EINTERNAL
	statusUnsupported = C.STAA_EUNSUPPORTED
)

// statusError attaches a status code to an error.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus returns err with the status code, unless it already has one.
func withStatus(code int, err error) error {
	if err == nil {
		return nil
	}
	var se *statusError
	if errors.As(err, &se) {
		return err
	}
	return &statusError{code: code, err: err}
}

// invalidf is a STAA_EINVAL error.
func invalidf(format string, a ...any) error {
	return &statusError{code: statusInvalid, err: fmt.Errorf(format, a...)}
}

// statusOf maps an error to its status code. Errors carry one when they are
// made (withStatus at each stage of a call); the rest are classified here:
// "unsupported" (errors.ErrUnsupported, arrow.ErrNotImplemented, or a
// message saying "not implemented") is STAA_EUNSUPPORTED, arrow.ErrInvalid is
// STAA_EINVAL, anything else STAA_EINTERNAL (a stage forgot to classify).
func statusOf(err error) int {
	if err == nil {
		return statusOK
	}
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case isUnsupported(err):
		return statusUnsupported
	case errors.Is(err, arrow.ErrInvalid):
		return statusInvalid
	}
	return statusInternal
}

func isUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, arrow.ErrNotImplemented) ||
		strings.Contains(err.Error(), "not implemented")
}

// engineStatus classifies an error of the staa engine: the engine only
// fails on its input (geometry, shapes, NaN, missing gradients), so
// STAA_EINVAL, unless it says the feature is not available.
func engineStatus(err error) error {
	if err == nil {
		return nil
	}
	if isUnsupported(err) {
		return withStatus(statusUnsupported, err)
	}
	return withStatus(statusInvalid, err)
}

// call runs one entry point: f's error becomes a status code and a message
// in err; a panic is recovered into STAA_EINTERNAL (STAA_ENOMEM when an
// allocation failed) with the panic's message and where it happened. On
// success err holds the empty string.
func call(errBuf *C.char, errLen C.size_t, f func() error) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			code, msg := panicStatus(r)
			writeErr(errBuf, errLen, msg)
			status = C.int(code)
		}
	}()
	if err := f(); err != nil {
		writeErr(errBuf, errLen, message(err))
		return C.int(statusOf(err))
	}
	writeErr(errBuf, errLen, "")
	return statusOK
}

// message returns err's text, starting with "staa: ": a wrapped error such as
// "clip 1: staa: X" becomes "staa: clip 1: X".
func message(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "staa: ") {
		return msg
	}
	return "staa: " + strings.Replace(msg, "staa: ", "", 1)
}

// panicStatus classifies a recovered panic value. It runs in the deferred
// function, so the panicking frames are still on the stack.
func panicStatus(r any) (int, string) {
	text := fmt.Sprint(r)
	if err, ok := r.(error); ok && errors.Is(err, syscall.ENOMEM) || strings.Contains(text, "out of memory") {
		return statusNoMem, "staa: out of memory: " + text
	}
	return statusInternal, fmt.Sprintf("staa: internal error (recovered panic: %s%s); please report it", text, panicSite())
}

// panicSite returns " at function (file:line)" for the frame that panicked:
// the first frame below runtime.gopanic that is not in the runtime.
func panicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	below := false
	for {
		fr, more := frames.Next()
		if below && !strings.HasPrefix(fr.Function, "runtime.") {
			file := fr.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				if j := strings.LastIndex(file[:i], "/"); j >= 0 {
					file = file[j+1:]
				}
			}
			return fmt.Sprintf(" at %s (%s:%d)", fr.Function, file, fr.Line)
		}
		if fr.Function == "runtime.gopanic" {
			below = true
		}
		if !more {
			return ""
		}
	}
}

// writeErr writes msg into the C buffer err of errLen bytes, truncated at a
// UTF-8 boundary and NUL-terminated. err may be NULL or errLen 0.
func writeErr(err *C.char, errLen C.size_t, msg string) {
	if err == nil || errLen == 0 {
		return
	}
	n := len(msg)
	if uint64(n) > uint64(errLen)-1 {
		n = int(uint64(errLen) - 1)
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(err)), n+1)
	copy(dst, msg[:n])
	dst[n] = 0
}
