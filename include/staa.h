/*
 * staa.h - the C ABI of staa, spatio-temporal attention attribution for video
 * transformers (libstaa.so).
 *
 * This is the public, hand-written header: include it from C (C99 or later)
 * or C++. Link with -lstaa (the library's SONAME is libstaa.so.1). The
 * library exports the staa_* symbols below and nothing else.
 *
 * Data crosses the ABI as Arrow record batches through the Arrow C Data
 * Interface (https://arrow.apache.org/docs/format/CDataInterface.html): a
 * batch is a struct ArrowArray of struct type (one child per column, one row
 * per clip) with its struct ArrowSchema. No Arrow library is needed on either
 * side; the two structs are defined below, guarded by ARROW_C_DATA_INTERFACE
 * as the Arrow specification asks, so that this header coexists with Arrow
 * C++'s abi.h, nanoarrow and others.
 *
 * ------------------------------------------------------------------------
 * Status codes and error messages
 *
 * Every function that can fail returns a status code (0 on success) and
 * writes a NUL-terminated, human-readable message naming the problem into
 * err[0 .. err_len-1]: truncated to fit (at a UTF-8 character boundary), and
 * the empty string on success. err may be NULL or err_len 0 (no message).
 * 512 bytes hold any message in practice. Errors never cross the ABI as
 * crashes: the library recovers its own internal errors (Go panics) into
 * STAA_EINTERNAL.
 *
 * ------------------------------------------------------------------------
 * Ownership (Arrow C Data Interface "move" semantics)
 *
 * - Inputs are consumed. staa_attribute and staa_postprocess take ownership
 *   of *in and *in_schema on every path, success or error: when they return,
 *   both have been released exactly once (their release callbacks called,
 *   release set to NULL), or moved into the library, which releases them
 *   before returning. The caller must not use or release them afterwards
 *   (calling release on a released struct is not possible: release is NULL).
 *   The input buffers are read in place (zero copy) during the call only.
 * - Outputs belong to the caller. *out and *out_schema are overwritten on
 *   entry (their previous contents are not released: pass empty structs). On
 *   success they hold a new record batch whose memory comes from malloc; the
 *   caller must call out->release(out) and out_schema->release(out_schema)
 *   once done, from any thread. On failure they are left released
 *   (release == NULL) and must not be released.
 * - staa_version() returns a static string: do not free it.
 *
 * ------------------------------------------------------------------------
 * Threads and processes
 *
 * All functions are thread-safe and may be called from many threads at once
 * (they share no mutable state); each call may itself use several threads
 * (see "workers"). The library embeds a Go runtime, which starts with the
 * library and cannot be unloaded (dlclose() does not unload it). It does not
 * survive fork(): in a child forked after the library was loaded, every call
 * fails with STAA_ERUNTIME (it does not hang). Start worker processes with
 * fork()+exec() (posix_spawn, Python's "spawn" start method) or fork before
 * loading the library.
 *
 * ------------------------------------------------------------------------
 * Input and output batches (see docs/conventions.md for the exact layout)
 *
 * Tensor columns are Arrow "arrow.fixed_shape_tensor" columns: a
 * FixedSizeList<float32 | float16>[prod(shape)] (formats "+w:N" with child
 * "f" or "e") whose field metadata holds
 *   ARROW:extension:name     = arrow.fixed_shape_tensor
 *   ARROW:extension:metadata = {"shape":[d0,d1,...]}   (per-row shape)
 * No nulls. Unknown columns are an error.
 *
 * staa_attribute input, with T = frames/tubelet, N = h*w, c = cls ? 1 : 0:
 *   layout "divided": spatial [L, T, H, c+N, c+N], optional temporal
 *                     [L, N, H, T, T], optional spatial_grad, temporal_grad
 *   layout "joint":   joint [L, H, S, S] with S = c + T*N, optional joint_grad
 * staa_attribute output: spatial [F, h, w] and temporal [F] (float32), plus
 *   volume [F, h, w] when "volume": true; schema metadata
 *   staa.temporal_attention ("true"/"false"), staa.method, staa.version.
 * staa_postprocess input: volume [F, h, w] (float32 or float16);
 *   output: spatial [F, h, w] and temporal [F].
 *
 * ------------------------------------------------------------------------
 * options_json: a JSON object, keys in snake_case; unknown keys are an error;
 * NULL or "" is the empty object.
 *
 *   layout       "divided" (default) | "joint"
 *   frames       F, frames of the clip (required)
 *   grid         [h, w], patches per frame (required)
 *   cls          true (default) | false: a CLS token is present
 *   tubelet      frames per token group (default 1)
 *   method       "rollout" (default) | "last" | "grad"
 *   head_fusion  "mean" (default) | "max" | "min"
 *   residual     rollout's alpha in [0, 1] (default 0.5)
 *   postprocess  "optimized" (default) | "raw" | an object
 *                {"blur": sigma, "gamma": g,
 *                 "threshold": "otsu" | {"mode": "meanstd", "k": k}
 *                              | {"mode": "percentile", "p": p} | ...,
 *                 "normalize": "none" | "frame" | "clip"}
 *   workers      threads per call, 0 (default) = all cores
 *   volume       true: also return the volume before post-processing
 *
 * staa_postprocess takes {"postprocess": ...} only (default "optimized").
 */
