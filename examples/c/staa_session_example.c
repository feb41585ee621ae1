/*
 * staa_session_example.c - an ONNX video transformer through libstaa.so's
 * session API (include/staa.h): clips in, prediction and attribution out.
 * No Arrow library: the clip batches are built by hand as Arrow C Data
 * Interface structs, with release callbacks that count their calls.
 *
 * Usage: staa_session_example [TESTDATA_DIR]   (default runtime/testdata)
 * The fixture there is a tiny random TimeSformer (tiny.onnx: 4 frames of
 * 32x32, grid [4, 4], 5 classes) with PyTorch's logits for clips.u8.
 * ONNX Runtime is found as staa.h says ($STAA_ONNXRUNTIME_LIB, or
 * build/onnxruntime/libonnxruntime.so.1).
 *
 * What it checks:
 *  - open tiny.onnx, read staa_session_info;
 *  - explain a batch of 2 clips built by hand (40x48 frames: the session
 *    resizes them): the columns and their shapes, temporal profiles summing
 *    to 1, probabilities summing to 1, top_k by decreasing probability, the
 *    class names in the schema metadata;
 *  - the fixture's clips give PyTorch's logits (within 1e-4);
 *  - errors: a missing model, a corrupt one (random bytes in a temp file), a
 *    model without attention outputs, a missing ONNX Runtime library, bad
 *    options, a clip with the wrong number of frames, a closed session;
 *    the status, the message, inputs released exactly once, outputs left
 *    released;
 *  - 4 threads explaining with one session at once get identical results;
 *  - a child forked after the library was loaded gets STAA_ERUNTIME;
 *  - close (twice: the second does nothing).
 *
 * The last line is "N passed, M failed"; the exit status is non-zero on any
 * failure. make test-c runs it plainly and under AddressSanitizer.
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

static char g_dir[1024];

static char* path_of(const char* name) {
  char* p = xmalloc(strlen(g_dir) + strlen(name) + 2);
  sprintf(p, "%s/%s", g_dir, name);
  return p;
}

/* read_file returns the bytes of a fixture file (and its size in *n). */
static void* read_file(const char* name, size_t* n) {
  char* path = path_of(name);
  FILE* f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s (run from the repository root or pass the testdata directory)\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* buf = xmalloc((size_t)size);
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "short read of %s\n", path);
    exit(2);
  }
  fclose(f);
  free(path);
  *n = (size_t)size;
  return buf;
}

/* ------------------------------------------------- building a clip batch */

/* make_clips builds a record batch of rows clips: one fixed_shape_tensor
 * column name (format "C" for uint8 clips, "f" for float32 pixel values) of
 * per-row shape shape[0..3], over a copy of data (rows * prod(shape)
 * elements of elem_size bytes). */
static void make_clips(const char* name, const char* format, size_t elem_size, const int64_t shape[4],
                       int64_t rows, const void* data, counts_t* cnt, struct ArrowArray* arr,
                       struct ArrowSchema* sch) {
  memset(cnt, 0, sizeof *cnt);
  int64_t size = shape[0] * shape[1] * shape[2] * shape[3];
  char json[128], fsl[32];
  snprintf(json, sizeof json, "{\"shape\":[%lld,%lld,%lld,%lld]}", (long long)shape[0], (long long)shape[1],
           (long long)shape[2], (long long)shape[3]);
  snprintf(fsl, sizeof fsl, "+w:%lld", (long long)size);
  const char* keys[2] = {"ARROW:extension:name", "ARROW:extension:metadata"};
  const char* vals[2] = {"arrow.fixed_shape_tensor", json};
  init_schema(sch, cnt, 1, "+s", "", NULL, 1);
  init_schema(sch->children[0], cnt, 0, fsl, name, encode_metadata(2, keys, vals), 1);
  init_schema(sch->children[0]->children[0], cnt, 0, format, "item", NULL, 0);
  sch->children[0]->children[0]->flags = ARROW_FLAG_NULLABLE;
  size_t bytes = (size_t)(rows * size) * elem_size;
  void* copy = xmalloc(bytes);
  if (bytes) memcpy(copy, data, bytes);
  init_array(arr, cnt, 1, rows, 1, NULL, 1);
  init_array(arr->children[0], cnt, 0, rows, 1, NULL, 1);
  init_array(arr->children[0]->children[0], cnt, 0, rows * size, 2, copy, 0);
}

