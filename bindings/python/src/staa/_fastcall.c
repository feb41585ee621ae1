/* staa._fastcall: one call into libstaa, C Data Interface structs built and
 * read in C.
 *
 * The package's ctypes path (_cbatch.py, _call.py) does the same in Python:
 * it costs ~100 µs of interpreter time a call, ten times what a tiny
 * attribution costs the library. This module is optional: without it (no C
 * compiler or Python older than 3.11 when the package was built) the ctypes
 * path runs, with the same results.
 *
 *   init(release_schema, release_array)
 *   call(fn, handle, columns, options) -> (status, message, metadata, outputs)
 *
 * init takes the addresses of the library's staa_release_borrowed_schema and
 * _array, the release callbacks of the input structs; call refuses to run
 * before it.
 *
 * fn is the address of staa_attribute, staa_postprocess (handle None) or
 * staa_session_explain (handle the session's address). columns is a tuple of
 * (name: bytes, data, shape: tuple of int, format: b"f" | b"e" | b"C" | ...),
 * batch first, where data is an object exporting a C-contiguous buffer (a
 * numpy array) or the address of the values as an int (a torch tensor's
 * data_ptr(); the caller keeps the tensor alive for the call). On success,
 * metadata is the output schema's raw C Data metadata (bytes) and outputs a
 * tuple of (name: str, format: str, row size: int, raw field metadata: bytes,
 * rows: int, buffer) where buffer exports the column's values, writable and
 * one-dimensional, and keeps the output batch alive; the batch is released
 * when the last buffer (and whatever views it) is gone. On an error status,
 * message is the library's message (bytes) and the other two are None.
 *
 * The input structs live in one malloc'd block with the library's release
 * callbacks for borrowed structs, which only mark them released; the
 * caller's memory is borrowed for the call. The library releases them before it returns; if it did not,
 * the block is left allocated (never freed under a consumer).
 *
 * Limited API (abi3, Python >= 3.11): one build serves later Pythons. */

#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#include <Python.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staa.h" /* the C Data Interface structs and the prototypes (include/ of the repository) */

/* The two shapes of a call: staa_attribute and staa_postprocess; staa_session_explain. */
typedef __typeof__(staa_attribute)* call_fn;
typedef __typeof__(staa_session_explain)* session_fn;

#define MAX_COLUMNS 8
#define ERR_LEN 4096
#define TEXT_LEN 512

/* ------------------------------------------------------------ input */

/* One input batch: the top struct and, per column, a FixedSizeList and its
 * values; the children and buffer pointers; the strings. */
typedef struct {
  struct ArrowSchema schema[1 + 2 * MAX_COLUMNS];
  struct ArrowArray array[1 + 2 * MAX_COLUMNS];
  struct ArrowSchema* schema_children[2 * MAX_COLUMNS];
  struct ArrowArray* array_children[2 * MAX_COLUMNS];
  const void* buffers[1 + 3 * MAX_COLUMNS];
  char format[MAX_COLUMNS][32];
  char name[MAX_COLUMNS][64];
  char value_format[MAX_COLUMNS][2];
  char metadata[MAX_COLUMNS][TEXT_LEN];
} input_block;

/* The library's release callbacks for borrowed structs (init). */
static void (*release_schema)(struct ArrowSchema*);
static void (*release_array)(struct ArrowArray*);

static int all_released(const input_block* b, int k) {
  for (int i = 0; i < 1 + 2 * k; i++)
    if (b->schema[i].release != NULL || b->array[i].release != NULL) return 0;
  return 1;
}

/* put appends a C Data metadata string (int32 length, bytes) at *p. */
static char* put(char* p, const char* s, int32_t n) {
  memcpy(p, &n, 4);
  memcpy(p + 4, s, (size_t)n);
  return p + 4 + n;
}

static const char EXT_NAME[] = "ARROW:extension:name";
static const char EXT_META[] = "ARROW:extension:metadata";
static const char TENSOR[] = "arrow.fixed_shape_tensor";

/* tensor_metadata writes the field metadata of a fixed_shape_tensor column
 * of row shape dims[0..nd) into out (TEXT_LEN bytes); 0 on overflow. */
static int tensor_metadata(char* out, const int64_t* dims, int nd) {
  char json[TEXT_LEN - 128];
  int n = snprintf(json, sizeof json, "{\"shape\":[");
  for (int i = 0; i < nd && n < (int)sizeof json; i++)
    n += snprintf(json + n, sizeof json - (size_t)n, i ? ",%lld" : "%lld", (long long)dims[i]);
  if (n >= (int)sizeof json - 3) return 0;
  n += snprintf(json + n, sizeof json - (size_t)n, "]}");
  int32_t count = 2;
  memcpy(out, &count, 4);
  char* p = out + 4;
  p = put(p, EXT_NAME, (int32_t)strlen(EXT_NAME));
  p = put(p, TENSOR, (int32_t)strlen(TENSOR));
  p = put(p, EXT_META, (int32_t)strlen(EXT_META));
  put(p, json, (int32_t)n);
  return 1;
}

/* value_size is the width in bytes of a fixed-width value format, 0 for
 * any other. */
static Py_ssize_t value_size(const char* f) {
  if (f == NULL || f[0] == 0 || f[1] != 0) return 0;
  switch (f[0]) {
    case 'f': case 'i': return 4;
    case 'e': return 2;
    case 'g': case 'l': return 8;
    case 'C': return 1;
  }
  return 0;
}

