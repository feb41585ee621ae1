/*
 * staa_example.c - calls libstaa.so through its C ABI (include/staa.h), with
 * no Arrow library: the record batches are built by hand as Arrow C Data
 * Interface structs, with release callbacks that count their calls.
 *
 * What it checks:
 *  - staa_attribute on a small divided batch (float32, TimeSformer-like, with
 *    temporal attention) and a small joint batch (float16, no CLS, tubelet 2),
 *    batch 2, grid [3, 4] (not square), T != N, against an independent
 *    computation: method "last" with postprocess "raw" makes the volume the
 *    CLS row of the last layer's mean over heads (for joint without CLS: the
 *    mean of its rows), and the temporal profile sums to 1;
 *  - staa_postprocess on a volume;
 *  - every error path (unknown option key, bad JSON, bad shape, wrong dtype,
 *    NaN, empty batch, unknown column, NULL pointers, released input, tiny
 *    err buffers): the status code and that the message names the problem;
 *  - that the input is released exactly once on every path;
 *  - 4 threads calling at once get identical results;
 *  - a child forked after the library was loaded gets STAA_ERUNTIME;
 *  - outputs are released (make test-c also runs it under AddressSanitizer,
 *    whose leak checker would report a forgotten release).
 *
 * Build: make test-c (or cc -Iinclude staa_example.c -Lbuild -lstaa -lpthread -lm).
 * The last line is "N passed, M failed"; the exit status is non-zero on any
 * failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "staa.h"
#include "arrow_by_hand.h"

/* ---------------------------------------------------------------- float16 */

static uint16_t f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
  if (exp <= 0) { /* subnormal or zero */
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  return (uint16_t)h;
}

static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
  float f;
  if (exp == 0) {
    f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    x = sign | 0x7f800000u | (mant << 13);
  else
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  memcpy(&f, &x, 4);
  return f;
}

/* ------------------------------------------------- building record batches */

enum dtype { DT_F32, DT_F16, DT_F64 };

/* One tensor column: rows x prod(shape) values, converted to dtype. */
typedef struct {
  const char* name;
  int ndim;
  int64_t shape[6];
  enum dtype dtype;
  const char* ext_metadata; /* ARROW:extension:metadata; NULL: from shape */
  const float* data;        /* rows * prod(shape) values, copied */
} col_t;

