// compat.cpp - staa.h from C++: this file only has to compile, link and run
// (make test-c builds it with -std=c++11 -Wall -Wextra -pedantic -Werror).
#include "staa.h"

#include <cstdio>
#include <cstring>

namespace {

// The C Data Interface structs are plain C structs in C++ too.
static_assert(sizeof(ArrowArray) == 80, "struct ArrowArray is 80 bytes on 64-bit targets");
static_assert(sizeof(ArrowSchema) == 72, "struct ArrowSchema is 72 bytes on 64-bit targets");

// The entry points have C linkage and the documented signatures.
using attribute_fn = int (*)(ArrowArray*, ArrowSchema*, const char*, ArrowArray*, ArrowSchema*, char*,
                             std::size_t);
const attribute_fn kAttribute = &staa_attribute;
const attribute_fn kPostprocess = &staa_postprocess;

// The session API: an opaque handle type and C linkage.
using open_fn = int (*)(const char*, const char*, staa_session**, char*, std::size_t);
using explain_fn = int (*)(staa_session*, ArrowArray*, ArrowSchema*, const char*, ArrowArray*, ArrowSchema*,
                           char*, std::size_t);
using info_fn = std::size_t (*)(staa_session*, char*, std::size_t);
using close_fn = void (*)(staa_session*);
const open_fn kOpen = &staa_session_open;
const explain_fn kExplain = &staa_session_explain;
const info_fn kInfo = &staa_session_info;
const close_fn kClose = &staa_session_close;

}  // namespace

int main() {
  char err[128];
  ArrowArray out;
  ArrowSchema out_schema;
  std::memset(&out, 0, sizeof out);
  std::memset(&out_schema, 0, sizeof out_schema);
  // NULL input: STAA_EINVAL, and a message.
  int st = kAttribute(nullptr, nullptr, "{}", &out, &out_schema, err, sizeof err);
  int st2 = kPostprocess(nullptr, nullptr, nullptr, &out, &out_schema, err, sizeof err);
  // A NULL model path, and a NULL session: STAA_EINVAL; closing NULL is a no-op.
  staa_session* s = nullptr;
  int st3 = kOpen(nullptr, nullptr, &s, err, sizeof err);
  int st4 = kExplain(nullptr, nullptr, nullptr, nullptr, &out, &out_schema, err, sizeof err);
  kClose(nullptr);
  bool ok = staa_abi_version() == STAA_ABI_VERSION && st == STAA_EINVAL && st2 == STAA_EINVAL &&
            st3 == STAA_EINVAL && s == nullptr && st4 == STAA_EINVAL && kInfo(nullptr, nullptr, 0) == 0 &&
            std::strlen(err) > 0 && out.release == nullptr;
  std::printf("C++: libstaa %s, ABI %d: %s\n", staa_version(), staa_abi_version(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