#ifndef STAA_H
#define STAA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI: staa_abi_version() of a compatible library. */
#define STAA_ABI_VERSION 1

/* Status codes. */
#define STAA_OK 0           /* success */
#define STAA_EINVAL 1       /* bad argument, shape, dtype, value or option */
#define STAA_ENOMEM 2       /* out of memory */
#define STAA_ERUNTIME 3     /* model or runtime failure (also: called after fork()) */
#define STAA_EINTERNAL 4    /* a bug in the library (a recovered panic) */
#define STAA_EUNSUPPORTED 5 /* not available in this build */

/* ---- Arrow C Data Interface (verbatim from the Arrow specification) ---- */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema*);
  /* Opaque producer-specific data */
  void* private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray*);
  /* Opaque producer-specific data */
  void* private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

/* The ABI version of the loaded library (STAA_ABI_VERSION when it matches
 * this header). Never fails. */
int staa_abi_version(void);

/* The library version, e.g. "0.1.0": a static NUL-terminated string. */
const char* staa_version(void);

/* Explains a batch of clips from their attention.
 *
 * in, in_schema:   the input record batch (consumed, see "Ownership")
 * options_json:    geometry, method and post-processing (see above)
 * out, out_schema: receive the output record batch on success
 * err, err_len:    receive the error message (may be NULL / 0)
 *
 * Returns STAA_OK, or STAA_EINVAL for a NULL or released argument, bad
 * options, a column that does not fit, a NaN or infinity, or an empty batch;
 * STAA_ENOMEM, STAA_ERUNTIME, STAA_EINTERNAL or STAA_EUNSUPPORTED otherwise.
 */
int staa_attribute(struct ArrowArray* in, struct ArrowSchema* in_schema,
                   const char* options_json,
                   struct ArrowArray* out, struct ArrowSchema* out_schema,
                   char* err, size_t err_len);

/* Post-processes attribution volumes: blur, focusing (gamma), dynamic
 * thresholding and normalisation, as options_json's "postprocess" says.
 * Input column "volume" [F, h, w]; output columns "spatial" [F, h, w] and
 * "temporal" [F]. Same conventions as staa_attribute. */
int staa_postprocess(struct ArrowArray* in, struct ArrowSchema* in_schema,
                     const char* options_json,
                     struct ArrowArray* out, struct ArrowSchema* out_schema,
                     char* err, size_t err_len);

/* Sessions (staa_session_open / _explain / _close, ONNX models) are planned
 * for a later ABI revision: see DESIGN.md section 3. */

#ifdef __cplusplus
}
#endif

#endif /* STAA_H */