static int64_t prod(const int64_t* shape, int ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

/* make_batch builds a record batch of rows rows and the columns cols into
 * *arr and *sch; cnt counts their release calls. */
static void make_batch(int64_t rows, int ncols, const col_t* cols, counts_t* cnt,
                       struct ArrowArray* arr, struct ArrowSchema* sch) {
  memset(cnt, 0, sizeof *cnt);
  init_schema(sch, cnt, 1, "+s", "", NULL, ncols);
  init_array(arr, cnt, 1, rows, 1, NULL, ncols);
  for (int c = 0; c < ncols; c++) {
    const col_t* col = &cols[c];
    int64_t size = prod(col->shape, col->ndim), n = rows * size;
    char json[256], format[32];
    if (col->ext_metadata) {
      snprintf(json, sizeof json, "%s", col->ext_metadata);
    } else {
      int k = snprintf(json, sizeof json, "{\"shape\":[");
      for (int i = 0; i < col->ndim; i++)
        k += snprintf(json + k, sizeof json - (size_t)k, "%s%lld", i ? "," : "", (long long)col->shape[i]);
      snprintf(json + k, sizeof json - (size_t)k, "]}");
    }
    const char* keys[2] = {"ARROW:extension:name", "ARROW:extension:metadata"};
    const char* vals[2] = {"arrow.fixed_shape_tensor", json};
    snprintf(format, sizeof format, "+w:%lld", (long long)size);
    init_schema(sch->children[c], cnt, 0, format, col->name, encode_metadata(2, keys, vals), 1);
    const char* child_format = col->dtype == DT_F16 ? "e" : col->dtype == DT_F64 ? "g" : "f";
    init_schema(sch->children[c]->children[0], cnt, 0, child_format, "item", NULL, 0);
    sch->children[c]->children[0]->flags = ARROW_FLAG_NULLABLE;

    void* data;
    if (col->dtype == DT_F16) {
      uint16_t* d = xmalloc(sizeof(uint16_t) * (size_t)n);
      for (int64_t i = 0; i < n; i++) d[i] = f32_to_f16(col->data[i]);
      data = d;
    } else if (col->dtype == DT_F64) {
      double* d = xmalloc(sizeof(double) * (size_t)n);
      for (int64_t i = 0; i < n; i++) d[i] = col->data[i];
      data = d;
    } else {
      float* d = xmalloc(sizeof(float) * (size_t)n);
      memcpy(d, col->data, sizeof(float) * (size_t)n);
      data = d;
    }
    init_array(arr->children[c], cnt, 0, rows, 1, NULL, 1);
    init_array(arr->children[c]->children[0], cnt, 0, n, 2, data, 0);
  }
}

/* The input must have been released exactly once, all of it. */
static void check_consumed(const char* what, const counts_t* cnt, int ncols,
                           const struct ArrowArray* arr, const struct ArrowSchema* sch) {
  int want = 1 + 2 * ncols;
  check(cnt->top_array_calls == 1 && cnt->array_calls == want && arr->release == NULL,
        "%s: input array released %d times (%d structs of %d), release %s", what,
        cnt->top_array_calls, cnt->array_calls, want, arr->release ? "set" : "NULL");
  check(cnt->top_schema_calls == 1 && cnt->schema_calls == want && sch->release == NULL,
        "%s: input schema released %d times (%d structs of %d), release %s", what,
        cnt->top_schema_calls, cnt->schema_calls, want, sch->release ? "set" : "NULL");
}

/* ------------------------------------------------------- reading outputs */

typedef struct {
  const float* values; /* row r: values + r * size (offsets applied) */
  int64_t size, offset, rows;
  int ndim;
  int64_t shape[6];
} out_col_t;

static int find_column(const struct ArrowArray* out, const struct ArrowSchema* sch, const char* name,
                       out_col_t* oc) {
  for (int64_t i = 0; i < sch->n_children; i++) {
    const struct ArrowSchema* f = sch->children[i];
    if (strcmp(f->name, name) != 0) continue;
    char buf[256];
    if (strncmp(f->format, "+w:", 3) != 0 || strcmp(f->children[0]->format, "f") != 0) return 0;
    if (!meta_get(f->metadata, "ARROW:extension:name", buf, sizeof buf) ||
        strcmp(buf, "arrow.fixed_shape_tensor") != 0)
      return 0;
    if (!meta_get(f->metadata, "ARROW:extension:metadata", buf, sizeof buf)) return 0;
    oc->ndim = parse_shape(buf, oc->shape);
    oc->size = atoll(f->format + 3);
    if (oc->ndim <= 0 || prod(oc->shape, oc->ndim) != oc->size) return 0;
    const struct ArrowArray* fsl = out->children[i];
    const struct ArrowArray* vals = fsl->children[0];
    oc->values = (const float*)vals->buffers[1] + vals->offset;
    oc->offset = out->offset + fsl->offset;
    oc->values += oc->offset * oc->size;
    oc->rows = out->length;
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------- test data */

/* A deterministic generator (xorshift), one stream per seed. */
static uint32_t rnd_next(uint32_t* s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* fill_attention fills count rows of length len with positive values
 * summing to 1 (attention probabilities). */
static void fill_attention(float* a, int64_t count, int64_t len, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (int64_t r = 0; r < count; r++) {
    float sum = 0;
    for (int64_t j = 0; j < len; j++) {
      float v = 0.05f + (float)(rnd_next(&s) % 1000) / 1000.0f;
      a[r * len + j] = v;
      sum += v;
    }
    for (int64_t j = 0; j < len; j++) a[r * len + j] /= sum;
  }
}

/* Geometry of the tests: grid [3, 4] (N = 12), L = 2 layers, H = 2 heads. */
enum { GH = 3, GW = 4, N = GH * GW, L = 2, H = 2, B = 2 };
/* divided: frames 3, tubelet 1 (T = 3), CLS: spatial [L, T, H, 13, 13] */
enum { DF = 3, DT = 3, DC = 1, DS = DC + N };
/* joint: frames 4, tubelet 2 (T = 2), no CLS: S = 24, joint [L, H, S, S] */
enum { JF = 4, JTUB = 2, JT = JF / JTUB, JS = JT * N };

static const char* kDividedLast =
    "{\"layout\":\"divided\",\"frames\":3,\"grid\":[3,4],\"cls\":true,\"tubelet\":1,"
    "\"method\":\"last\",\"postprocess\":\"raw\",\"volume\":true}";
static const char* kJointLast =
    "{\"layout\":\"joint\",\"frames\":4,\"grid\":[3,4],\"cls\":false,\"tubelet\":2,"
    "\"method\":\"last\",\"postprocess\":\"raw\",\"volume\":true}";
static const char* kDividedRollout = "{\"frames\":3,\"grid\":[3,4],\"workers\":2}";

typedef struct {
  float *spatial, *temporal, *joint; /* B rows each */
} data_t;

static data_t make_data(void) {
  data_t d;
  int64_t ns = (int64_t)L * DT * H * DS * DS, nt = (int64_t)L * N * H * DT * DT, nj = (int64_t)L * H * JS * JS;
  d.spatial = xmalloc(sizeof(float) * (size_t)(B * ns));
  d.temporal = xmalloc(sizeof(float) * (size_t)(B * nt));
  d.joint = xmalloc(sizeof(float) * (size_t)(B * nj));
  fill_attention(d.spatial, B * ns / DS, DS, 1);
  fill_attention(d.temporal, B * nt / DT, DT, 2);
  fill_attention(d.joint, B * nj / JS, JS, 3);
  /* the joint batch goes as float16: keep the values it will have */
  for (int64_t i = 0; i < B * nj; i++) d.joint[i] = f16_to_f32(f32_to_f16(d.joint[i]));
  return d;
}

static void free_data(data_t* d) {
  free(d->spatial);
  free(d->temporal);
  free(d->joint);
}

static col_t spatial_col(const float* data) {
  col_t c = {"spatial", 5, {L, DT, H, DS, DS}, DT_F32, NULL, data};
  return c;
}
static col_t temporal_col(const float* data) {
  col_t c = {"temporal", 5, {L, N, H, DT, DT}, DT_F32, NULL, data};
  return c;
}
static col_t joint_col(const float* data) {
  col_t c = {"joint", 4, {L, H, JS, JS}, DT_F16, NULL, data};
  return c;
}

/* The reference volumes [B][F][N] of method "last". */
static void ref_divided_last(const float* spatial, float* vol) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < DT; t++)
      for (int n = 0; n < N; n++) {
        double s = 0;
        for (int h = 0; h < H; h++) {
          const float* m = spatial + ((((int64_t)b * L + (L - 1)) * DT + t) * H + h) * DS * DS;
          s += m[0 * DS + DC + n]; /* row 0 (the CLS), column of patch n */
        }
        vol[((int64_t)b * DF + t) * N + n] = (float)(s / H); /* tubelet 1: frame t */
      }
}

static void ref_joint_last(const float* joint, float* vol) {
  for (int b = 0; b < B; b++)
    for (int k = 0; k < JS; k++) { /* no CLS: token k = t*N + n */
      double s = 0;
      for (int h = 0; h < H; h++)
        for (int q = 0; q < JS; q++) s += joint[((((int64_t)b * L + (L - 1)) * H + h) * JS + q) * JS + k];
      float v = (float)(s / H / JS); /* mean over heads, mean of the rows */
      int t = k / N, n = k % N;
      for (int r = 0; r < JTUB; r++) vol[((int64_t)b * JF + t * JTUB + r) * N + n] = v;
    }
}

static int close_to(const float* got, const float* want, int64_t n, double* worst) {
  double mx = 0;
  *worst = 0;
  for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= 1e-4 * fabs(want[i]) + 1e-6 * mx)) {
      *worst = d;
      return 0;
    }
  }
  return 1;
}