/* The input must have been released exactly once, all of it (3 structs). */
static void check_consumed(const char* what, const counts_t* cnt, const struct ArrowArray* arr,
                           const struct ArrowSchema* sch) {
  check(cnt->top_array_calls == 1 && cnt->array_calls == 3 && arr->release == NULL,
        "%s: input array released %d times (%d structs of 3)", what, cnt->top_array_calls, cnt->array_calls);
  check(cnt->top_schema_calls == 1 && cnt->schema_calls == 3 && sch->release == NULL,
        "%s: input schema released %d times (%d structs of 3)", what, cnt->top_schema_calls, cnt->schema_calls);
}

/* ------------------------------------------------------- reading outputs */

typedef struct {
  const void* values; /* row r at values + r * size elements */
  int64_t size;
  int ndim;
  int64_t shape[6];
} out_col_t;

/* find_column finds column name of element format fmt ("f" or "i"). */
static int find_column(const struct ArrowArray* out, const struct ArrowSchema* sch, const char* name,
                       const char* fmt, out_col_t* oc) {
  for (int64_t i = 0; i < sch->n_children; i++) {
    const struct ArrowSchema* f = sch->children[i];
    if (strcmp(f->name, name) != 0) continue;
    char buf[256];
    if (strncmp(f->format, "+w:", 3) != 0 || strcmp(f->children[0]->format, fmt) != 0) return 0;
    if (!meta_get(f->metadata, "ARROW:extension:name", buf, sizeof buf) ||
        strcmp(buf, "arrow.fixed_shape_tensor") != 0)
      return 0;
    if (!meta_get(f->metadata, "ARROW:extension:metadata", buf, sizeof buf)) return 0;
    oc->ndim = parse_shape(buf, oc->shape);
    oc->size = atoll(f->format + 3);
    const struct ArrowArray* fsl = out->children[i];
    const struct ArrowArray* vals = fsl->children[0];
    int64_t first = (out->offset + fsl->offset) * oc->size + vals->offset;
    oc->values = (const char*)vals->buffers[1] + first * 4; /* float32 and int32 */
    return 1;
  }
  return 0;
}

static void release_output(struct ArrowArray* out, struct ArrowSchema* out_s) {
  out->release(out);
  out_s->release(out_s);
}

/* ------------------------------------------------------- test clips */

enum { F = 4, SIZE = 32, CLASSES = 5, GRID = 4 };
enum { HH = 40, WW = 48 }; /* the hand-built clips' frame size */

/* A bright square moving over a dark textured background: clip c moves it
 * right (c = 0) or down (c = 1). */
static uint8_t* hand_clips(void) {
  uint8_t* d = xmalloc(2 * F * HH * WW * 3);
  for (int c = 0; c < 2; c++)
    for (int f = 0; f < F; f++)
      for (int y = 0; y < HH; y++)
        for (int x = 0; x < WW; x++) {
          int sx = 4 + (c == 0 ? 8 * f : 0), sy = 4 + (c == 1 ? 8 * f : 0);
          int in = x >= sx && x < sx + 12 && y >= sy && y < sy + 12;
          uint8_t* px = d + ((((size_t)c * F + f) * HH + y) * WW + x) * 3;
          px[0] = in ? 240 : (uint8_t)((x * 7 + y * 3) % 40);
          px[1] = in ? 200 : (uint8_t)((x * 5 + y * 11) % 50);
          px[2] = in ? 30 : (uint8_t)(60 + (x + y) % 20);
        }
  return d;
}

static const char* kOpts = "{\"intra_op_threads\":1,\"inter_op_threads\":1}";