/* A column as the caller gave it, with the buffer view to release. */
typedef struct {
  const void* data;
  int64_t rows, size; /* rows, values per row */
  Py_buffer view;
  int has_view;
} column_in;

static int fail(const char* msg) {
  PyErr_SetString(PyExc_ValueError, msg);
  return 0;
}

/* read_layout fills the block's strings of column i (name, formats,
 * metadata) and c's rows and row size from the name (bytes), shape (a tuple
 * of int) and value format (bytes) of a column; dims receives the shape. */
static int read_layout(PyObject* name, PyObject* shape, PyObject* fmt, int i, input_block* b, column_in* c,
                       int64_t dims[16], int* ndim) {
  char* s;
  Py_ssize_t n;
  if (PyBytes_AsStringAndSize(name, &s, &n) < 0) return 0;
  if (n >= (Py_ssize_t)sizeof b->name[i]) return fail("staa._fastcall: column name too long");
  memcpy(b->name[i], s, (size_t)n);
  b->name[i][n] = 0;
  if (PyBytes_AsStringAndSize(fmt, &s, &n) < 0) return 0;
  if (n != 1) return fail("staa._fastcall: a value format is one character");
  b->value_format[i][0] = s[0];
  b->value_format[i][1] = 0;
  if (value_size(b->value_format[i]) == 0) return fail("staa._fastcall: unknown value format");
  if (!PyTuple_Check(shape)) return fail("staa._fastcall: shape must be a tuple");
  Py_ssize_t nd = PyTuple_Size(shape);
  if (nd < 1 || nd > 16) return fail("staa._fastcall: shape must have 1 to 16 dimensions");
  for (Py_ssize_t d = 0; d < nd; d++) {
    dims[d] = PyLong_AsLongLong(PyTuple_GetItem(shape, d));
    if (dims[d] < 0) return PyErr_Occurred() ? 0 : fail("staa._fastcall: negative dimension");
  }
  *ndim = (int)nd;
  c->rows = dims[0];
  c->size = 1;
  for (Py_ssize_t d = 1; d < nd; d++) c->size *= dims[d];
  if (!tensor_metadata(b->metadata[i], dims + 1, (int)nd - 1)) return fail("staa._fastcall: shape too long");
  snprintf(b->format[i], sizeof b->format[i], "+w:%lld", (long long)c->size);
  return 1;
}

/* read_buffer points c at the C-contiguous buffer data exports; the view is
 * released after the call. */
static int read_buffer(PyObject* data, const input_block* b, int i, column_in* c) {
  if (PyObject_GetBuffer(data, &c->view, PyBUF_C_CONTIGUOUS) < 0) return 0;
  c->has_view = 1;
  c->data = c->view.buf;
  /* The library reads rows·size values of the format's width: the buffer must hold them. */
  if (c->view.len < (Py_ssize_t)(c->rows * c->size) * value_size(b->value_format[i]))
    return fail("staa._fastcall: a column's buffer is shorter than its shape");
  return 1;
}

/* read_column fills c and the block's column i from the tuple t. */
static int read_column(PyObject* t, int i, input_block* b, column_in* c) {
  if (!PyTuple_Check(t) || PyTuple_Size(t) != 4) return fail("staa._fastcall: a column is (name, data, shape, format)");
  int64_t dims[16];
  int nd;
  if (!read_layout(PyTuple_GetItem(t, 0), PyTuple_GetItem(t, 2), PyTuple_GetItem(t, 3), i, b, c, dims, &nd)) return 0;
  PyObject* data = PyTuple_GetItem(t, 1);
  if (PyLong_Check(data)) {
    c->data = PyLong_AsVoidPtr(data);
    return c->data != NULL || !PyErr_Occurred();
  }
  return read_buffer(data, b, i, c);
}

/* build lays out the structs of k columns in b; every column has rows rows. */
static void build(input_block* b, const column_in* cols, int k, int64_t rows) {
  memset(b->schema, 0, sizeof b->schema);
  memset(b->array, 0, sizeof b->array);
  b->schema[0] = (struct ArrowSchema){.format = "+s", .name = "", .n_children = k,
                                      .children = b->schema_children, .release = release_schema};
  b->buffers[0] = NULL;
  b->array[0] = (struct ArrowArray){.length = rows, .n_buffers = 1, .n_children = k, .buffers = b->buffers,
                                    .children = b->array_children, .release = release_array};
  for (int i = 0; i < k; i++) {
    struct ArrowSchema *ls = &b->schema[1 + 2 * i], *vs = &b->schema[2 + 2 * i];
    struct ArrowArray *la = &b->array[1 + 2 * i], *va = &b->array[2 + 2 * i];
    b->schema_children[i] = ls;
    b->schema_children[MAX_COLUMNS + i] = vs;
    b->array_children[i] = la;
    b->array_children[MAX_COLUMNS + i] = va;
    *ls = (struct ArrowSchema){.format = b->format[i], .name = b->name[i], .metadata = b->metadata[i],
                               .n_children = 1, .children = &b->schema_children[MAX_COLUMNS + i],
                               .release = release_schema};
    *vs = (struct ArrowSchema){.format = b->value_format[i], .name = "item", .flags = ARROW_FLAG_NULLABLE,
                               .release = release_schema};
    const void** bufs = &b->buffers[1 + 3 * i];
    bufs[0] = NULL; /* list validity */
    bufs[1] = NULL; /* values validity */
    bufs[2] = cols[i].data;
    *la = (struct ArrowArray){.length = rows, .n_buffers = 1, .n_children = 1, .buffers = bufs,
                              .children = &b->array_children[MAX_COLUMNS + i], .release = release_array};
    *va = (struct ArrowArray){.length = rows * cols[i].size, .n_buffers = 2, .buffers = bufs + 1,
                              .release = release_array};
  }
}