/* check_output checks an attribution output against the reference volumes
 * ref [B][F][N] (raw post-processing: spatial == volume == ref). */
static void check_output(const char* what, struct ArrowArray* out, struct ArrowSchema* sch, int frames,
                         const float* ref, const char* method) {
  out_col_t sp, tp, vo;
  char buf[64];
  check(out->release != NULL && sch->release != NULL, "%s: no output", what);
  if (out->release == NULL) return;
  check(out->length == B && sch->n_children == 3, "%s: %lld rows and %lld columns, want %d and 3", what,
        (long long)out->length, (long long)sch->n_children, B);
  int ok = find_column(out, sch, "spatial", &sp) && find_column(out, sch, "temporal", &tp) &&
           find_column(out, sch, "volume", &vo);
  check(ok, "%s: output columns spatial, temporal and volume (float32 fixed_shape_tensor)", what);
  if (!ok) return;
  check(sp.ndim == 3 && sp.shape[0] == frames && sp.shape[1] == GH && sp.shape[2] == GW,
        "%s: spatial shape [%lld %lld %lld], want [%d %d %d]", what, (long long)sp.shape[0],
        (long long)sp.shape[1], (long long)sp.shape[2], frames, GH, GW);
  check(tp.ndim == 1 && tp.shape[0] == frames, "%s: temporal shape [%lld], want [%d]", what,
        (long long)tp.shape[0], frames);
  if (sp.size != (int64_t)frames * N || tp.size != frames) return;
  double worst = 0;
  int same = close_to(vo.values, ref, (int64_t)B * frames * N, &worst);
  check(same, "%s: volume differs from the independent computation (|diff| %g)", what, worst);
  same = close_to(sp.values, ref, (int64_t)B * frames * N, &worst);
  check(same, "%s: spatial (raw) differs from the independent computation (|diff| %g)", what, worst);
  for (int b = 0; b < B; b++) {
    double total = 0, sum = 0;
    const float* v = ref + (int64_t)b * frames * N;
    for (int i = 0; i < frames * N; i++) total += v[i];
    int match = 1;
    for (int f = 0; f < frames; f++) {
      double mass = 0;
      for (int n = 0; n < N; n++) mass += v[f * N + n];
      double p = tp.values[b * frames + f];
      sum += p;
      if (fabs(p - mass / total) > 1e-5) match = 0;
    }
    check(fabs(sum - 1) < 1e-5, "%s: clip %d: temporal sums to %.7f, want 1", what, b, sum);
    check(match, "%s: clip %d: temporal profile is not the frame mass over the total", what, b);
  }
  check(meta_get(sch->metadata, "staa.method", buf, sizeof buf) && strcmp(buf, method) == 0,
        "%s: schema metadata staa.method = %s, want %s", what, buf, method);
  check(meta_get(sch->metadata, "staa.version", buf, sizeof buf) && strcmp(buf, staa_version()) == 0,
        "%s: schema metadata staa.version", what);
  check(meta_get(sch->metadata, "staa.temporal_attention", buf, sizeof buf) &&
            (strcmp(buf, "true") == 0 || strcmp(buf, "false") == 0),
        "%s: schema metadata staa.temporal_attention", what);
}

