// Release callbacks for C Data Interface structs whose memory stays with
// their producer: staa_release_borrowed_array and _schema mark the struct,
// and the children it has not released yet, released — nothing more.
//
// The Python package builds the structs of a call in a block it reuses and
// keeps the caller's arrays alive until the library has released every
// struct of the block (it reads the release fields to know). With a Python
// release callback, each call made two calls back into the interpreter from
// inside the library (about 8 µs each, the GIL taken again from a Go
// thread); these are plain C. They are exported (staa_ names, so that the
// version script lets them out) for that use and are not in include/staa.h:
// a C producer that owns its memory the same way may use them as well.

#include "capi.h"

void staa_release_borrowed_array(struct ArrowArray* a) {
  if (a == NULL || a->release == NULL) return;
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray* c = a->children[i];
    if (c != NULL && c->release != NULL) c->release(c);
  }
  if (a->dictionary != NULL && a->dictionary->release != NULL) a->dictionary->release(a->dictionary);
  a->release = NULL;
}

void staa_release_borrowed_schema(struct ArrowSchema* s) {
  if (s == NULL || s->release == NULL) return;
  for (int64_t i = 0; i < s->n_children; i++) {
    struct ArrowSchema* c = s->children[i];
    if (c != NULL && c->release != NULL) c->release(c);
  }
  if (s->dictionary != NULL && s->dictionary->release != NULL) s->dictionary->release(s->dictionary);
  s->release = NULL;
}