/* explain runs staa_session_explain on a copy of the clips. */
static int explain(staa_session* s, const uint8_t* clips, int64_t rows, int64_t frames, int64_t h, int64_t w,
                   const char* options, struct ArrowArray* out, struct ArrowSchema* out_s, char* err,
                   size_t err_len, const char* what) {
  struct ArrowArray in;
  struct ArrowSchema in_s;
  counts_t cnt;
  int64_t shape[4] = {frames, h, w, 3};
  make_clips("clip", "C", 1, shape, rows, clips, &cnt, &in, &in_s);
  int st = staa_session_explain(s, &in, &in_s, options, out, out_s, err, err_len);
  check_consumed(what, &cnt, &in, &in_s);
  return st;
}

static void test_explain(staa_session* s, const uint8_t* clips) {
  struct ArrowArray out;
  struct ArrowSchema out_s;
  char err[512];
  int st = explain(s, clips, 2, F, HH, WW, "{\"method\":\"rollout\",\"top_k\":3}", &out, &out_s, err, sizeof err,
                   "explain");
  check(st == STAA_OK && err[0] == '\0', "explain: status %d (%s)", st, err);
  if (st != STAA_OK) return;
  check(out.length == 2 && out_s.n_children == 5, "explain: %lld rows, %lld columns (want 2, 5)",
        (long long)out.length, (long long)out_s.n_children);
  out_col_t sp, tp, lg, pr, tk;
  int ok = find_column(&out, &out_s, "spatial", "f", &sp) && find_column(&out, &out_s, "temporal", "f", &tp) &&
           find_column(&out, &out_s, "logits", "f", &lg) && find_column(&out, &out_s, "probabilities", "f", &pr) &&
           find_column(&out, &out_s, "top_k", "i", &tk);
  check(ok, "explain: columns spatial, temporal, logits, probabilities (float32), top_k (int32)");
  if (ok) {
    check(sp.ndim == 3 && sp.shape[0] == F && sp.shape[1] == GRID && sp.shape[2] == GRID,
          "spatial shape [%lld %lld %lld], want [4 4 4]", (long long)sp.shape[0], (long long)sp.shape[1],
          (long long)sp.shape[2]);
    check(tp.ndim == 1 && tp.shape[0] == F, "temporal shape [%lld]", (long long)tp.shape[0]);
    check(lg.ndim == 1 && lg.shape[0] == CLASSES && pr.shape[0] == CLASSES, "logits [%lld], probabilities [%lld]",
          (long long)lg.shape[0], (long long)pr.shape[0]);
    check(tk.ndim == 1 && tk.shape[0] == 3, "top_k shape [%lld], want [3]", (long long)tk.shape[0]);
    for (int b = 0; b < 2; b++) {
      const float* t = (const float*)tp.values + b * F;
      const float* p = (const float*)pr.values + b * CLASSES;
      const float* l = (const float*)lg.values + b * CLASSES;
      const int32_t* k = (const int32_t*)tk.values + b * 3;
      double ts = 0, ps = 0;
      for (int f = 0; f < F; f++) ts += t[f];
      for (int c = 0; c < CLASSES; c++) ps += p[c];
      check(fabs(ts - 1) < 1e-5, "clip %d: temporal sums to %g", b, ts);
      check(fabs(ps - 1) < 1e-5, "clip %d: probabilities sum to %g", b, ps);
      int best = 0;
      for (int c = 1; c < CLASSES; c++)
        if (l[c] > l[best]) best = c;
      check(k[0] == best, "clip %d: top_k[0] = %d, argmax of the logits %d", b, k[0], best);
      check(k[0] >= 0 && k[2] < CLASSES && p[k[0]] >= p[k[1]] && p[k[1]] >= p[k[2]],
            "clip %d: top_k %d %d %d not by decreasing probability", b, k[0], k[1], k[2]);
      const float* m = (const float*)sp.values + b * F * GRID * GRID;
      int finite = 1;
      for (int i = 0; i < F * GRID * GRID; i++) finite &= isfinite(m[i]) && m[i] >= 0;
      check(finite, "clip %d: spatial maps finite and non-negative", b);
    }
  }
  char buf[256];
  check(meta_get(out_s.metadata, "staa.class_names", buf, sizeof buf) &&
            strcmp(buf, "[\"up\",\"down\",\"left\",\"right\",\"still\"]") == 0,
        "metadata staa.class_names: %s", buf);
  check(meta_get(out_s.metadata, "staa.geometry", buf, sizeof buf) && strstr(buf, "\"grid\":[4,4]"),
        "metadata staa.geometry: %s", buf);
  check(meta_get(out_s.metadata, "staa.method", buf, sizeof buf) && strcmp(buf, "rollout") == 0,
        "metadata staa.method: %s", buf);
  release_output(&out, &out_s);
}