static void release_output(struct ArrowArray* out, struct ArrowSchema* sch) {
  if (out->release) out->release(out);
  if (sch->release) sch->release(sch);
  check(out->release == NULL && sch->release == NULL, "output release callbacks mark the structs released");
}

/* ------------------------------------------------------- the tests */

static int engine_ready = 1;

static void test_divided_and_joint(const data_t* d) {
  struct ArrowArray in, out;
  struct ArrowSchema in_s, out_s;
  counts_t cnt;
  char err[512];
  float* ref = xmalloc(sizeof(float) * B * JF * N);

  /* divided, float32, with temporal attention */
  col_t dcols[2] = {spatial_col(d->spatial), temporal_col(d->temporal)};
  make_batch(B, 2, dcols, &cnt, &in, &in_s);
  int st = staa_attribute(&in, &in_s, kDividedLast, &out, &out_s, err, sizeof err);
  check_consumed("divided", &cnt, 2, &in, &in_s);
  if (st == STAA_EUNSUPPORTED) {
    printf("note: the engine is not available yet (%s): result checks skipped\n", err);
    engine_ready = 0;
  } else {
    check(st == STAA_OK, "divided: status %d (%s), want STAA_OK", st, err);
    check(st != STAA_OK || err[0] == '\0', "divided: err not empty on success: %s", err);
    ref_divided_last(d->spatial, ref);
    check_output("divided", &out, &out_s, DF, ref, "last");
    release_output(&out, &out_s);
  }

  /* joint, float16, no CLS, tubelet 2 */
  col_t jcols[1] = {joint_col(d->joint)};
  make_batch(B, 1, jcols, &cnt, &in, &in_s);
  st = staa_attribute(&in, &in_s, kJointLast, &out, &out_s, err, sizeof err);
  check_consumed("joint", &cnt, 1, &in, &in_s);
  if (engine_ready) {
    check(st == STAA_OK, "joint: status %d (%s), want STAA_OK", st, err);
    ref_joint_last(d->joint, ref);
    check_output("joint", &out, &out_s, JF, ref, "last");
    release_output(&out, &out_s);
  }
  free(ref);
}

