# staa: build the C library and run the tests.
#
#   make setup        install what the build and the tests need (scripts/setup.sh)
#   make lib          build/libstaa.so (SONAME libstaa.so.1) and its symlink
#   make onnxruntime  build/onnxruntime/libonnxruntime.so.1 (from the npm package)
#   make test-go      go vet, go test (also with -race for the cgo layer), fuzzing
#   make test-c       the C example, plain and under AddressSanitizer, and C++
#   make pyext        the Python package's C extension, in place (bindings/python/src/staa)
#   make test-python  the Python bindings' tests against build/libstaa.so, through the
#                     C extension, then the call tests again through ctypes
#   make test         all three
#   make demo         staa explain on a generated clip with the shipped model (out/explain),
#                     then the engine demo (out/demo.png)
#   make explain      staa explain on a generated clip with the shipped model (out/explain)
#   make bench        the Go benchmarks behind docs/benchmarks.md
#   make model        train the shipped TimeSformer on generated clips and export it to ONNX
#   make clean
#
# Needs Go, a C compiler (cgo), a C++ compiler, nm (binutils) and, for
# test-python, python3 with pytest and numpy.

GO       ?= go
CC       ?= cc
CXX      ?= c++
PYTHON   ?= python3
FUZZTIME ?= 100000x

BUILD := build
LIB   := $(BUILD)/libstaa.so

# The library: a Go c-shared build of ./capi, with SONAME libstaa.so.1 and a
# version script that keeps everything but staa_* local (the Go runtime and
# cgo's symbols included). go build also writes the cgo-generated header
# next to it (build/libstaa.h): internal, the public one is include/staa.h.
LIB_LDFLAGS := -extldflags '-Wl,-soname,libstaa.so.1 -Wl,--version-script=$(abspath capi/staa.map)'

# The C example and the C++ check link against build/ and find the library
# beside them at run time.
C_FLAGS   := -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude
CXX_FLAGS := -std=c++11 -O1 -Wall -Wextra -pedantic -Werror -Iinclude
LINK      := -L$(BUILD) -lstaa -Wl,-rpath,'$$ORIGIN' -lpthread -lm

.PHONY: all setup lib pyext onnxruntime test test-go test-c test-python demo explain bench model check-model clean check-symbols

all: lib

setup:
	bash scripts/setup.sh

# The ONNX Runtime library for runtime/; skipped when present.
onnxruntime:
	bash scripts/install_onnxruntime.sh >/dev/null

# go build is incremental, so lib always asks it.
lib:
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-shared -trimpath -ldflags "$(LIB_LDFLAGS)" -o $(LIB) ./capi
	ln -sf libstaa.so $(BUILD)/libstaa.so.1

# staa._fastcall, built in place for the tests (pip builds it into the wheel
# the same way: Python's limited API 3.11, one build for later Pythons).
PYEXT := bindings/python/src/staa/_fastcall.abi3.so
pyext: $(PYEXT)
$(PYEXT): bindings/python/src/staa/_fastcall.c include/staa.h
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -DPy_LIMITED_API=0x030B0000 -Iinclude \
		-I"$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" -o $@ $<

# The only exported symbols are staa_* (the "A" line is the version node).
check-symbols: lib
	@nm -D --defined-only $(LIB) | awk '$$2 != "A" && $$3 !~ /^staa_/ { print "unexpected export: " $$0; bad = 1 } \
		END { exit bad }'
	@echo "exports: $$(nm -D --defined-only $(LIB) | awk '$$2 != "A" { sub(/@.*/, "", $$3); print $$3 }' | tr '\n' ' ')"

test: test-go test-c test-python check-model

# Fuzzing runs each target for FUZZTIME, a number of executions (~10 s
# each here): a duration can fail at its end with "context deadline
# exceeded" and no input (golang/go#75804, fixed in Go 1.27).
# -fuzzminimizetime bounds the minimisation of each new input (the default,
# 60s, would eat all of it).
test-go: onnxruntime
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -race ./capi ./staa/arrowio ./runtime ./cmd/staa
	$(GO) test ./staa/arrowio -run '^$$' -fuzz '^FuzzReadClips$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x
	$(GO) test ./staa -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x