/* The fixture's clips give PyTorch's logits. */
static void test_fixture(staa_session* s) {
  size_t n, nl;
  uint8_t* clips = read_file("clips.u8", &n);
  float* want = read_file("logits.f32", &nl);
  check(n == 2 * F * SIZE * SIZE * 3 && nl == 2 * CLASSES * 4, "fixture sizes %zu %zu", n, nl);
  struct ArrowArray out;
  struct ArrowSchema out_s;
  char err[512];
  int st = explain(s, clips, 2, F, SIZE, SIZE, NULL, &out, &out_s, err, sizeof err, "fixture");
  check(st == STAA_OK, "fixture: status %d (%s)", st, err);
  if (st == STAA_OK) {
    out_col_t lg;
    double worst = 0;
    if (find_column(&out, &out_s, "logits", "f", &lg))
      for (int i = 0; i < 2 * CLASSES; i++) worst = fmax(worst, fabs(((const float*)lg.values)[i] - want[i]));
    else
      worst = INFINITY;
    check(worst <= 1e-4, "fixture: logits differ from PyTorch's by %g", worst);
    release_output(&out, &out_s);
  }
  free(clips);
  free(want);
}

static void test_info(staa_session* s) {
  size_t n = staa_session_info(s, NULL, 0);
  check(n > 0, "staa_session_info: length %zu", n);
  char* buf = xmalloc(n + 1);
  size_t m = staa_session_info(s, buf, n + 1);
  check(m == n && strlen(buf) == n && strstr(buf, "\"frame_size\":[32,32]") && strstr(buf, "\"classes\":[\"up\"") &&
            strstr(buf, "\"onnxruntime\":{\"path\""),
        "staa_session_info: %s", buf);
  m = staa_session_info(s, buf, n); /* one byte short: nothing but "" */
  check(m == n && buf[0] == '\0', "staa_session_info, short buffer: %zu, \"%.20s\"", m, buf);
  free(buf);
}

/* --------------------------------------------------------------- errors */

static void expect_open_error(const char* what, const char* path, const char* options, int want, const char* needle) {
  staa_session* s = (staa_session*)&g_passed; /* garbage: must come back NULL */
  char err[1024];
  memset(err, 'x', sizeof err);
  int st = staa_session_open(path, options, &s, err, sizeof err);
  check(st == want && s == NULL, "%s: status %d (want %d), session %p: %s", what, st, want, (void*)s, err);
  check(strncmp(err, "staa: ", 6) == 0 && (needle == NULL || strstr(err, needle) != NULL),
        "%s: message does not name %s: %s", what, needle ? needle : "-", err);
  if (st == STAA_OK) staa_session_close(s);
}

