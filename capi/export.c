// Release callbacks of the batches exportBatch (export.go) hands to C.
//
// A batch lives in two malloc'd blocks, one for the ArrowArray tree (structs,
// pointer arrays, data) and one for the ArrowSchema tree (structs, strings,
// metadata). Every struct of a tree, the caller's top-level one included,
// points to its block's header (private_data), which counts the structs not
// released yet; the last release frees the block. Releasing a struct
// releases its children that are still live, so a consumer may release the
// top-level struct alone (the usual case), or move children out and release
// them later and in any order (the C Data Interface allows both; arrow-go
// releases schema children before their parent). The functions are plain C:
// releasing a batch never enters the Go runtime.

#include <stdint.h>
#include <stdlib.h>

#include "capi.h"

static void capi_block_unref(capi_block* b) {
  if (__atomic_sub_fetch(&b->live, 1, __ATOMIC_ACQ_REL) == 0) {
    free(b);
  }
}

void capi_block_release_array(struct ArrowArray* a) {
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray* c = a->children[i];
    if (c->release != NULL) {
      c->release(c);
    }
  }
  capi_block* b = a->private_data;
  a->release = NULL;
  capi_block_unref(b);
}

void capi_block_release_schema(struct ArrowSchema* s) {
  for (int64_t i = 0; i < s->n_children; i++) {
    struct ArrowSchema* c = s->children[i];
    if (c->release != NULL) {
      c->release(c);
    }
  }
  capi_block* b = s->private_data;
  s->release = NULL;
  capi_block_unref(b);
}