static void test_postprocess(void) {
  /* two volumes [F=3, 3, 4]; raw post-processing keeps them, and the
   * temporal profile is the frame mass over the total */
  enum { F = 3 };
  float vol[2 * F * N];
  for (int i = 0; i < 2 * F * N; i++) vol[i] = (float)((i * 7) % 11) / 10.0f;
  col_t c = {"volume", 3, {F, GH, GW}, DT_F32, NULL, vol};
  struct ArrowArray in, out;
  struct ArrowSchema in_s, out_s;
  counts_t cnt;
  char err[512];
  make_batch(2, 1, &c, &cnt, &in, &in_s);
  int st = staa_postprocess(&in, &in_s, "{\"postprocess\":\"raw\"}", &out, &out_s, err, sizeof err);
  check_consumed("postprocess", &cnt, 1, &in, &in_s);
  if (st == STAA_EUNSUPPORTED) {
    printf("note: post-processing is not available yet (%s): checks skipped\n", err);
    return;
  }
  check(st == STAA_OK, "postprocess: status %d (%s)", st, err);
  if (st != STAA_OK) return;
  out_col_t sp, tp;
  int ok = find_column(&out, &out_s, "spatial", &sp) && find_column(&out, &out_s, "temporal", &tp);
  check(ok && out_s.n_children == 2, "postprocess: output columns spatial and temporal");
  if (ok) {
    double worst = 0;
    int same = close_to(sp.values, vol, 2 * F * N, &worst);
    check(same, "postprocess raw: spatial differs from the input (|diff| %g)", worst);
    for (int b = 0; b < 2; b++) {
      double sum = 0;
      for (int f = 0; f < F; f++) sum += tp.values[b * F + f];
      check(fabs(sum - 1) < 1e-5, "postprocess: temporal of volume %d sums to %g", b, sum);
    }
  }
  release_output(&out, &out_s);

  /* and the optimized preset runs, with values in [0, 1] */
  make_batch(2, 1, &c, &cnt, &in, &in_s);
  st = staa_postprocess(&in, &in_s, NULL, &out, &out_s, err, sizeof err);
  check_consumed("postprocess optimized", &cnt, 1, &in, &in_s);
  check(st == STAA_OK, "postprocess optimized: status %d (%s)", st, err);
  if (st == STAA_OK) {
    ok = find_column(&out, &out_s, "spatial", &sp);
    float mx = 0, mn = 1;
    for (int i = 0; ok && i < 2 * F * N; i++) {
      mx = fmaxf(mx, sp.values[i]);
      mn = fminf(mn, sp.values[i]);
    }
    check(ok && mn >= 0 && mx <= 1.0f + 1e-6f, "postprocess optimized: spatial in [0, 1] (got [%g, %g])", mn, mx);
    release_output(&out, &out_s);
  }
}

/* An error case: the batch (columns cols, rows rows) and options must fail
 * with status want and a message containing every string of needles. */
static void expect_error(const char* what, int64_t rows, int ncols, const col_t* cols, const char* options,
                         int want, const char* needle1, const char* needle2) {
  struct ArrowArray in, out;
  struct ArrowSchema in_s, out_s;
  counts_t cnt;
  char err[512];
  make_batch(rows, ncols, cols, &cnt, &in, &in_s);
  memset(&out, 0xAB, sizeof out); /* garbage: must come back released */
  memset(&out_s, 0xAB, sizeof out_s);
  memset(err, 'x', sizeof err);
  int st = staa_attribute(&in, &in_s, options, &out, &out_s, err, sizeof err);
  check(st == want, "%s: status %d, want %d (%s)", what, st, want, err);
  check(memchr(err, '\0', sizeof err) != NULL && strncmp(err, "staa: ", 6) == 0,
        "%s: message not NUL-terminated or not starting with \"staa: \": %.80s", what, err);
  check(needle1 == NULL || strstr(err, needle1) != NULL, "%s: message %s does not name %s", what, err, needle1);
  check(needle2 == NULL || strstr(err, needle2) != NULL, "%s: message %s does not name %s", what, err, needle2);
  check(out.release == NULL && out_s.release == NULL, "%s: outputs not left released on error", what);
  check_consumed(what, &cnt, ncols, &in, &in_s);
}

