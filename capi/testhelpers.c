// Helpers for capi_test.go (cgo cannot be used in _test.go files, so they
// live in the package and are linked into the library, where the version
// script keeps them local). They build record batches by hand, the way a C
// caller would, with release callbacks that count their calls.

#include <stdlib.h>
#include <string.h>

#include "testhelpers.h"

typedef struct {
  capitest_counts* cnt;
  int top;
  char *name, *format, *metadata;
} node;

static void release_array(struct ArrowArray* a) {
  node* p = a->private_data;
  for (int64_t i = 0; i < a->n_children; i++) {
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
    free(a->children[i]);
  }
  free(a->children);
  free((void*)a->buffers);
  p->cnt->array_calls++;
  if (p->top) p->cnt->top_array_calls++;
  free(p);
  a->release = NULL;
}

static void release_schema(struct ArrowSchema* s) {
  node* p = s->private_data;
  for (int64_t i = 0; i < s->n_children; i++) {
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
    free(s->children[i]);
  }
  free(s->children);
  p->cnt->schema_calls++;
  if (p->top) p->cnt->top_schema_calls++;
  free(p->name);
  free(p->format);
  free(p->metadata);
  free(p);
  s->release = NULL;
}

static char* dup(const char* s) {
  char* d = malloc(strlen(s) + 1);
  strcpy(d, s);
  return d;
}

static char* tensor_metadata(const char* ext_meta) {
  const char* k[2] = {"ARROW:extension:name", "ARROW:extension:metadata"};
  const char* v[2] = {"arrow.fixed_shape_tensor", ext_meta};
  size_t size = 4;
  for (int i = 0; i < 2; i++) size += 8 + strlen(k[i]) + strlen(v[i]);
  char* buf = malloc(size);
  char* p = buf;
  int32_t n = 2;
  memcpy(p, &n, 4);
  p += 4;
  for (int i = 0; i < 2; i++) {
    const char* s[2] = {k[i], v[i]};
    for (int j = 0; j < 2; j++) {
      n = (int32_t)strlen(s[j]);
      memcpy(p, &n, 4);
      memcpy(p + 4, s[j], (size_t)n);
      p += 4 + n;
    }
  }
  return buf;
}

static void schema_init(struct ArrowSchema* s, capitest_counts* cnt, int top, const char* format,
                        const char* name, char* metadata, int64_t n_children) {
  node* p = calloc(1, sizeof *p);
  p->cnt = cnt;
  p->top = top;
  p->format = dup(format);
  p->name = dup(name);
  p->metadata = metadata;
  memset(s, 0, sizeof *s);
  s->format = p->format;
  s->name = p->name;
  s->metadata = metadata;
  s->n_children = n_children;
  if (n_children) {
    s->children = malloc(sizeof(struct ArrowSchema*) * (size_t)n_children);
    for (int64_t i = 0; i < n_children; i++) s->children[i] = calloc(1, sizeof(struct ArrowSchema));
  }
  s->release = release_schema;
  s->private_data = p;
}

static void array_init(struct ArrowArray* a, capitest_counts* cnt, int top, int64_t length,
                       int64_t n_buffers, const void* data, int64_t n_children) {
  node* p = calloc(1, sizeof *p);
  p->cnt = cnt;
  p->top = top;
  memset(a, 0, sizeof *a);
  a->length = length;
  a->n_buffers = n_buffers;
  const void** bufs = calloc((size_t)n_buffers, sizeof(void*));
  if (n_buffers == 2) bufs[1] = data;
  a->buffers = bufs;
  a->n_children = n_children;
  if (n_children) {
    a->children = malloc(sizeof(struct ArrowArray*) * (size_t)n_children);
    for (int64_t i = 0; i < n_children; i++) a->children[i] = calloc(1, sizeof(struct ArrowArray));
  }
  a->release = release_array;
  a->private_data = p;
}

void capitest_make_batch(int64_t rows, const char* name, const char* format, const char* ext_meta,
                         int64_t list_size, const void* values, int struct_top, capitest_counts* cnt,
                         struct ArrowArray* arr, struct ArrowSchema* sch) {
  memset(cnt, 0, sizeof *cnt);
  char fsl[32];
  snprintf(fsl, sizeof fsl, "+w:%lld", (long long)list_size);
  struct ArrowSchema* col_s = sch;
  struct ArrowArray* col_a = arr;
  if (struct_top) {
    schema_init(sch, cnt, 1, "+s", "", NULL, 1);
    array_init(arr, cnt, 1, rows, 1, NULL, 1);
    col_s = sch->children[0];
    col_a = arr->children[0];
  }
  schema_init(col_s, cnt, !struct_top, fsl, name, tensor_metadata(ext_meta), 1);
  schema_init(col_s->children[0], cnt, 0, format, "item", NULL, 0);
  col_s->children[0]->flags = ARROW_FLAG_NULLABLE;
  array_init(col_a, cnt, !struct_top, rows, 1, NULL, 1);
  array_init(col_a->children[0], cnt, 0, rows * list_size, 2, values, 0);
}
