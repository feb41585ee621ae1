/* Declarations of testhelpers.c (for capi_test.go). */
#ifndef STAA_CAPI_TESTHELPERS_H
#define STAA_CAPI_TESTHELPERS_H

#include <stdio.h>

#include "staa.h"

typedef struct {
  int array_calls, schema_calls;         /* release calls, every struct */
  int top_array_calls, top_schema_calls; /* release calls of the top-level structs */
} capitest_counts;

/* A record batch (struct_top != 0) of one fixed_shape_tensor column name of
 * rows rows, child format format ("f", "e", "g"...), extension metadata
 * ext_meta and list size list_size, whose values buffer is values (not
 * copied, not freed). struct_top == 0 makes the column itself the top-level
 * array (not a record batch). */
void capitest_make_batch(int64_t rows, const char* name, const char* format, const char* ext_meta,
                         int64_t list_size, const void* values, int struct_top, capitest_counts* cnt,
                         struct ArrowArray* arr, struct ArrowSchema* sch);

#endif