static void test_errors(const data_t* d) {
  col_t ok1[2] = {spatial_col(d->spatial), temporal_col(d->temporal)};
  const char* base = "{\"frames\":3,\"grid\":[3,4],\"method\":\"last\"";
  char opts[256];

  snprintf(opts, sizeof opts, "%s,\"bogus_key\":1}", base);
  expect_error("unknown option key", B, 2, ok1, opts, STAA_EINVAL, "bogus_key", NULL);
  expect_error("bad JSON", B, 2, ok1, "{\"frames\":3,\"grid\":[3,", STAA_EINVAL, "options", NULL);
  expect_error("bad option value", B, 2, ok1, "{\"frames\":3,\"grid\":[3,4],\"method\":\"magic\"}", STAA_EINVAL,
               "magic", NULL);
  expect_error("missing frames", B, 2, ok1, "{\"grid\":[3,4]}", STAA_EINVAL, "frames", NULL);
  expect_error("NULL options", B, 2, ok1, NULL, STAA_EINVAL, "frames", "required");

  snprintf(opts, sizeof opts, "%s}", base);
  col_t bad_shape[1] = {spatial_col(d->spatial)};
  bad_shape[0].shape[1] = 1; /* T = 1, the options say 3 */
  expect_error("bad shape", B, 1, bad_shape, opts, STAA_EINVAL, "\"spatial\"", "[L 3 H 13 13]");
  col_t bad_temporal[2] = {spatial_col(d->spatial), temporal_col(d->temporal)};
  bad_temporal[1].shape[1] = 3; /* N = 3 patches; grid [3, 4] has 12 */
  bad_temporal[1].shape[2] = 8;
  expect_error("bad temporal shape", B, 2, bad_temporal, opts, STAA_EINVAL, "\"temporal\"", "[L 12 H 3 3]");
  col_t f64[1] = {spatial_col(d->spatial)};
  f64[0].dtype = DT_F64;
  expect_error("wrong dtype", B, 1, f64, opts, STAA_EINVAL, "\"spatial\"", "float64");
  col_t nometa[1] = {spatial_col(d->spatial)};
  nometa[0].ext_metadata = "{\"dim_names\":[\"l\"]}";
  expect_error("no shape metadata", B, 1, nometa, opts, STAA_EINVAL, "\"spatial\"", "shape");
  col_t unknown[2] = {spatial_col(d->spatial), {"attention", 1, {4}, DT_F32, NULL, d->spatial}};
  expect_error("unknown column", B, 2, unknown, opts, STAA_EINVAL, "\"attention\"", "unknown column");
  col_t joint_in_divided[1] = {joint_col(d->joint)};
  expect_error("column of the other layout", B, 1, joint_in_divided, opts, STAA_EINVAL, "\"joint\"", "layout");
  expect_error("empty batch", 0, 2, ok1, opts, STAA_EINVAL, "empty batch", NULL);
  expect_error("no columns", B, 0, NULL, opts, STAA_EINVAL, "missing column", "spatial");

  /* NaN in the attention: checked by the engine */
  int64_t ns = (int64_t)L * DT * H * DS * DS;
  float* nan = xmalloc(sizeof(float) * (size_t)(B * ns));
  memcpy(nan, d->spatial, sizeof(float) * (size_t)(B * ns));
  int64_t last_layer = ns + ns / L + 5; /* clip 1, layer L-1, frame 0, head 0, CLS row: read by "last" */
  nan[last_layer] = NAN;
  col_t nan_cols[1] = {spatial_col(nan)};
  if (engine_ready) expect_error("NaN", B, 1, nan_cols, opts, STAA_EINVAL, "NaN", NULL);
  nan[last_layer] = INFINITY;
  if (engine_ready) expect_error("infinity", B, 1, nan_cols, opts, STAA_EINVAL, "Inf", NULL);
  memcpy(nan, d->spatial, sizeof(float) * (size_t)(B * ns));
  nan[17] = NAN; /* clip 0, layer 0: rollout reads every layer */
  if (engine_ready)
    expect_error("NaN (rollout)", B, 1, nan_cols, "{\"frames\":3,\"grid\":[3,4]}", STAA_EINVAL, "NaN", NULL);
  free(nan);
  /* method grad without gradients */
  snprintf(opts, sizeof opts, "{\"frames\":3,\"grid\":[3,4],\"method\":\"grad\"}");
  if (engine_ready) expect_error("grad without gradients", B, 2, ok1, opts, STAA_EINVAL, "spatial_grad", NULL);

  /* NULL pointers: whatever was passed is released, the status is EINVAL */
  struct ArrowArray in, out;
  struct ArrowSchema in_s, out_s;
  counts_t cnt;
  char err[512];
  snprintf(opts, sizeof opts, "%s}", base);

  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  int st = staa_attribute(NULL, &in_s, opts, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "in (the input ArrowArray) is NULL"), "NULL in: %d %s", st, err);
  check(cnt.top_schema_calls == 1 && in_s.release == NULL, "NULL in: in_schema released once (%d)",
        cnt.top_schema_calls);
  in.release(&in); /* the library never saw it */

  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  st = staa_attribute(&in, NULL, opts, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "in_schema"), "NULL in_schema: %d %s", st, err);
  check(cnt.top_array_calls == 1 && in.release == NULL, "NULL in_schema: in released once (%d)",
        cnt.top_array_calls);
  in_s.release(&in_s);

  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  st = staa_attribute(&in, &in_s, opts, NULL, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "out (the output ArrowArray) is NULL"), "NULL out: %d %s", st, err);
  check_consumed("NULL out", &cnt, 2, &in, &in_s);

  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  st = staa_attribute(&in, &in_s, opts, &out, NULL, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "out_schema"), "NULL out_schema: %d %s", st, err);
  check_consumed("NULL out_schema", &cnt, 2, &in, &in_s);

  st = staa_attribute(NULL, NULL, opts, NULL, NULL, NULL, 0);
  check(st == STAA_EINVAL, "all NULL: status %d", st);

  /* err NULL: the status alone */
  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  st = staa_attribute(&in, &in_s, "{", &out, &out_s, NULL, 0);
  check(st == STAA_EINVAL, "err NULL: status %d", st);
  check_consumed("err NULL", &cnt, 2, &in, &in_s);

  /* an input released already */
  make_batch(B, 2, ok1, &cnt, &in, &in_s);
  in.release(&in); /* now in.release == NULL */
  st = staa_attribute(&in, &in_s, opts, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "released"), "released input: %d %s", st, err);
  check(cnt.top_array_calls == 1 && cnt.top_schema_calls == 1 && in_s.release == NULL,
        "released input: array released %d times, schema %d", cnt.top_array_calls, cnt.top_schema_calls);

  /* tiny err buffers: truncated, NUL-terminated, nothing written past err_len */
  size_t lens[4] = {1, 2, 8, 40};
  for (int i = 0; i < 4; i++) {
    char small[64];
    memset(small, '#', sizeof small);
    make_batch(B, 2, ok1, &cnt, &in, &in_s);
    st = staa_attribute(&in, &in_s, "{\"frames\":3,\"grid\":[3,4],\"bogus_key\":true}", &out, &out_s, small,
                        lens[i]);
    int untouched = 1;
    for (size_t k = lens[i]; k < sizeof small; k++) untouched &= small[k] == '#';
    check(st == STAA_EINVAL && strlen(small) == lens[i] - 1 && untouched,
          "err_len %zu: status %d, strlen %zu, bytes past err_len %s", lens[i], st, strlen(small),
          untouched ? "untouched" : "WRITTEN");
    check(strncmp(small, "staa: options", lens[i] - 1 < 13 ? lens[i] - 1 : 13) == 0, "err_len %zu: prefix %s",
          lens[i], small);
    check_consumed("tiny err buffer", &cnt, 2, &in, &in_s);
  }

  /* staa_postprocess errors */
  col_t wrong[1] = {spatial_col(d->spatial)};
  make_batch(B, 1, wrong, &cnt, &in, &in_s);
  st = staa_postprocess(&in, &in_s, NULL, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "\"spatial\"") && strstr(err, "volume"),
        "postprocess of a spatial column: %d %s", st, err);
  check_consumed("postprocess wrong column", &cnt, 1, &in, &in_s);
  float vol[3 * N] = {0};
  col_t v[1] = {{"volume", 3, {3, GH, GW}, DT_F32, NULL, vol}};
  make_batch(1, 1, v, &cnt, &in, &in_s);
  st = staa_postprocess(&in, &in_s, "{\"postprocess\":\"raw\",\"frames\":3}", &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "frames"), "postprocess unknown key: %d %s", st, err);
  check_consumed("postprocess unknown key", &cnt, 1, &in, &in_s);
}