/* ------------------------------------------------------------ output */

/* Batch owns an output ArrowArray (moved here) and releases it when the last
 * Column referring to it is gone. */
typedef struct {
  PyObject_HEAD
  struct ArrowArray array;
} Batch;

static void batch_dealloc(PyObject* self) {
  Batch* b = (Batch*)self;
  if (b->array.release != NULL) b->array.release(&b->array);
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_Free(self);
  Py_DECREF(tp);
}

static PyType_Slot batch_slots[] = {{Py_tp_dealloc, batch_dealloc}, {0, NULL}};
static PyType_Spec batch_spec = {"staa._fastcall.Batch", sizeof(Batch), 0, Py_TPFLAGS_DEFAULT, batch_slots};

#define MAX_OUT_DIMS 8

/* Column exports one output column's values as a writable, C-contiguous
 * buffer: one-dimensional, or of the shape a Plan learnt for it. */
typedef struct {
  PyObject_HEAD
  PyObject* batch;
  void* data;
  Py_ssize_t len, itemsize;
  char format[2];
  int ndim;
  Py_ssize_t shape[MAX_OUT_DIMS], strides[MAX_OUT_DIMS];
} Column;

static int column_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  Column* c = (Column*)self;
  (void)flags;
  view->obj = Py_NewRef(self);
  view->buf = c->data;
  view->len = c->len * c->itemsize;
  view->itemsize = c->itemsize;
  view->readonly = 0;
  view->ndim = c->ndim;
  view->format = c->format;
  view->shape = c->shape;
  view->strides = c->strides;
  view->suboffsets = NULL;
  view->internal = NULL;
  return 0;
}

/* column_shape gives c the C-contiguous shape dims[0..nd), which must hold
 * its values exactly; 0 if it does not. */
static int column_shape(Column* c, const Py_ssize_t* dims, int nd) {
  Py_ssize_t n = 1;
  for (int d = 0; d < nd; d++) n *= dims[d];
  if (nd < 1 || nd > MAX_OUT_DIMS || n != c->len) return 0;
  c->ndim = nd;
  Py_ssize_t stride = c->itemsize;
  for (int d = nd - 1; d >= 0; d--) {
    c->shape[d] = dims[d];
    c->strides[d] = stride;
    stride *= dims[d];
  }
  return 1;
}

static void column_dealloc(PyObject* self) {
  Column* c = (Column*)self;
  Py_XDECREF(c->batch);
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_Free(self);
  Py_DECREF(tp);
}

static PyType_Slot column_slots[] = {
    {Py_tp_dealloc, column_dealloc}, {Py_bf_getbuffer, column_getbuffer}, {0, NULL}};
static PyType_Spec column_spec = {"staa._fastcall.Column", sizeof(Column), 0, Py_TPFLAGS_DEFAULT, column_slots};

static PyTypeObject *BatchType, *ColumnType;


/* digest_add appends n bytes at p (a length first) to the digest d of
 * capacity cap at *len; a digest that does not fit is marked by *len > cap. */
static void digest_add(char* d, size_t cap, size_t* len, const void* p, size_t n) {
  if (*len + 8 + n <= cap) {
    uint64_t m = n;
    memcpy(d + *len, &m, 8);
    if (n) memcpy(d + *len + 8, p, n);
  }
  *len += 8 + n;
}

static size_t metadata_len(const char* p) {
  if (p == NULL) return 0;
  int32_t n;
  memcpy(&n, p, 4);
  const char* q = p + 4;
  for (int32_t i = 0; i < 2 * n; i++) {
    int32_t len;
    memcpy(&len, q, 4);
    q += 4 + len;
  }
  return (size_t)(q - p);
}

#define DIGEST_LEN 4096

/* An output batch read: the Batch that owns it, its columns (1-D) and a
 * digest of its layout — the schema's formats, names and metadata and the
 * row count — equal for two outputs whose columns have the same names,
 * formats, metadata and lengths. */
typedef struct {
  Batch* batch;
  Py_ssize_t k;
  Column* cols[MAX_COLUMNS];
  long long size[MAX_COLUMNS]; /* values per row */
  char digest[DIGEST_LEN];
  size_t digest_len; /* > DIGEST_LEN: too long to hold */
} output;

static void output_clear(output* o) {
  for (Py_ssize_t i = 0; i < o->k; i++) Py_XDECREF((PyObject*)o->cols[i]);
  Py_XDECREF((PyObject*)o->batch);
  o->k = 0;
  o->batch = NULL;
}

/* list_size reads the size of a fixed-size list format "+w:<size>" (what
 * sscanf would, without its stream setup, which took 2 % of a `last` call's
 * samples). 0 for any other format. */
