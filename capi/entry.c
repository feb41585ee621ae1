// The exported entry points of libstaa.so (include/staa.h). They are thin C
// wrappers: staa_abi_version and staa_version need no Go, and the others
// refuse to enter the Go runtime in a child forked after the library was
// loaded (the runtime's threads do not survive fork(), so a call there could
// hang). The work is done by the Go functions capi_attribute,
// capi_postprocess (exports.go) and capi_session_* (session.go), which the
// version script keeps local.
//
// A staa_session* is an integer id of session.go's registry, cast to the
// opaque pointer type here: it is never dereferenced, and no Go pointer
// reaches C.

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "capi.h"
#include "_cgo_export.h"

// Set in a child of fork() by the handler the loader's constructor
// registers, before any other code of the library can run. A flag rather
// than comparing getpid() with the loader's pid on every call: getpid is a
// system call, 1 % of a small call's time. (A child made without fork()'s
// handlers — a raw clone, glibc's _Fork — is not seen; fork() and Python's
// os.fork run them.)
static int capi_child;

static void capi_in_child(void) { capi_child = 1; }

__attribute__((constructor)) static void capi_init(void) { pthread_atfork(NULL, NULL, capi_in_child); }

int capi_forked(void) { return capi_child; }

void capi_release_array(struct ArrowArray* a) {
  if (a != NULL && a->release != NULL) {
    a->release(a);
    a->release = NULL;
  }
}

void capi_release_schema(struct ArrowSchema* s) {
  if (s != NULL && s->release != NULL) {
    s->release(s);
    s->release = NULL;
  }
}

void capi_write_err(char* err, size_t err_len, const char* msg) {
  if (err == NULL || err_len == 0) return;
  size_t n = strlen(msg);
  if (n > err_len - 1) {
    n = err_len - 1;
    // do not cut a UTF-8 sequence: back off over continuation bytes
    while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80) n--;
  }
  memcpy(err, msg, n);
  err[n] = '\0';
}

static const char kForked[] =
    "staa: this process was forked after the staa library was loaded, and its Go "
    "runtime does not survive fork(): start worker processes with fork()+exec() "
    "(posix_spawn, or Python's 'spawn' start method), or load the library in the "
    "workers only";

static int refuse_after_fork(struct ArrowArray* in, struct ArrowSchema* in_schema,
                             struct ArrowArray* out, struct ArrowSchema* out_schema,
                             char* err, size_t err_len) {
  // The inputs are consumed on every path, this one too.
  capi_release_array(in);
  capi_release_schema(in_schema);
  if (out != NULL && out != in) memset(out, 0, sizeof *out);
  if (out_schema != NULL && out_schema != in_schema) memset(out_schema, 0, sizeof *out_schema);
  capi_write_err(err, err_len, kForked);
  return STAA_ERUNTIME;
}

int staa_abi_version(void) { return STAA_ABI_VERSION; }

const char* staa_version(void) { return STAA_LIBRARY_VERSION; }

int staa_attribute(struct ArrowArray* in, struct ArrowSchema* in_schema, const char* options_json,
                   struct ArrowArray* out, struct ArrowSchema* out_schema, char* err,
                   size_t err_len) {
  if (capi_forked()) return refuse_after_fork(in, in_schema, out, out_schema, err, err_len);
  return capi_attribute(in, in_schema, options_json, out, out_schema, err, err_len);
}

int staa_postprocess(struct ArrowArray* in, struct ArrowSchema* in_schema, const char* options_json,
                     struct ArrowArray* out, struct ArrowSchema* out_schema, char* err,
                     size_t err_len) {
  if (capi_forked()) return refuse_after_fork(in, in_schema, out, out_schema, err, err_len);
  return capi_postprocess(in, in_schema, options_json, out, out_schema, err, err_len);
}

int staa_session_open(const char* model_path, const char* options_json, staa_session** out, char* err,
                      size_t err_len) {
  if (out != NULL) *out = NULL;
  if (capi_forked()) {
    capi_write_err(err, err_len, kForked);
    return STAA_ERUNTIME;
  }
  uintptr_t id = 0;
  int st = capi_session_open(model_path, options_json, out != NULL ? &id : NULL, err, err_len);
  if (st == STAA_OK && out != NULL) *out = (staa_session*)id;
  return st;
}

int staa_session_explain(staa_session* s, struct ArrowArray* clips, struct ArrowSchema* clips_schema,
                         const char* options_json, struct ArrowArray* out, struct ArrowSchema* out_schema,
                         char* err, size_t err_len) {
  if (capi_forked()) return refuse_after_fork(clips, clips_schema, out, out_schema, err, err_len);
  return capi_session_explain((uintptr_t)s, clips, clips_schema, options_json, out, out_schema, err, err_len);
}

size_t staa_session_info(staa_session* s, char* buf, size_t buf_len) {
  if (capi_forked() || s == NULL) {
    if (buf != NULL && buf_len > 0) buf[0] = '\0';
    return 0;
  }
  return capi_session_info((uintptr_t)s, buf, buf_len);
}

void staa_session_close(staa_session* s) {
  // In a forked child the session's memory is a copy that dies with the
  // process: there is nothing to close, and the Go runtime cannot be entered.
  if (s == NULL || capi_forked()) return;
  capi_session_close((uintptr_t)s);
}
