/* capi.h - internal declarations of the C half of package capi (not
 * installed; the public header is include/staa.h). */
#ifndef STAA_CAPI_H
#define STAA_CAPI_H

#include "staa.h"

/* const char for cgo: Go cannot spell const, but a typedef'd const type
 * makes the exported Go functions' prototypes match staa.h's. */
typedef const char cchar_t;

/* The library version returned by staa_version(). */
#define STAA_LIBRARY_VERSION "0.1.0"

/* Release a C Data struct if it is not released yet (NULL-safe). Unlike
 * arrow-go's helpers these never abort: a release callback that forgets to
 * mark its struct released is marked here. */
void capi_release_array(struct ArrowArray* a);
void capi_release_schema(struct ArrowSchema* s);

/* The header of a block holding an exported batch (export.c): the number
 * of its structs not released yet. */
typedef struct {
  int64_t live;
} capi_block;

/* The release callbacks of exported batches (export.c). */
void capi_block_release_array(struct ArrowArray* a);
void capi_block_release_schema(struct ArrowSchema* s);

/* Release callbacks for structs whose memory their producer keeps: they
 * mark the struct and its unreleased children released (borrowed.c; used
 * by the Python package, exported but not in staa.h). */
void staa_release_borrowed_array(struct ArrowArray* a);
void staa_release_borrowed_schema(struct ArrowSchema* s);

/* Whether this process is a child forked after the library was loaded. */
int capi_forked(void);

/* Write msg into err[0 .. err_len-1], truncated, NUL-terminated. */
void capi_write_err(char* err, size_t err_len, const char* msg);

#endif