static int list_size(const char* f, long long* size) {
  if (strncmp(f, "+w:", 3) != 0 || f[3] == 0) return 0;
  long long n = 0;
  for (f += 3; *f != 0; f++) {
    if (*f < '0' || *f > '9' || n > (LLONG_MAX - 9) / 10) return 0;
    n = n * 10 + (*f - '0');
  }
  *size = n;
  return 1;
}

/* read_columns checks the library's output and reads it into o; it takes
 * over *array (moved into a Batch) and leaves *schema to the caller. 0 with
 * an exception set on failure (o cleared). */
static int read_columns(struct ArrowArray* array, struct ArrowSchema* schema, output* o) {
  const char* bad = NULL;
  o->k = 0;
  o->batch = NULL;
  o->digest_len = 0;
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0 || array->n_children != schema->n_children ||
      schema->n_children > MAX_COLUMNS) {
    bad = "staa: the library returned an array that is not a record batch (or one of too many columns)";
    goto fail;
  }
  o->batch = PyObject_New(Batch, BatchType);
  if (o->batch == NULL) goto fail;
  o->batch->array = *array;
  array->release = NULL; /* moved */
  int64_t rows = o->batch->array.length;
  digest_add(o->digest, DIGEST_LEN, &o->digest_len, &rows, 8);
  digest_add(o->digest, DIGEST_LEN, &o->digest_len, schema->metadata, metadata_len(schema->metadata));
  for (int64_t i = 0; i < schema->n_children; i++) {
    struct ArrowSchema* fs = schema->children[i];
    struct ArrowArray* fa = o->batch->array.children[i];
    long long size = 0;
    if (fs->format == NULL || !list_size(fs->format, &size) || size < 0 || fs->n_children != 1 ||
        fa->n_children != 1 || fa->null_count != 0) {
      bad = "staa: an output column is not a fixed-size list without nulls";
      goto fail;
    }
    struct ArrowArray* va = fa->children[0];
    Py_ssize_t itemsize = value_size(fs->children[0]->format);
    if (itemsize == 0 || va->n_buffers != 2 || va->null_count != 0 || fa->length < o->batch->array.offset + rows) {
      bad = "staa: an output column has unexpected values";
      goto fail;
    }
    int64_t first = va->offset + (fa->offset + o->batch->array.offset) * size;
    if (va->length < first + rows * size) {
      bad = "staa: an output column holds fewer values than its rows";
      goto fail;
    }
    Column* c = PyObject_New(Column, ColumnType);
    if (c == NULL) goto fail;
    c->batch = Py_NewRef((PyObject*)o->batch);
    c->data = (char*)va->buffers[1] + first * itemsize;
    c->len = (Py_ssize_t)(rows * size);
    c->itemsize = itemsize;
    c->format[0] = fs->children[0]->format[0];
    c->format[1] = 0;
    c->ndim = 1;
    c->shape[0] = c->len;
    c->strides[0] = itemsize;
    o->size[o->k] = size;
    o->cols[o->k++] = c;
    const char* name = fs->name ? fs->name : "";
    digest_add(o->digest, DIGEST_LEN, &o->digest_len, name, strlen(name));
    digest_add(o->digest, DIGEST_LEN, &o->digest_len, fs->format, strlen(fs->format));
    digest_add(o->digest, DIGEST_LEN, &o->digest_len, c->format, 1);
    digest_add(o->digest, DIGEST_LEN, &o->digest_len, fs->metadata, metadata_len(fs->metadata));
  }
  return 1;
fail:
  if (bad != NULL) PyErr_SetString(PyExc_ValueError, bad);
  output_clear(o);
  return 0;
}

/* generic_output is the (metadata, outputs) form of an output read by
 * read_columns (see the top of the file); NULL with an exception set. */
static PyObject* generic_output(const output* o, const struct ArrowSchema* schema) {
  PyObject* meta = PyBytes_FromStringAndSize(schema->metadata ? schema->metadata : "",
                                             (Py_ssize_t)metadata_len(schema->metadata));
  PyObject* cols = PyTuple_New(o->k);
  PyObject* result = NULL;
  if (meta == NULL || cols == NULL) goto done;
  for (Py_ssize_t i = 0; i < o->k; i++) {
    struct ArrowSchema* fs = schema->children[i];
    Column* c = o->cols[i];
    PyObject* field_meta = PyBytes_FromStringAndSize(fs->metadata ? fs->metadata : "",
                                                     (Py_ssize_t)metadata_len(fs->metadata));
    if (field_meta == NULL) goto done;
    Py_INCREF((PyObject*)c);
    /* N steals field_meta and c, on failure too. */
    PyObject* item = Py_BuildValue("(ssLNLN)", fs->name ? fs->name : "", c->format, o->size[i], field_meta,
                                   (long long)o->batch->array.length, (PyObject*)c);
    if (item == NULL) goto done;
    PyTuple_SetItem(cols, i, item);
  }
  result = PyTuple_Pack(2, meta, cols);
done:
  Py_XDECREF(meta);
  Py_XDECREF(cols);
  return result;
}

/* read_output turns the library's output into (metadata, outputs); it takes
 * over *array (moved into a Batch) and releases *schema. */
static PyObject* read_output(struct ArrowArray* array, struct ArrowSchema* schema) {
  output o;
  PyObject* result = NULL;
  if (read_columns(array, schema, &o)) {
    result = generic_output(&o, schema);
    output_clear(&o);
  }
  if (array->release != NULL) array->release(array);
  if (schema->release != NULL) schema->release(schema);
  return result;
}

