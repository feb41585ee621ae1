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

/* read_column fills c and the block's column i from the tuple t. */
static int read_column(PyObject* t, int i, input_block* b, column_in* c) {
  if (!PyTuple_Check(t) || PyTuple_Size(t) != 4) return fail("staa._fastcall: a column is (name, data, shape, format)");
  PyObject* name = PyTuple_GetItem(t, 0);
  PyObject* data = PyTuple_GetItem(t, 1);
  PyObject* shape = PyTuple_GetItem(t, 2);
  PyObject* fmt = PyTuple_GetItem(t, 3);
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
  int64_t dims[16];
  for (Py_ssize_t d = 0; d < nd; d++) {
    dims[d] = PyLong_AsLongLong(PyTuple_GetItem(shape, d));
    if (dims[d] < 0) return PyErr_Occurred() ? 0 : fail("staa._fastcall: negative dimension");
  }
  c->rows = dims[0];
  c->size = 1;
  for (Py_ssize_t d = 1; d < nd; d++) c->size *= dims[d];
  if (!tensor_metadata(b->metadata[i], dims + 1, (int)nd - 1)) return fail("staa._fastcall: shape too long");
  snprintf(b->format[i], sizeof b->format[i], "+w:%lld", (long long)c->size);
  if (PyLong_Check(data)) {
    c->data = PyLong_AsVoidPtr(data);
    if (c->data == NULL && PyErr_Occurred()) return 0;
  } else {
    if (PyObject_GetBuffer(data, &c->view, PyBUF_C_CONTIGUOUS) < 0) return 0;
    c->has_view = 1;
    c->data = c->view.buf;
    /* The library reads rows·size values of the format's width: the buffer must hold them. */
    if (c->view.len < (Py_ssize_t)(c->rows * c->size) * value_size(b->value_format[i]))
      return fail("staa._fastcall: a column's buffer is shorter than its shape");
  }
  return 1;
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

/* Column exports one output column's values as a writable 1-D buffer. */
typedef struct {
  PyObject_HEAD
  PyObject* batch;
  void* data;
  Py_ssize_t len, itemsize;
  char format[2];
  Py_ssize_t shape[1];
} Column;

static int column_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  Column* c = (Column*)self;
  (void)flags;
  view->obj = Py_NewRef(self);
  view->buf = c->data;
  view->len = c->len * c->itemsize;
  view->itemsize = c->itemsize;
  view->readonly = 0;
  view->ndim = 1;
  view->format = c->format;
  view->shape = c->shape;
  view->strides = &c->itemsize;
  view->suboffsets = NULL;
  view->internal = NULL;
  return 0;
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


/* metadata_bytes returns the raw C Data metadata at p as bytes (b"" for
 * none). */
static PyObject* metadata_bytes(const char* p) {
  if (p == NULL) return PyBytes_FromStringAndSize("", 0);
  int32_t n;
  memcpy(&n, p, 4);
  const char* q = p + 4;
  for (int32_t i = 0; i < 2 * n; i++) {
    int32_t len;
    memcpy(&len, q, 4);
    q += 4 + len;
  }
  return PyBytes_FromStringAndSize(p, q - p);
}

/* read_output turns the library's output into (metadata, outputs); it takes
 * over *array (moved into a Batch) and releases *schema. */
static PyObject* read_output(struct ArrowArray* array, struct ArrowSchema* schema) {
  PyObject *meta = NULL, *cols = NULL, *result = NULL;
  Batch* batch = NULL;
  const char* bad = NULL;
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0 || array->n_children != schema->n_children) {
    bad = "staa: the library returned an array that is not a record batch";
    goto done;
  }
  batch = PyObject_New(Batch, BatchType);
  if (batch == NULL) goto done;
  batch->array = *array;
  array->release = NULL; /* moved */
  meta = metadata_bytes(schema->metadata);
  cols = PyTuple_New(schema->n_children);
  if (meta == NULL || cols == NULL) goto done;
  int64_t rows = batch->array.length;
  for (int64_t i = 0; i < schema->n_children; i++) {
    struct ArrowSchema* fs = schema->children[i];
    struct ArrowArray* fa = batch->array.children[i];
    long long size = 0;
    if (fs->format == NULL || sscanf(fs->format, "+w:%lld", &size) != 1 || size < 0 || fs->n_children != 1 ||
        fa->n_children != 1 || fa->null_count != 0) {
      bad = "staa: an output column is not a fixed-size list without nulls";
      goto done;
    }
    struct ArrowArray* va = fa->children[0];
    Py_ssize_t itemsize = value_size(fs->children[0]->format);
    if (itemsize == 0 || va->n_buffers != 2 || va->null_count != 0 || fa->length < batch->array.offset + rows) {
      bad = "staa: an output column has unexpected values";
      goto done;
    }
    int64_t first = va->offset + (fa->offset + batch->array.offset) * size;
    if (va->length < first + rows * size) {
      bad = "staa: an output column holds fewer values than its rows";
      goto done;
    }
    Column* c = PyObject_New(Column, ColumnType);
    if (c == NULL) goto done;
    c->batch = Py_NewRef((PyObject*)batch);
    c->data = (char*)va->buffers[1] + first * itemsize;
    c->len = (Py_ssize_t)(rows * size);
    c->itemsize = itemsize;
    c->format[0] = fs->children[0]->format[0];
    c->format[1] = 0;
    c->shape[0] = c->len;
    PyObject* field_meta = metadata_bytes(fs->metadata);
    if (field_meta == NULL) {
      Py_DECREF(c);
      goto done;
    }
    /* N steals field_meta and c, on failure too. */
    PyObject* item = Py_BuildValue("(ssLNLN)", fs->name ? fs->name : "", c->format, size, field_meta,
                                   (long long)rows, (PyObject*)c);
    if (item == NULL) goto done;
    PyTuple_SetItem(cols, i, item);
  }
  result = PyTuple_Pack(2, meta, cols);
done:
  if (bad != NULL) PyErr_SetString(PyExc_ValueError, bad);
  if (array->release != NULL) array->release(array);
  if (schema->release != NULL) schema->release(schema);
  Py_XDECREF(meta);
  Py_XDECREF(cols);
  Py_XDECREF((PyObject*)batch);
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
    build(b, cols, (int)k, cols[0].rows);
    struct ArrowArray out = {0};
    struct ArrowSchema out_schema = {0};
    char err[ERR_LEN];
    err[0] = 0;
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (handle != NULL)
      status = ((session_fn)fn)((staa_session*)handle, &b->array[0], &b->schema[0], options, &out, &out_schema,
                                err, ERR_LEN);
    else
      status = ((call_fn)fn)(&b->array[0], &b->schema[0], options, &out, &out_schema, err, ERR_LEN);
    Py_END_ALLOW_THREADS
    if (b->array[0].release != NULL) b->array[0].release(&b->array[0]);
    if (b->schema[0].release != NULL) b->schema[0].release(&b->schema[0]);
    if (status != 0) {
      if (out.release != NULL) out.release(&out);
      if (out_schema.release != NULL) out_schema.release(&out_schema);
      /* bytes: the message is decoded in Python, replacing what is not UTF-8 */
      result = Py_BuildValue("(iy#OO)", status, err, (Py_ssize_t)strnlen(err, ERR_LEN), Py_None, Py_None);
    } else {
      PyObject* read = read_output(&out, &out_schema);
      if (read != NULL) {
        result = Py_BuildValue("(iOOO)", 0, Py_None, PyTuple_GetItem(read, 0), PyTuple_GetItem(read, 1));
        Py_DECREF(read);
      }
    }
    if (!all_released(b, (int)k)) b = NULL; /* a consumer still holds structs: never free them under it */
  }
  for (Py_ssize_t i = 0; i < k; i++)
    if (cols[i].has_view) PyBuffer_Release(&cols[i].view);
  free(b);
  return result;
}

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
  if (BatchType == NULL || ColumnType == NULL) return NULL;
  return PyModule_Create(&module);
}