/* ------------------------------------------------------- threads */

typedef struct {
  const data_t* d;
  int status;
  float* spatial; /* copies of the first output */
  float* temporal;
  int same; /* every repetition equal to the first */
} thread_arg_t;

enum { REPS = 5, SP_LEN = B * DF * N, TP_LEN = B * DF };

static void* worker(void* p) {
  thread_arg_t* a = p;
  a->same = 1;
  a->spatial = xmalloc(sizeof(float) * SP_LEN);
  a->temporal = xmalloc(sizeof(float) * TP_LEN);
  for (int rep = 0; rep < REPS; rep++) {
    struct ArrowArray in, out;
    struct ArrowSchema in_s, out_s;
    counts_t cnt;
    char err[512];
    col_t cols[2] = {spatial_col(a->d->spatial), temporal_col(a->d->temporal)};
    make_batch(B, 2, cols, &cnt, &in, &in_s);
    int st = staa_attribute(&in, &in_s, kDividedRollout, &out, &out_s, err, sizeof err);
    check_consumed("thread", &cnt, 2, &in, &in_s);
    if (st != STAA_OK) {
      a->status = st;
      if (rep == 0) printf("thread: status %d: %s\n", st, err);
      continue;
    }
    out_col_t sp, tp;
    if (!find_column(&out, &out_s, "spatial", &sp) || !find_column(&out, &out_s, "temporal", &tp)) {
      a->same = 0;
    } else if (rep == 0) {
      memcpy(a->spatial, sp.values, sizeof(float) * SP_LEN);
      memcpy(a->temporal, tp.values, sizeof(float) * TP_LEN);
    } else if (memcmp(a->spatial, sp.values, sizeof(float) * SP_LEN) != 0 ||
               memcmp(a->temporal, tp.values, sizeof(float) * TP_LEN) != 0) {
      a->same = 0;
    }
    out.release(&out);
    out_s.release(&out_s);
  }
  return NULL;
}