/* ------------------------------------------------------------ call */

static PyObject* fastcall_init(PyObject* self, PyObject* args) {
  (void)self;
  PyObject *schema_fn, *array_fn;
  if (!PyArg_ParseTuple(args, "OO", &schema_fn, &array_fn)) return NULL;
  void* s = PyLong_AsVoidPtr(schema_fn);
  void* a = PyLong_AsVoidPtr(array_fn);
  if (PyErr_Occurred()) return NULL;
  if (s == NULL || a == NULL) return PyErr_Format(PyExc_ValueError, "staa._fastcall: NULL release callback");
  release_schema = (void (*)(struct ArrowSchema*))s;
  release_array = (void (*)(struct ArrowArray*))a;
  Py_RETURN_NONE;
}

/* invoke lays out the k columns' structs in *b, calls fn (a session's
 * function when handle is not NULL) with the GIL released, and releases
 * the input structs the library did not. On status 0, *out and *out_schema
 * hold the output; else err holds the message. Frees *b, unless a consumer
 * still holds structs in it (then it is never freed under it). */
static int invoke(void* fn, void* handle, input_block* b, const column_in* cols, int k, const char* options,
                  struct ArrowArray* out, struct ArrowSchema* out_schema, char* err) {
  build(b, cols, k, cols[0].rows);
  *out = (struct ArrowArray){0};
  *out_schema = (struct ArrowSchema){0};
  err[0] = 0;
  int status;
  Py_BEGIN_ALLOW_THREADS
  if (handle != NULL)
    status = ((session_fn)fn)((staa_session*)handle, &b->array[0], &b->schema[0], options, out, out_schema, err,
                              ERR_LEN);
  else
    status = ((call_fn)fn)(&b->array[0], &b->schema[0], options, out, out_schema, err, ERR_LEN);
  Py_END_ALLOW_THREADS
  if (b->array[0].release != NULL) b->array[0].release(&b->array[0]);
  if (b->schema[0].release != NULL) b->schema[0].release(&b->schema[0]);
  if (status != 0) {
    if (out->release != NULL) out->release(out);
    if (out_schema->release != NULL) out_schema->release(out_schema);
  }
  if (all_released(b, k)) free(b); /* else a consumer still holds structs */
  return status;
}

/* error_result is (status, message, None, None); the message is bytes,
 * decoded in Python (replacing what is not UTF-8). */
static PyObject* error_result(int status, const char* err) {
  return Py_BuildValue("(iy#OO)", status, err, (Py_ssize_t)strnlen(err, ERR_LEN), Py_None, Py_None);
}

static PyObject* fastcall(PyObject* self, PyObject* args) {
  (void)self;
  PyObject *fn_obj, *handle_obj, *columns;
  const char* options;
  if (!PyArg_ParseTuple(args, "OOO!y", &fn_obj, &handle_obj, &PyTuple_Type, &columns, &options)) return NULL;
  if (release_schema == NULL || release_array == NULL)
    return PyErr_Format(PyExc_RuntimeError, "staa._fastcall: init was not called");
  void* fn = PyLong_AsVoidPtr(fn_obj);
  if (fn == NULL) return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "staa._fastcall: no function");
  void* handle = NULL;
  if (handle_obj != Py_None) {
    handle = PyLong_AsVoidPtr(handle_obj);
    if (handle == NULL && PyErr_Occurred()) return NULL;
  }
  Py_ssize_t k = PyTuple_Size(columns);
  if (k < 1 || k > MAX_COLUMNS) return PyErr_Format(PyExc_ValueError, "staa._fastcall: 1 to %d columns", MAX_COLUMNS);

  input_block* b = malloc(sizeof *b);
  if (b == NULL) return PyErr_NoMemory();
  column_in cols[MAX_COLUMNS];
  memset(cols, 0, sizeof cols);
  int ok = 1;
  for (Py_ssize_t i = 0; i < k && ok; i++) ok = read_column(PyTuple_GetItem(columns, i), (int)i, b, &cols[i]);
  for (Py_ssize_t i = 1; i < k && ok; i++)
    if (cols[i].rows != cols[0].rows) ok = fail("staa._fastcall: columns have different row counts");
  PyObject* result = NULL;
  if (ok) {
    struct ArrowArray out;
    struct ArrowSchema out_schema;
    char err[ERR_LEN];
    int status = invoke(fn, handle, b, cols, (int)k, options, &out, &out_schema, err);
    if (status != 0) {
      result = error_result(status, err);
    } else {
      PyObject* read = read_output(&out, &out_schema);
      if (read != NULL) {
        result = Py_BuildValue("(iOOO)", 0, Py_None, PyTuple_GetItem(read, 0), PyTuple_GetItem(read, 1));
        Py_DECREF(read);
      }
    }
  } else {
    free(b);
  }
  for (Py_ssize_t i = 0; i < k; i++)
    if (cols[i].has_view) PyBuffer_Release(&cols[i].view);
  return result;
}

/* ------------------------------------------------------------ plan */