# The C example runs twice: plain, then under AddressSanitizer with its leak
# checker. ASan works with the Go c-shared library: its runtime is linked into
# the executable, the Go heap is mmap'd (neither instrumented nor reported),
# and malloc/free are intercepted process-wide, so the library's C memory
# (output batches, cdata's structs), double releases and leaked outputs are
# checked, as is the example itself. (Go code is not instrumented: go build
# -asan rebuilds the standard library and did not add findings.) valgrind is
# not used: it reports thousands of false errors inside the Go runtime.
test-c: lib check-symbols onnxruntime
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c include/staa.h
	$(CC) $(C_FLAGS) examples/c/staa_example.c $(LINK) -o $(BUILD)/staa_example
	$(BUILD)/staa_example
	$(CC) $(C_FLAGS) -fsanitize=address -fno-omit-frame-pointer examples/c/staa_example.c $(LINK) \
		-o $(BUILD)/staa_example_asan
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 $(BUILD)/staa_example_asan
	$(CC) $(C_FLAGS) examples/c/staa_session_example.c $(LINK) -o $(BUILD)/staa_session_example
	$(BUILD)/staa_session_example runtime/testdata
	$(CC) $(C_FLAGS) -fsanitize=address -fno-omit-frame-pointer examples/c/staa_session_example.c $(LINK) \
		-o $(BUILD)/staa_session_example_asan
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 LSAN_OPTIONS=suppressions=$(abspath examples/c/lsan_session.supp) \
		$(BUILD)/staa_session_example_asan runtime/testdata
	$(CXX) $(CXX_FLAGS) examples/c/compat.cpp $(LINK) -o $(BUILD)/compat_cpp
	$(BUILD)/compat_cpp

test-python: lib pyext
	STAA_LIBRARY=$(abspath $(LIB)) PYTHONPATH=bindings/python/src $(PYTHON) -m pytest bindings/python/tests -q
	STAA_NO_FASTCALL=1 STAA_LIBRARY=$(abspath $(LIB)) PYTHONPATH=bindings/python/src $(PYTHON) -m pytest -q \
		bindings/python/tests/test_attribute.py bindings/python/tests/test_cbatch.py \
		bindings/python/tests/test_zero_copy.py bindings/python/tests/test_errors.py \
		bindings/python/tests/test_session.py
	# the benchmark script on tiny sizes: it fails if staa and the torch and numpy forms disagree
	STAA_LIBRARY=$(abspath $(LIB)) PYTHONPATH=bindings/python/src $(PYTHON) \
		bindings/python/benchmarks/bench_attribute.py --quick --repeat 1 > /dev/null

# The README's first command: the main job on the shipped defaults (the
# shipped model on a generated clip; the MP4 only when ffmpeg is there), then
# the engine alone on generated attention.
demo: onnxruntime
	$(GO) run ./cmd/staa explain --out out/explain $$(command -v ffmpeg >/dev/null || echo --mp4=false)
	$(GO) run ./cmd/staa-demo

explain: onnxruntime
	$(GO) run ./cmd/staa explain --out out/explain

model:
	$(PYTHON) scripts/model/train_timesformer.py
	$(PYTHON) scripts/model/export_onnx.py
	$(PYTHON) scripts/model/check_accuracy.py

# The shipped model: metadata, ONNX against PyTorch, Session against staa.explain (needs
# the library and ONNX Runtime), accuracy on a fresh split.
check-model: lib onnxruntime
	$(PYTHON) -m pytest scripts/model/test_shipped_model.py -q
	$(PYTHON) scripts/model/check_accuracy.py

bench: onnxruntime
	$(GO) test ./staa -run '^$$' -bench 'Read|Base' -benchtime 20x -count 3
	$(GO) test ./runtime -run '^$$' -bench 'Session/synth|AttributionAfter' -benchtime 300x
	$(GO) test ./cmd/staa -run '^$$' -bench Explain300 -benchtime 5x

clean:
	rm -rf $(BUILD)