static void test_threads(const data_t* d) {
  enum { NT = 4 };
  pthread_t th[NT];
  thread_arg_t args[NT];
  memset(args, 0, sizeof args);
  for (int i = 0; i < NT; i++) {
    args[i].d = d;
    pthread_create(&th[i], NULL, worker, &args[i]);
  }
  for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < NT; i++) {
    if (!engine_ready) break;
    check(args[i].status == STAA_OK, "thread %d: status %d", i, args[i].status);
    check(args[i].same, "thread %d: repeated calls differ", i);
    check(memcmp(args[i].spatial, args[0].spatial, sizeof(float) * SP_LEN) == 0 &&
              memcmp(args[i].temporal, args[0].temporal, sizeof(float) * TP_LEN) == 0,
          "thread %d: result differs from thread 0's", i);
  }
  for (int i = 0; i < NT; i++) {
    free(args[i].spatial);
    free(args[i].temporal);
  }
}

/* ------------------------------------------------------- fork */

static void test_fork(const data_t* d) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct ArrowArray in, out;
    struct ArrowSchema in_s, out_s;
    counts_t cnt;
    char err[512];
    col_t cols[1] = {spatial_col(d->spatial)};
    make_batch(B, 1, cols, &cnt, &in, &in_s);
    int st = staa_attribute(&in, &in_s, kDividedLast, &out, &out_s, err, sizeof err);
    int ok = st == STAA_ERUNTIME && strstr(err, "fork") != NULL && cnt.top_array_calls == 1 &&
             cnt.top_schema_calls == 1 && staa_abi_version() == STAA_ABI_VERSION;
    if (!ok) printf("child: status %d: %s\n", st, err);
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "forked child: staa_attribute did not fail with STAA_ERUNTIME naming fork (status %d)", status);
}

int main(void) {
  check(staa_abi_version() == STAA_ABI_VERSION, "staa_abi_version() = %d, want %d", staa_abi_version(),
        STAA_ABI_VERSION);
  check(staa_version() != NULL && strlen(staa_version()) > 0, "staa_version()");
  printf("libstaa %s, ABI %d\n", staa_version(), staa_abi_version());

  data_t d = make_data();
  test_divided_and_joint(&d);
  test_postprocess();
  test_errors(&d);
  test_threads(&d);
  test_fork(&d);
  free_data(&d);

  check(engine_ready, "the engine is not available: its result checks were skipped");
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