/* Plan is staa_attribute (or any call of its shape) with its options and
 * input layout fixed: the repeated call of a signature that the package has
 * checked once (_attribute._Plan).
 *
 *   Plan(fn, options, strided, columns)
 *   plan(spatial, temporal, joint) -> None | (0, columns)
 *                                   | (1, metadata, outputs, digest) | (2, status, message)
 *   plan.learn(digest, shapes)
 *
 * columns is a tuple of (argument: 0 spatial, 1 temporal, 2 joint; name:
 * bytes; shape: tuple; format: bytes; dtype) per input column, dtype being
 * the torch dtype of a tensor input or None for an input read through the
 * buffer protocol (numpy); strided is torch.strided (None without torch).
 * A call reads its arrays in place when it can — a C-contiguous buffer of
 * the planned shape and format; a CPU tensor of the planned dtype and shape,
 * strided, contiguous, without the negative bit, read at data_ptr() — and
 * returns None when it cannot (the caller takes the general path). On an
 * error status it returns (2, status, message). An output whose layout
 * digest equals the one given to learn comes back as (0, columns): a buffer
 * per output column, of the shapes given to learn; any other as
 * (1, metadata, outputs, digest): call()'s form and the digest to learn. */
typedef struct {
  PyObject_HEAD
  void* fn;
  PyObject* options; /* bytes */
  PyObject* strided;
  int k;
  int arg[MAX_COLUMNS];
  PyObject* dtype[MAX_COLUMNS]; /* NULL: read through the buffer protocol */
  int ndim[MAX_COLUMNS];
  int64_t dims[MAX_COLUMNS][16];
  column_in layout[MAX_COLUMNS]; /* rows and row size */
  input_block* strings;          /* the columns' names, formats and metadata */
  /* the output layout learnt */
  char* digest;
  size_t digest_len;
  int out_k;
  int out_ndim[MAX_COLUMNS];
  Py_ssize_t out_dims[MAX_COLUMNS][MAX_OUT_DIMS];
} Plan;

static PyTypeObject* PlanType;
static PyObject *S_data_ptr, *S_is_contiguous, *S_is_neg, *S_is_cpu, *S_dtype, *S_layout, *S_shape;

static void plan_dealloc(PyObject* self) {
  Plan* p = (Plan*)self;
  Py_XDECREF(p->options);
  Py_XDECREF(p->strided);
  for (int i = 0; i < MAX_COLUMNS; i++) Py_XDECREF(p->dtype[i]);
  free(p->strings);
  free(p->digest);
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_Free(self);
  Py_DECREF(tp);
}

static PyObject* plan_new(PyTypeObject* type, PyObject* args, PyObject* kw) {
  PyObject *fn_obj, *options, *strided, *columns;
  if (kw != NULL && PyDict_Size(kw) != 0) return PyErr_Format(PyExc_TypeError, "Plan takes no keyword arguments");
  if (!PyArg_ParseTuple(args, "OO!OO!", &fn_obj, &PyBytes_Type, &options, &strided, &PyTuple_Type, &columns))
    return NULL;
  if (release_schema == NULL || release_array == NULL)
    return PyErr_Format(PyExc_RuntimeError, "staa._fastcall: init was not called");
  void* fn = PyLong_AsVoidPtr(fn_obj);
  if (fn == NULL) return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "staa._fastcall: no function");
  Py_ssize_t k = PyTuple_Size(columns);
  if (k < 1 || k > MAX_COLUMNS) return PyErr_Format(PyExc_ValueError, "staa._fastcall: 1 to %d columns", MAX_COLUMNS);
  /* PyType_GenericAlloc zeroes the object: NULL references, no digest */
  Plan* p = (Plan*)PyType_GenericAlloc(type, 0);
  if (p == NULL) return NULL;
  p->fn = fn;
  p->options = Py_NewRef(options);
  p->strided = Py_NewRef(strided);
  p->strings = malloc(sizeof *p->strings);
  if (p->strings == NULL) {
    PyErr_NoMemory();
    goto error;
  }
  for (Py_ssize_t i = 0; i < k; i++) {
    PyObject* c = PyTuple_GetItem(columns, i);
    if (!PyTuple_Check(c) || PyTuple_Size(c) != 5) {
      fail("staa._fastcall: a plan column is (argument, name, shape, format, dtype)");
      goto error;
    }
    long arg = PyLong_AsLong(PyTuple_GetItem(c, 0));
    if (arg < 0 || arg > 2) {
      if (!PyErr_Occurred()) fail("staa._fastcall: a plan column's argument is 0, 1 or 2");
      goto error;
    }
    if (!read_layout(PyTuple_GetItem(c, 1), PyTuple_GetItem(c, 2), PyTuple_GetItem(c, 3), (int)i, p->strings,
                     &p->layout[i], p->dims[i], &p->ndim[i]))
      goto error;
    if (i > 0 && p->layout[i].rows != p->layout[0].rows) {
      fail("staa._fastcall: columns have different row counts");
      goto error;
    }
    PyObject* dtype = PyTuple_GetItem(c, 4);
    p->arg[i] = (int)arg;
    p->dtype[i] = dtype == Py_None ? NULL : Py_NewRef(dtype);
    p->k = (int)i + 1;
  }
  return (PyObject*)p;
error:
  Py_DECREF((PyObject*)p);
  return NULL;
}

/* same_shape reports whether the sequence of ints shape is dims[0..nd). */
static int same_shape(PyObject* shape, const int64_t* dims, int nd) {
  if (!PyTuple_Check(shape) || PyTuple_Size(shape) != nd) return 0;
  for (int d = 0; d < nd; d++)
    if (PyLong_AsLongLong(PyTuple_GetItem(shape, d)) != dims[d]) return 0;
  return 1;
}

