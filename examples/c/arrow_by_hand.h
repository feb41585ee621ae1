/*
 * arrow_by_hand.h - what the two C examples share: the check counter, and
 * Arrow C Data Interface structs built by hand (no Arrow library), whose
 * release callbacks count their calls so that the examples can check that
 * libstaa releases every input exactly once. Each example includes it once;
 * everything is static.
 */
#ifndef STAA_EXAMPLES_ARROW_BY_HAND_H
#define STAA_EXAMPLES_ARROW_BY_HAND_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staa.h"

/* ---------------------------------------------------------------- checks */

static int g_passed, g_failed;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void check(int ok, const char* fmt, ...) {
  va_list ap;
  pthread_mutex_lock(&g_lock);
  if (ok) {
    g_passed++;
  } else {
    g_failed++;
    fputs("FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
  }
  pthread_mutex_unlock(&g_lock);
}

static void* xmalloc(size_t n) {
  void* p = malloc(n ? n : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static char* xstrdup(const char* s) {
  char* p = xmalloc(strlen(s) + 1);
  strcpy(p, s);
  return p;
}

/* ------------------------------------------------- building record batches */

/* Release callback calls, per batch. */
typedef struct {
  int array_calls, schema_calls;         /* every struct of the tree */
  int top_array_calls, top_schema_calls; /* the top-level structs */
} counts_t;

typedef struct {
  counts_t* cnt;
  int top;
  void* data; /* a buffer to free */
  char *name, *format, *metadata;
} node_t;

/* Arrays: a parent releases the children that are not released yet, then
 * frees them (the Arrow spec's recipe; arrow-go releases children of a
 * schema itself, so the NULL test matters). */
static void release_array(struct ArrowArray* a) {
  node_t* p = a->private_data;
  for (int64_t i = 0; i < a->n_children; i++) {
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
    free(a->children[i]);
  }
  free(a->children);
  free((void*)a->buffers);
  p->cnt->array_calls++;
  if (p->top) p->cnt->top_array_calls++;
  free(p->data);
  free(p);
  a->release = NULL;
}

static void release_schema(struct ArrowSchema* s) {
  node_t* p = s->private_data;
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

static node_t* new_node(counts_t* cnt, int top) {
  node_t* p = xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  p->cnt = cnt;
  p->top = top;
  return p;
}

/* Arrow's binary metadata: int32 npairs, then (int32 len, bytes) per key and
 * value, native endian. */
static char* encode_metadata(int n, const char* const* keys, const char* const* vals) {
  size_t size = 4;
  for (int i = 0; i < n; i++) size += 8 + strlen(keys[i]) + strlen(vals[i]);
  char* buf = xmalloc(size);
  char* p = buf;
  int32_t v = n;
  memcpy(p, &v, 4);
  p += 4;
  for (int i = 0; i < n; i++) {
    const char* s[2] = {keys[i], vals[i]};
    for (int j = 0; j < 2; j++) {
      v = (int32_t)strlen(s[j]);
      memcpy(p, &v, 4);
      memcpy(p + 4, s[j], (size_t)v);
      p += 4 + v;
    }
  }
  return buf;
}

static void init_schema(struct ArrowSchema* s, counts_t* cnt, int top, const char* format,
                        const char* name, char* metadata, int64_t n_children) {
  node_t* p = new_node(cnt, top);
  p->format = xstrdup(format);
  p->name = xstrdup(name);
  p->metadata = metadata;
  memset(s, 0, sizeof *s);
  s->format = p->format;
  s->name = p->name;
  s->metadata = metadata;
  s->n_children = n_children;
  if (n_children > 0) {
    s->children = xmalloc(sizeof(struct ArrowSchema*) * (size_t)n_children);
    for (int64_t i = 0; i < n_children; i++) s->children[i] = xmalloc(sizeof(struct ArrowSchema));
  }
  s->release = release_schema;
  s->private_data = p;
}

static void init_array(struct ArrowArray* a, counts_t* cnt, int top, int64_t length,
                       int64_t n_buffers, void* data, int64_t n_children) {
  node_t* p = new_node(cnt, top);
  p->data = data;
  memset(a, 0, sizeof *a);
  a->length = length;
  a->n_buffers = n_buffers;
  const void** bufs = xmalloc(sizeof(void*) * (size_t)n_buffers);
  for (int64_t i = 0; i < n_buffers; i++) bufs[i] = NULL;
  if (n_buffers == 2) bufs[1] = data;
  a->buffers = bufs;
  a->n_children = n_children;
  if (n_children > 0) {
    a->children = xmalloc(sizeof(struct ArrowArray*) * (size_t)n_children);
    for (int64_t i = 0; i < n_children; i++) a->children[i] = xmalloc(sizeof(struct ArrowArray));
  }
  a->release = release_array;
  a->private_data = p;
}

/* ------------------------------------------------------- reading outputs */

/* meta_get returns the value of key in Arrow binary metadata, copied into
 * buf, or NULL. */
static const char* meta_get(const char* md, const char* key, char* buf, size_t buflen) {
  if (md == NULL) return NULL;
  int32_t n, len;
  memcpy(&n, md, 4);
  md += 4;
  for (int32_t i = 0; i < n; i++) {
    memcpy(&len, md, 4);
    int match = (size_t)len == strlen(key) && memcmp(md + 4, key, (size_t)len) == 0;
    md += 4 + len;
    memcpy(&len, md, 4);
    if (match) {
      size_t k = (size_t)len < buflen - 1 ? (size_t)len : buflen - 1;
      memcpy(buf, md + 4, k);
      buf[k] = '\0';
      return buf;
    }
    md += 4 + len;
  }
  return NULL;
}

static int parse_shape(const char* json, int64_t* shape) {
  const char* p = strstr(json, "\"shape\"");
  int n = 0;
  if (!p || !(p = strchr(p, '['))) return -1;
  p++;
  while (*p && *p != ']' && n < 6) {
    char* end;
    shape[n++] = strtoll(p, &end, 10);
    p = end;
    while (*p == ',' || *p == ' ') p++;
  }
  return n;
}

#endif