static void test_errors(staa_session* s, const uint8_t* clips) {
  char* missing = path_of("no_such_model.onnx");
  expect_open_error("missing model", missing, kOpts, STAA_ERUNTIME, "not found");
  free(missing);

  char tmp[] = "/tmp/staa_corrupt_XXXXXX";
  int fd = mkstemp(tmp);
  check(fd >= 0, "mkstemp");
  if (fd >= 0) {
    uint32_t x = 2463534242u;
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      junk[i] = (unsigned char)x;
    }
    check(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk, "write the corrupt model");
    close(fd);
    expect_open_error("corrupt model", tmp, kOpts, STAA_ERUNTIME, tmp);
    unlink(tmp);
  }

  char* noattn = path_of("tiny_noattn.onnx");
  expect_open_error("model without attention", noattn, kOpts, STAA_ERUNTIME, "no attention outputs");
  char* tiny = path_of("tiny.onnx");
  expect_open_error("no ONNX Runtime library", tiny, "{\"library\":\"/nonexistent/libonnxruntime.so\"}",
                    STAA_ERUNTIME, "ONNX Runtime library unavailable");
  expect_open_error("unknown option", tiny, "{\"threads\":1}", STAA_EINVAL, "threads");
  expect_open_error("negative threads", tiny, "{\"intra_op_threads\":-2}", STAA_EINVAL, "intra_op_threads");
  expect_open_error("NULL path", NULL, NULL, STAA_EINVAL, "model_path");
  check(staa_session_open(tiny, NULL, NULL, NULL, 0) == STAA_EINVAL, "NULL out: STAA_EINVAL");
  free(noattn);
  free(tiny);

  struct ArrowArray out;
  struct ArrowSchema out_s;
  char err[512];
  struct {
    const char *what, *options, *needle;
    int64_t frames;
  } cases[] = {
      {"unknown explain option", "{\"bogus\":1}", "bogus", F},
      {"method grad", "{\"method\":\"grad\"}", "gradients", F},
      {"geometry unlike the model's", "{\"frames\":8}", "geometry", F},
      {"top_k 0", "{\"top_k\":0}", "top_k", F},
      {"wrong frame count", NULL, "frames", 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(&out, 0xAB, sizeof out);
    memset(&out_s, 0xAB, sizeof out_s);
    int st = explain(s, clips, 1, cases[i].frames, HH, WW, cases[i].options, &out, &out_s, err, sizeof err,
                     cases[i].what);
    check(st == STAA_EINVAL && strstr(err, cases[i].needle) != NULL, "%s: status %d: %s", cases[i].what, st, err);
    check(out.release == NULL && out_s.release == NULL, "%s: outputs not left released", cases[i].what);
  }
  /* a column that is not a clip */
  struct ArrowArray in;
  struct ArrowSchema in_s;
  counts_t cnt;
  int64_t shape[4] = {F, SIZE, SIZE, 3};
  make_clips("video", "C", 1, shape, 1, clips, &cnt, &in, &in_s);
  int st = staa_session_explain(s, &in, &in_s, NULL, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "\"video\""), "unknown column: %d %s", st, err);
  check_consumed("unknown column", &cnt, &in, &in_s);
  /* NULL session */
  make_clips("clip", "C", 1, shape, 1, clips, &cnt, &in, &in_s);
  st = staa_session_explain(NULL, &in, &in_s, NULL, &out, &out_s, err, sizeof err);
  check(st == STAA_EINVAL && strstr(err, "not open"), "NULL session: %d %s", st, err);
  check_consumed("NULL session", &cnt, &in, &in_s);
}

/* --------------------------------------------------------------- threads */

enum { NT = 4, REPS = 3 };

typedef struct {
  staa_session* s;
  const uint8_t* clips;
  int status;
  float spatial[2 * F * GRID * GRID], logits[2 * CLASSES];
  int same;
} thread_arg_t;