/* attr_is reports whether x.name is value (1), is not (0), or -1 with an
 * exception set. */
static int attr_is(PyObject* x, PyObject* name, PyObject* value) {
  PyObject* v = PyObject_GetAttr(x, name);
  if (v == NULL) return -1;
  int r = v == value;
  Py_DECREF(v);
  return r;
}

/* method_true calls x.name() and returns its truth (or -1). */
static int method_true(PyObject* x, PyObject* name) {
  PyObject* v = PyObject_CallMethodObjArgs(x, name, NULL);
  if (v == NULL) return -1;
  int r = PyObject_IsTrue(v);
  Py_DECREF(v);
  return r;
}

/* read_tensor points c at the values of tensor x if the plan can read it
 * in place (1), else 0; -1 with an exception set. */
static int read_tensor(Plan* p, int i, PyObject* x, column_in* c) {
  int r;
  if ((r = attr_is(x, S_dtype, p->dtype[i])) != 1) return r;
  if ((r = attr_is(x, S_layout, p->strided)) != 1) return r;
  if ((r = attr_is(x, S_is_cpu, Py_True)) != 1) return r;
  if ((r = method_true(x, S_is_contiguous)) != 1) return r;
  if ((r = method_true(x, S_is_neg)) != 0) return r < 0 ? -1 : 0;
  PyObject* shape = PyObject_GetAttr(x, S_shape);
  if (shape == NULL) return -1;
  r = same_shape(shape, p->dims[i], p->ndim[i]);
  Py_DECREF(shape);
  if (r != 1) return PyErr_Occurred() ? -1 : 0;
  PyObject* ptr = PyObject_CallMethodObjArgs(x, S_data_ptr, NULL);
  if (ptr == NULL) return -1;
  c->data = PyLong_AsVoidPtr(ptr);
  Py_DECREF(ptr);
  return PyErr_Occurred() ? -1 : 1;
}

/* read_planned_buffer is read_tensor for an object exporting a buffer. */
static int read_planned_buffer(Plan* p, int i, PyObject* x, column_in* c) {
  if (PyObject_GetBuffer(x, &c->view, PyBUF_STRIDES | PyBUF_FORMAT) < 0) {
    if (!PyErr_ExceptionMatches(PyExc_BufferError) && !PyErr_ExceptionMatches(PyExc_TypeError) &&
        !PyErr_ExceptionMatches(PyExc_ValueError))
      return -1;
    PyErr_Clear(); /* no buffer, or not one of these: the general path says why */
    return 0;
  }
  c->has_view = 1;
  c->data = c->view.buf;
  const char* f = c->view.format;
  const char* want = p->strings->value_format[i];
  if (!PyBuffer_IsContiguous(&c->view, 'C') || c->view.ndim != p->ndim[i] || f == NULL || f[0] != want[0] ||
      f[1] != 0 || c->view.itemsize != value_size(want))
    return 0;
  for (int d = 0; d < p->ndim[i]; d++)
    if (c->view.shape[d] != p->dims[i][d]) return 0;
  return 1;
}

static PyObject* plan_call(PyObject* self, PyObject* args, PyObject* kw) {
  Plan* p = (Plan*)self;
  PyObject* given[3];
  if (kw != NULL && PyDict_Size(kw) != 0) return PyErr_Format(PyExc_TypeError, "a Plan takes no keyword arguments");
  if (!PyArg_ParseTuple(args, "OOO", &given[0], &given[1], &given[2])) return NULL;
  column_in cols[MAX_COLUMNS];
  memset(cols, 0, sizeof cols);
  PyObject* result = NULL;
  int ok = 1;
  for (int i = 0; i < p->k && ok == 1; i++) {
    cols[i].rows = p->layout[i].rows;
    cols[i].size = p->layout[i].size;
    PyObject* x = given[p->arg[i]];
    ok = p->dtype[i] != NULL ? read_tensor(p, i, x, &cols[i]) : read_planned_buffer(p, i, x, &cols[i]);
  }
  if (ok == 0) result = Py_NewRef(Py_None);
  if (ok != 1) goto done;
  input_block* b = malloc(sizeof *b);
  if (b == NULL) {
    PyErr_NoMemory();
    goto done;
  }
  for (int i = 0; i < p->k; i++) {
    memcpy(b->format[i], p->strings->format[i], sizeof b->format[i]);
    memcpy(b->name[i], p->strings->name[i], sizeof b->name[i]);
    memcpy(b->value_format[i], p->strings->value_format[i], sizeof b->value_format[i]);
    memcpy(b->metadata[i], p->strings->metadata[i], sizeof b->metadata[i]);
  }
  struct ArrowArray out;
  struct ArrowSchema out_schema;
  char err[ERR_LEN];
  int status = invoke(p->fn, NULL, b, cols, p->k, PyBytes_AsString(p->options), &out, &out_schema, err);
  if (status != 0) {
    result = Py_BuildValue("(iiy#)", 2, status, err, (Py_ssize_t)strnlen(err, ERR_LEN));
    goto done;
  }
  output o;
  if (read_columns(&out, &out_schema, &o)) {
    if (p->digest != NULL && o.digest_len <= DIGEST_LEN && o.digest_len == p->digest_len &&
        memcmp(o.digest, p->digest, o.digest_len) == 0 && o.k == p->out_k) {
      PyObject* t = PyTuple_New(o.k);
      for (Py_ssize_t i = 0; t != NULL && i < o.k; i++) {
        if (!column_shape(o.cols[i], p->out_dims[i], p->out_ndim[i])) {
          Py_CLEAR(t);
          PyErr_SetString(PyExc_ValueError, "staa._fastcall: a learnt output shape does not fit its column");
          break;
        }
        PyTuple_SetItem(t, i, Py_NewRef((PyObject*)o.cols[i]));
      }
      if (t != NULL) {
        result = Py_BuildValue("(iN)", 0, t);
      }
    } else {
      PyObject* generic = generic_output(&o, &out_schema);
      PyObject* digest =
          o.digest_len <= DIGEST_LEN ? PyBytes_FromStringAndSize(o.digest, (Py_ssize_t)o.digest_len) : Py_NewRef(Py_None);
      if (generic != NULL && digest != NULL)
        result = Py_BuildValue("(iOOO)", 1, PyTuple_GetItem(generic, 0), PyTuple_GetItem(generic, 1), digest);
      Py_XDECREF(generic);
      Py_XDECREF(digest);
    }
    output_clear(&o);
  }
  if (out.release != NULL) out.release(&out);
  if (out_schema.release != NULL) out_schema.release(&out_schema);
done:
  for (int i = 0; i < p->k; i++)
    if (cols[i].has_view) PyBuffer_Release(&cols[i].view);
  return result;
}

