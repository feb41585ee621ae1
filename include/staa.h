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
 * - Inputs are consumed. staa_attribute, staa_postprocess and
 *   staa_session_explain take ownership of *in and *in_schema (*clips and
 *   *clips_schema) on every path, success or error: when they return,
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
 * (they share no mutable state but a session's model, which is read-only);
 * each call may itself use several threads (see "workers", and a session's
 * ONNX Runtime threads). The library embeds a Go runtime, which starts with
 * the library and cannot be unloaded (dlclose() does not unload it). It does
 * not survive fork(): in a child forked after the library was loaded, every
 * call fails with STAA_ERUNTIME (it does not hang; staa_session_close does
 * nothing and staa_session_info returns 0). Start worker processes with
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

/* ------------------------------------------------------------------------
 * Sessions: an ONNX video transformer, clips in, prediction and attribution
 * out.
 *
 * The model is an ONNX file exported with its attention as outputs and the
 * staa.* metadata_props (scripts/model/export_onnx.py, staa-export): the
 * geometry, frame size, normalisation and class names come from the file,
 * nothing else needs configuring. Inference runs on ONNX Runtime (the shared
 * library libonnxruntime.so, version 1.24 or later), loaded once per process
 * on the first open: from the "library" option, else $STAA_ONNXRUNTIME_LIB,
 * else build/onnxruntime/libonnxruntime.so.1 of the staa source tree (from
 * the working directory or the executable upwards), else
 * libonnxruntime.so.1 beside the executable (or in onnxruntime/ beside it),
 * else the system's. A process holds one ONNX Runtime: opening a session
 * with a different "library" than the loaded one fails.
 *
 * A session is an opaque handle, safe to use from many threads at once
 * (calls in flight share the model, nothing else). staa_session_close
 * releases it and waits for the calls in flight; afterwards the handle is
 * invalid: explaining with it fails with STAA_EINVAL (handles are never
 * reused), and closing it again does nothing. In a child forked after the
 * library was loaded, open and explain fail with STAA_ERUNTIME and close
 * does nothing.
 */
typedef struct staa_session staa_session;

/* Opens the ONNX model at model_path (a NUL-terminated file path).
 *
 * options_json (NULL or "" for none; unknown keys are an error):
 *   library           path of the ONNX Runtime shared library
 *   intra_op_threads  ONNX Runtime's intra-op threads, 0 (default): its own
 *                     default (one per physical core)
 *   inter_op_threads  inter-op threads, 0 (default): ONNX Runtime's default
 *
 * On success *out is the new session (close it with staa_session_close); on
 * failure *out is NULL. Returns STAA_OK; STAA_EINVAL for a NULL or empty
 * model_path, a NULL out or bad options; STAA_ERUNTIME when the model is
 * missing, unreadable, corrupt, lacks the staa metadata or the attention
 * outputs, or ONNX Runtime cannot be found, loaded or cannot load the model
 * (the message says which and how to fix it).
 */
int staa_session_open(const char* model_path, const char* options_json, staa_session** out,
                      char* err, size_t err_len);

/* Classifies and explains a batch of clips: one forward pass for the batch,
 * then the attribution engine on ONNX Runtime's attention (read in place).
 *
 * clips, clips_schema: a record batch (consumed, see "Ownership"), one row
 *   per clip, with exactly one column:
 *     clip          uint8 [F, H, W, 3]: RGB frames, F the model's frames,
 *                   any H and W (frames are resized to the model's size
 *                   with an antialiased bilinear filter, then normalised);
 *     pixel_values  float32 [F, 3, H, W] (model layout BFCHW, or [3, F, H, W]
 *                   for BCFHW) at the model's frame size: input already
 *                   preprocessed, passed to the model as is.
 *   Both are fixed_shape_tensor columns (FixedSizeList<uint8 | float32>,
 *   format "+w:N" with child "C" or "f", and the extension metadata).
 * options_json: staa_attribute's attribution keys, method ("rollout" or
 *   "last"; "grad" needs gradients a session does not compute, STAA_EINVAL),
 *   head_fusion, residual, postprocess, workers, volume, plus
 *     top_k  the number of most probable classes returned, >= 1 (default 5,
 *            at most the number of classes).
 *   The geometry (layout, frames, grid, cls, tubelet) comes from the model:
 *   these keys may be given only to assert it; a value that differs from
 *   the model's is STAA_EINVAL (the message has the model's geometry).
 * out, out_schema: the output record batch, one row per clip:
 *     spatial        float32 [F, h, w]  as staa_attribute (and volume with
 *     temporal       float32 [F]        "volume": true)
 *     logits         float32 [C]
 *     probabilities  float32 [C]        softmax of the logits
 *     top_k          int32 [k]          class indices, most probable first
 *                                       (ties: lower index first)
 *   and the schema metadata of staa_attribute (staa.method, staa.version,
 *   staa.temporal_attention) plus staa.class_names (a JSON list, in logit
 *   order), staa.geometry (JSON: layout, frames, grid, cls, tubelet),
 *   staa.frame_size ([H, W] of the model's input), staa.layers, staa.heads.
 *
 * Returns STAA_OK; STAA_EINVAL for a session that is not open (closed, or
 * not a session), NULL or released arguments, bad options, a batch that
 * does not fit (columns, types, shapes, frame count, nulls, empty);
 * STAA_ERUNTIME when ONNX Runtime or the model fails on the batch;
 * STAA_ENOMEM, STAA_EINTERNAL otherwise.
 */
int staa_session_explain(staa_session* s, struct ArrowArray* clips,
                         struct ArrowSchema* clips_schema, const char* options_json,
                         struct ArrowArray* out, struct ArrowSchema* out_schema,
                         char* err, size_t err_len);

/* Describes the session's model as a JSON object: model (path), model_type,
 * geometry {layout, frames, grid, cls, tubelet}, layers, heads, frame_size
 * [H, W], classes, input, input_layout, scale, mean, std, onnxruntime {path,
 * version}, staa_version.
 *
 * snprintf-like: returns the document's length in bytes (without the NUL)
 * and writes it, NUL-terminated, into buf when buf_len is larger than that;
 * otherwise writes only an empty string (never a truncated document). Call
 * with buf NULL and buf_len 0 to learn the size. Returns 0 (and writes an
 * empty string) for a session that is not open or in a forked child.
 */
size_t staa_session_info(staa_session* s, char* buf, size_t buf_len);

/* Closes a session: waits for its calls in flight, then releases the model
 * and ONNX Runtime's session. NULL, and a session closed already, are
 * ignored. (The ONNX Runtime library itself stays loaded.) */
void staa_session_close(staa_session* s);

#ifdef __cplusplus
}
#endif

#endif /* STAA_H */