static void* worker(void* p) {
  thread_arg_t* a = p;
  a->same = 1;
  for (int rep = 0; rep < REPS; rep++) {
    struct ArrowArray out;
    struct ArrowSchema out_s;
    char err[512];
    int st = explain(a->s, a->clips, 2, F, HH, WW, "{\"workers\":1}", &out, &out_s, err, sizeof err, "thread");
    if (st != STAA_OK) {
      a->status = st;
      printf("thread: status %d: %s\n", st, err);
      continue;
    }
    out_col_t sp, lg;
    if (!find_column(&out, &out_s, "spatial", "f", &sp) || !find_column(&out, &out_s, "logits", "f", &lg)) {
      a->same = 0;
    } else if (rep == 0) {
      memcpy(a->spatial, sp.values, sizeof a->spatial);
      memcpy(a->logits, lg.values, sizeof a->logits);
    } else if (memcmp(a->spatial, sp.values, sizeof a->spatial) != 0 ||
               memcmp(a->logits, lg.values, sizeof a->logits) != 0) {
      a->same = 0;
    }
    release_output(&out, &out_s);
  }
  return NULL;
}

static void test_threads(staa_session* s, const uint8_t* clips) {
  pthread_t th[NT];
  static thread_arg_t args[NT];
  memset(args, 0, sizeof args);
  for (int i = 0; i < NT; i++) {
    args[i].s = s;
    args[i].clips = clips;
    pthread_create(&th[i], NULL, worker, &args[i]);
  }
  for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < NT; i++) {
    check(args[i].status == STAA_OK && args[i].same, "thread %d: status %d, repeated calls equal %d", i,
          args[i].status, args[i].same);
    check(memcmp(args[i].spatial, args[0].spatial, sizeof args[0].spatial) == 0 &&
              memcmp(args[i].logits, args[0].logits, sizeof args[0].logits) == 0,
          "thread %d: result differs from thread 0's", i);
  }
}

/* ------------------------------------------------------------------ fork */

static void test_fork(staa_session* s, const uint8_t* clips) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct ArrowArray out;
    struct ArrowSchema out_s;
    char err[512];
    struct ArrowArray in;
    struct ArrowSchema in_s;
    counts_t cnt;
    int64_t shape[4] = {F, HH, WW, 3};
    make_clips("clip", "C", 1, shape, 1, clips, &cnt, &in, &in_s);
    int st = staa_session_explain(s, &in, &in_s, NULL, &out, &out_s, err, sizeof err);
    int ok = st == STAA_ERUNTIME && strstr(err, "fork") && cnt.top_array_calls == 1 && cnt.top_schema_calls == 1;
    staa_session* s2 = (staa_session*)&cnt;
    st = staa_session_open("whatever.onnx", NULL, &s2, err, sizeof err);
    ok = ok && st == STAA_ERUNTIME && s2 == NULL && staa_session_info(s, NULL, 0) == 0;
    staa_session_close(s); /* does nothing here */
    if (!ok) printf("child: status %d: %s\n", st, err);
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "forked child: the session calls did not fail with STAA_ERUNTIME (status %d)", status);
}

int main(int argc, char** argv) {
  snprintf(g_dir, sizeof g_dir, "%s", argc > 1 ? argv[1] : "runtime/testdata");
  printf("libstaa %s, ABI %d, fixture %s\n", staa_version(), staa_abi_version(), g_dir);

  uint8_t* clips = hand_clips();
  char* tiny = path_of("tiny.onnx");
  staa_session* s = NULL;
  char err[1024];
  int st = staa_session_open(tiny, kOpts, &s, err, sizeof err);
  check(st == STAA_OK && s != NULL && err[0] == '\0', "open %s: status %d: %s", tiny, st, err);
  free(tiny);
  if (st == STAA_OK) {
    test_info(s);
    test_explain(s, clips);
    test_fixture(s);
    test_errors(s, clips);
    test_threads(s, clips);
    test_fork(s, clips);
    staa_session_close(s);

    /* closed: explaining fails cleanly, closing again does nothing */
    struct ArrowArray out;
    struct ArrowSchema out_s;
    st = explain(s, clips, 1, F, HH, WW, NULL, &out, &out_s, err, sizeof err, "closed session");
    check(st == STAA_EINVAL && strstr(err, "not open"), "explain after close: status %d: %s", st, err);
    check(staa_session_info(s, NULL, 0) == 0, "info after close");
    staa_session_close(s);
    staa_session_close(NULL);
  }
  free(clips);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