static PyObject* plan_learn(PyObject* self, PyObject* args) {
  Plan* p = (Plan*)self;
  PyObject *digest, *shapes;
  if (!PyArg_ParseTuple(args, "O!O!", &PyBytes_Type, &digest, &PyTuple_Type, &shapes)) return NULL;
  Py_ssize_t k = PyTuple_Size(shapes);
  if (k < 1 || k > MAX_COLUMNS) return PyErr_Format(PyExc_ValueError, "staa._fastcall: 1 to %d shapes", MAX_COLUMNS);
  int ndim[MAX_COLUMNS];
  Py_ssize_t dims[MAX_COLUMNS][MAX_OUT_DIMS];
  for (Py_ssize_t i = 0; i < k; i++) {
    PyObject* shape = PyTuple_GetItem(shapes, i);
    if (!PyTuple_Check(shape) || PyTuple_Size(shape) < 1 || PyTuple_Size(shape) > MAX_OUT_DIMS)
      return PyErr_Format(PyExc_ValueError, "staa._fastcall: a shape is a tuple of 1 to %d ints", MAX_OUT_DIMS);
    ndim[i] = (int)PyTuple_Size(shape);
    for (int d = 0; d < ndim[i]; d++) {
      dims[i][d] = PyLong_AsSsize_t(PyTuple_GetItem(shape, d));
      if (dims[i][d] < 0) return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "staa._fastcall: negative dimension");
    }
  }
  char* copy = malloc((size_t)PyBytes_Size(digest) + 1);
  if (copy == NULL) return PyErr_NoMemory();
  memcpy(copy, PyBytes_AsString(digest), (size_t)PyBytes_Size(digest));
  free(p->digest);
  p->digest = copy;
  p->digest_len = (size_t)PyBytes_Size(digest);
  p->out_k = (int)k;
  memcpy(p->out_ndim, ndim, sizeof ndim);
  memcpy(p->out_dims, dims, sizeof dims);
  Py_RETURN_NONE;
}

static PyMethodDef plan_methods[] = {
    {"learn", plan_learn, METH_VARARGS, "learn(digest, shapes): the output layout to return as shaped buffers"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot plan_slots[] = {{Py_tp_new, plan_new},       {Py_tp_dealloc, plan_dealloc},
                                   {Py_tp_call, plan_call},     {Py_tp_methods, plan_methods},
                                   {Py_tp_doc, "A planned call: see _fastcall.c"}, {0, NULL}};
static PyType_Spec plan_spec = {"staa._fastcall.Plan", sizeof(Plan), 0, Py_TPFLAGS_DEFAULT, plan_slots};

static PyMethodDef methods[] = {
    {"init", fastcall_init, METH_VARARGS, "init(release_schema, release_array): the library's borrowed-struct releases"},
    {"call", fastcall, METH_VARARGS, "call(fn, handle, columns, options) -> (status, message, metadata, outputs)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "staa._fastcall", "One call into libstaa with the C Data structs built in C.", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastcall(void) {
  BatchType = (PyTypeObject*)PyType_FromSpec(&batch_spec);
  ColumnType = (PyTypeObject*)PyType_FromSpec(&column_spec);
  PlanType = (PyTypeObject*)PyType_FromSpec(&plan_spec);
  if (BatchType == NULL || ColumnType == NULL || PlanType == NULL) return NULL;
  PyObject** names[] = {&S_data_ptr, &S_is_contiguous, &S_is_neg, &S_is_cpu, &S_dtype, &S_layout, &S_shape};
  const char* strs[] = {"data_ptr", "is_contiguous", "is_neg", "is_cpu", "dtype", "layout", "shape"};
  for (int i = 0; i < 7; i++)
    if ((*names[i] = PyUnicode_InternFromString(strs[i])) == NULL) return NULL;
  PyObject* m = PyModule_Create(&module);
  if (m == NULL) return NULL;
  if (PyModule_AddObjectRef(m, "Plan", (PyObject*)PlanType) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
