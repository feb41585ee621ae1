package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/cdata"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// Geometry of these tests: divided, frames 2 (T = 2), grid [2, 3] (N = 6),
// CLS: spatial [L=1, T=2, H=1, 7, 7], 98 values per clip.
const (
	optsLast    = `{"frames":2,"grid":[2,3],"method":"last","postprocess":"raw"}`
	spatialMeta = `{"shape":[1,2,1,7,7]}`
	clipSize    = 98
)

// attention returns rows clips of attention in C memory: rows of 7 positive
// values summing to 1.
func attention(rows int) (unsafe.Pointer, []float32) {
	p, v := cFloats(rows * clipSize)
	for r := 0; r < rows*clipSize/7; r++ {
		sum := float32(0)
		for j := 0; j < 7; j++ {
			v[r*7+j] = float32(1 + (r*7+j)%5)
			sum += v[r*7+j]
		}
		for j := 0; j < 7; j++ {
			v[r*7+j] /= sum
		}
	}
	return p, v
}

func ptr(s string) *string { return &s }

// wantConsumed checks that b was released exactly once, all of it.
func wantConsumed(t *testing.T, what string, b *testBatch, structs int) {
	t.Helper()
	ta, ts, a, s := b.counts()
	if ta != 1 || ts != 1 || a != structs || s != structs || !b.released() {
		t.Errorf("%s: input released %d/%d times (top array/schema), %d/%d structs of %d, released %v",
			what, ta, ts, a, s, structs, b.released())
	}
}

// The clips read from an imported C batch are slices of the C buffer, and
// the input is released exactly once, when the call ends.
func TestZeroCopyImport(t *testing.T) {
	p, vals := attention(2)
	defer cFree(p)
	b := newTestBatch(2, "spatial", "f", spatialMeta, clipSize, p, true)
	defer b.free()
	out := newCOutput()
	defer out.free()
	a, done := testArgs(b, optsLast, out)
	defer done()

	cfg, err := staa.ParseConfig([]byte(optsLast))
	if err != nil {
		t.Fatal(err)
	}
	in, err := importBatch(a)
	if err != nil {
		t.Fatal(err)
	}
	if in.rec != nil {
		t.Fatal("importBatch imported a flat batch through arrow-go")
	}
	clips, err := arrowio.ReadClipColumns(in.cols, in.rows, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for r, c := range clips {
		want := unsafe.Add(p, r*clipSize*4)
		if got := unsafe.Pointer(&c.Spatial.F32[0]); got != want {
			t.Errorf("clip %d: tensor at %p, want the C buffer at %p (a copy was made)", r, got, want)
		}
		if c.Spatial.F32[9] != vals[r*clipSize+9] {
			t.Errorf("clip %d: value %v, want %v", r, c.Spatial.F32[9], vals[r*clipSize+9])
		}
	}
	// importFlat reads the batch in place: the caller's structs stay live
	// until the call's end (a.consume), and are then released once.
	if ta, ts, _, _ := b.counts(); ta != 0 || ts != 0 {
		t.Errorf("while the clips live: array released %d times, schema %d (want 0, 0)", ta, ts)
	}
	in.release()
	a.consume()
	wantConsumed(t, "after consume", b, 3)
	a.consume() // no second release
	wantConsumed(t, "after a second consume", b, 3)
}

func TestAttribute(t *testing.T) {
	p, vals := attention(2)
	defer cFree(p)
	b := newTestBatch(2, "spatial", "f", spatialMeta, clipSize, p, true)
	defer b.free()
	out := newCOutput()
	defer out.free()
	opts := `{"frames":2,"grid":[2,3],"method":"last","postprocess":"raw","volume":true}`
	st, msg, guard := cCall("attribute", b, &opts, &out, 256)
	if st != statusOK || msg != "" || !guard {
		t.Fatalf("status %d, message %q, guard %v", st, msg, guard)
	}
	wantConsumed(t, "attribute", b, 3)

	rec, err := cdata.ImportCRecordBatch((*cdata.CArrowArray)(unsafe.Pointer(out.arr)), (*cdata.CArrowSchema)(unsafe.Pointer(out.sch)))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	md := rec.Schema().Metadata()
	for k, want := range map[string]string{"staa.method": "last", "staa.version": "0.1.0"} {
		if got, _ := md.GetValue(k); got != want {
			t.Errorf("schema metadata %s = %q, want %q", k, got, want)
		}
	}
	names := []string{}
	for _, f := range rec.Schema().Fields() {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "spatial,temporal,volume" || rec.NumRows() != 2 {
		t.Fatalf("columns %v, %d rows", names, rec.NumRows())
	}
	shape, _, err := arrowio.TensorShape(rec.Schema().Field(0))
	if err != nil || fmt.Sprint(shape) != "[2 2 3]" {
		t.Fatalf("spatial shape %v, %v", shape, err)
	}
	// method last, raw: the volume is the CLS row of each frame (L = H = 1).
	got := rec.Column(2).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	for r := 0; r < 2; r++ {
		for f := 0; f < 2; f++ {
			for n := 0; n < 6; n++ {
				want := vals[r*clipSize+f*49+1+n]
				if g := got[(r*2+f)*6+n]; math.Abs(float64(g-want)) > 1e-6 {
					t.Fatalf("clip %d frame %d patch %d: %v, want %v", r, f, n, g, want)
				}
			}
		}
	}
	temporal := rec.Column(1).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	if s := temporal[0] + temporal[1]; math.Abs(float64(s-1)) > 1e-6 {
		t.Errorf("temporal sums to %v", s)
	}
}

func TestStatusCodes(t *testing.T) {
	opts := ptr(`{"frames":2,"grid":[2,3],"method":"last"}`)
	cases := []struct {
		name      string
		rows      int
		col       string
		format    string
		meta      string
		size      int
		structTop bool
		opts      *string
		poison    bool // a NaN in the CLS row of clip 1
		status    int
		want      []string
	}{
		{"ok", 2, "spatial", "f", spatialMeta, clipSize, true, opts, false, statusOK, nil},
		{"unknown key", 2, "spatial", "f", spatialMeta, clipSize, true, ptr(`{"frames":2,"grid":[2,3],"bogus_key":1}`), false, statusInvalid, []string{"bogus_key"}},
		{"bad json", 2, "spatial", "f", spatialMeta, clipSize, true, ptr(`{"frames":2,`), false, statusInvalid, []string{"options"}},
		{"bad value", 2, "spatial", "f", spatialMeta, clipSize, true, ptr(`{"frames":2,"grid":[2,3],"layout":"sideways"}`), false, statusInvalid, []string{"sideways"}},
		{"NULL options", 2, "spatial", "f", spatialMeta, clipSize, true, nil, false, statusInvalid, []string{`"frames" is required`}},
		{"bad shape", 2, "spatial", "f", `{"shape":[2,1,1,7,7]}`, clipSize, true, opts, false, statusInvalid, []string{`column "spatial"`, "want [L 2 H 7 7]"}},
		{"shape vs size", 2, "spatial", "f", `{"shape":[1,2,1,7,8]}`, clipSize, true, opts, false, statusInvalid, []string{`column "spatial"`, "list size"}},
		{"wrong dtype", 2, "spatial", "g", spatialMeta, clipSize, true, opts, false, statusInvalid, []string{`column "spatial"`, "float64"}},
		{"NaN", 2, "spatial", "f", spatialMeta, clipSize, true, opts, true, statusInvalid, []string{"NaN"}},
		{"empty batch", 0, "spatial", "f", spatialMeta, clipSize, true, opts, false, statusInvalid, []string{"empty batch"}},
		{"unknown column", 2, "attn", "f", spatialMeta, clipSize, true, opts, false, statusInvalid, []string{`column "attn"`, "unknown column"}},
		{"not a record batch", 2, "spatial", "f", spatialMeta, clipSize, false, opts, false, statusInvalid, []string{"struct array"}},
		{"bad format", 2, "spatial", "?", spatialMeta, clipSize, true, opts, false, statusInvalid, []string{"cannot import"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, vals := attention(4) // room for float64 values too
			defer cFree(p)
			if tc.poison {
				vals[clipSize+3] = float32(math.NaN())
			}
			b := newTestBatch(tc.rows, tc.col, tc.format, tc.meta, tc.size, p, tc.structTop)
			defer b.free()
			out := newCOutput()
			defer out.free()
			st, msg, guard := cCall("attribute", b, tc.opts, &out, 512)
			if st != tc.status {
				t.Errorf("status %d, want %d (%s)", st, tc.status, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if st != statusOK && (!strings.HasPrefix(msg, "staa: ") || !out.released()) {
				t.Errorf("message %q (want \"staa: ...\"), outputs released %v", msg, out.released())
			}
			if st == statusOK && (msg != "" || out.released()) {
				t.Errorf("success: message %q, output missing %v", msg, out.released())
			}
			if !guard {
				t.Error("wrote past err_len")
			}
			structs := 3
			if !tc.structTop {
				structs = 2
			}
			wantConsumed(t, tc.name, b, structs)
		})
	}
}

func TestNullArguments(t *testing.T) {
	opts := `{"frames":2,"grid":[2,3]}`
	run := func(t *testing.T, mutate func(*args), want string) *testBatch {
		p, _ := attention(1)
		t.Cleanup(func() { cFree(p) })
		b := newTestBatch(1, "spatial", "f", spatialMeta, clipSize, p, true)
		t.Cleanup(b.free)
		out := newCOutput()
		t.Cleanup(out.free)
		a, done := testArgs(b, opts, out)
		t.Cleanup(done)
		mutate(&a)
		st, msg := callGuarded(256, func() error { return attribute(a, staa.AttributeBatchTo) })
		if st != statusInvalid || !strings.Contains(msg, want) {
			t.Errorf("status %d message %q, want %d and %q", st, msg, statusInvalid, want)
		}
		return b
	}
	t.Run("in", func(t *testing.T) {
		b := run(t, func(a *args) { a.in = nil }, "in (the input ArrowArray) is NULL")
		if ta, ts, _, _ := b.counts(); ta != 0 || ts != 1 {
			t.Errorf("in_schema released %d times (want 1), in %d (want 0: the library never had it)", ts, ta)
		}
	})
	t.Run("in_schema", func(t *testing.T) {
		b := run(t, func(a *args) { a.inSchema = nil }, "in_schema")
		if ta, ts, _, _ := b.counts(); ta != 1 || ts != 0 {
			t.Errorf("in released %d times (want 1), in_schema %d (want 0)", ta, ts)
		}
	})
	t.Run("out", func(t *testing.T) {
		b := run(t, func(a *args) { a.out = nil }, "out (the output ArrowArray) is NULL")
		wantConsumed(t, "NULL out", b, 3)
	})
	t.Run("out_schema", func(t *testing.T) {
		b := run(t, func(a *args) { a.outSchema = nil }, "out_schema")
		wantConsumed(t, "NULL out_schema", b, 3)
	})
	t.Run("aliased", func(t *testing.T) {
		b := run(t, func(a *args) { a.out = a.in }, "same struct")
		wantConsumed(t, "aliased", b, 3)
	})
	t.Run("all", func(t *testing.T) {
		st, msg, _ := cCall("attribute", nil, nil, nil, 64)
		if st != statusInvalid || msg == "" {
			t.Errorf("status %d message %q", st, msg)
		}
	})
	t.Run("err NULL", func(t *testing.T) {
		p, _ := attention(1)
		defer cFree(p)
		b := newTestBatch(1, "spatial", "f", spatialMeta, clipSize, p, true)
		defer b.free()
		out := newCOutput()
		defer out.free()
		st, _, guard := cCall("attribute", b, ptr("{"), &out, 0)
		if st != statusInvalid || !guard {
			t.Errorf("status %d, guard %v", st, guard)
		}
		wantConsumed(t, "err NULL", b, 3)
	})
}

func TestErrTruncation(t *testing.T) {
	msg := "staa: column \"spatial\": bad"
	for _, n := range []int{0, 1, 2, 6, len(msg), len(msg) + 1, 200} {
		for impl, write := range map[string]func(int, string) []byte{"go": writeErrTo, "c": cWriteErr} {
			buf := write(n, msg)
			if n == 0 {
				if !bytes.Equal(buf, bytes.Repeat([]byte{'#'}, len(buf))) {
					t.Errorf("%s: err_len 0 wrote %q", impl, buf)
				}
				continue
			}
			want := msg
			if len(want) > n-1 {
				want = want[:n-1]
			}
			got, rest, ok := bytes.Cut(buf, []byte{0})
			if !ok || string(got) != want || len(got) > n-1 {
				t.Errorf("%s: err_len %d: %q, want %q", impl, n, got, want)
			}
			if !bytes.Equal(buf[n:], bytes.Repeat([]byte{'#'}, len(buf)-n)) {
				t.Errorf("%s: err_len %d: wrote past the buffer: %q", impl, n, rest)
			}
		}
	}
	// never cut a UTF-8 sequence: "é" is 2 bytes at [6, 8)
	for _, impl := range []func(int, string) []byte{writeErrTo, cWriteErr} {
		buf := impl(8, "staa: é!")
		if got, _, _ := bytes.Cut(buf, []byte{0}); string(got) != "staa: " {
			t.Errorf("UTF-8 truncation: %q, want %q", got, "staa: ")
		}
	}
	if got := message(fmt.Errorf("clip 1: %w", errors.New("staa: bad"))); got != "staa: clip 1: bad" {
		t.Errorf("message() = %q", got)
	}
}

func TestPanicRecovery(t *testing.T) {
	st, msg := callGuarded(512, func() error { panic("boom") })
	if st != statusInternal || !strings.Contains(msg, "recovered panic: boom") || !strings.Contains(msg, "capi_test.go") {
		t.Errorf("panic: status %d message %q", st, msg)
	}
	st, msg = callGuarded(512, func() error {
		var m map[string]int
		m["x"] = 1
		return nil
	})
	if st != statusInternal || !strings.Contains(msg, "nil map") {
		t.Errorf("runtime error: status %d message %q", st, msg)
	}
	st, msg = callGuarded(512, func() error { panic("mallocator: out of memory") })
	if st != statusNoMem || !strings.Contains(msg, "out of memory") {
		t.Errorf("allocation failure: status %d message %q", st, msg)
	}
	st, msg = callGuarded(8, func() error { panic(strings.Repeat("x", 1000)) })
	if st != statusInternal || msg != "staa: i" {
		t.Errorf("truncated panic message: status %d message %q", st, msg)
	}

	// A panic deep in a call still releases the input exactly once and
	// leaves the outputs released.
	p, _ := attention(2)
	defer cFree(p)
	for _, entry := range []string{"attribute", "postprocess"} {
		col, meta, size := "spatial", spatialMeta, clipSize
		if entry == "postprocess" {
			col, meta, size = "volume", `{"shape":[2,7,7]}`, clipSize
		}
		b := newTestBatch(2, col, "f", meta, size, p, true)
		out := newCOutput()
		a, done := testArgs(b, `{"frames":2,"grid":[2,3]}`, out)
		if entry == "postprocess" {
			done()
			a, done = testArgs(b, `{"postprocess":"raw"}`, out)
		}
		st, msg := callGuarded(512, func() error {
			if entry == "attribute" {
				return attribute(a, func([]float32, staa.Geometry, []staa.Clip, staa.Options) ([]staa.Attribution, error) {
					var s []int
					_ = s[len(msg)+3] // index out of range
					return nil, nil
				})
			}
			return postprocess(a, func(staa.Volume, staa.Post) (staa.Volume, []float32, error) {
				panic(errors.New("engine exploded"))
			})
		})
		if st != statusInternal || !strings.Contains(msg, "recovered panic") {
			t.Errorf("%s: status %d message %q", entry, st, msg)
		}
		if !out.released() {
			t.Errorf("%s: output not left released", entry)
		}
		wantConsumed(t, entry+" panic", b, 3)
		done()
		out.free()
		b.free()
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, statusOK},
		{engineStatus(fmt.Errorf("staa: onnx: %w", errors.ErrUnsupported)), statusUnsupported},
		{engineStatus(errors.New("staa: not implemented")), statusUnsupported},
		{engineStatus(errors.New("staa: spatial attention has shape [1]")), statusInvalid},
		{withStatus(statusRuntime, errors.New("staa: model failed")), statusRuntime},
		{fmt.Errorf("import: %w", arrow.ErrInvalid), statusInvalid},
		{fmt.Errorf("import: %w", arrow.ErrNotImplemented), statusUnsupported},
		{errors.New("unclassified"), statusInternal},
		{withStatus(statusRuntime, withStatus(statusInvalid, errors.New("x"))), statusInvalid},
	}
	for _, tc := range cases {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	// An engine error through a whole call.
	p, _ := attention(1)
	defer cFree(p)
	b := newTestBatch(1, "spatial", "f", spatialMeta, clipSize, p, true)
	defer b.free()
	out := newCOutput()
	defer out.free()
	a, done := testArgs(b, `{"frames":2,"grid":[2,3]}`, out)
	defer done()
	st, msg := callGuarded(256, func() error {
		return attribute(a, func([]float32, staa.Geometry, []staa.Clip, staa.Options) ([]staa.Attribution, error) {
			return nil, fmt.Errorf("staa: sessions: %w", errors.ErrUnsupported)
		})
	})
	if st != statusUnsupported || !strings.Contains(msg, "sessions") {
		t.Errorf("status %d message %q", st, msg)
	}
	wantConsumed(t, "engine error", b, 3)
}

func TestPostprocessEntry(t *testing.T) {
	p, vals := cFloats(2 * 12)
	defer cFree(p)
	for i := range vals {
		vals[i] = float32(i % 5)
	}
	meta := `{"shape":[2,2,3]}`
	b := newTestBatch(2, "volume", "f", meta, 12, p, true)
	defer b.free()
	out := newCOutput()
	defer out.free()
	st, msg, _ := cCall("postprocess", b, ptr(`{"postprocess":"raw"}`), &out, 256)
	if st != statusOK {
		t.Fatalf("status %d: %s", st, msg)
	}
	wantConsumed(t, "postprocess", b, 3)
	rec, err := cdata.ImportCRecordBatch((*cdata.CArrowArray)(unsafe.Pointer(out.arr)), (*cdata.CArrowSchema)(unsafe.Pointer(out.sch)))
	if err != nil {
		t.Fatal(err)
	}
	sp := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
	for i := range vals {
		if sp[i] != vals[i] {
			t.Fatalf("raw post-processing changed value %d: %v, want %v", i, sp[i], vals[i])
		}
	}
	rec.Release()

	for _, tc := range []struct{ opts, want string }{
		{`{"postprocess":"raw","frames":2}`, `unknown field "frames"`},
		{`{"postprocess":"sharp"}`, `"sharp"`},
		{`{"postprocess":{"gamma":-1}}`, "gamma"},
		{`{} {}`, "after the JSON value"},
	} {
		b := newTestBatch(2, "volume", "f", meta, 12, p, true)
		out := newCOutput()
		st, msg, _ := cCall("postprocess", b, &tc.opts, &out, 256)
		if st != statusInvalid || !strings.Contains(msg, tc.want) {
			t.Errorf("options %s: status %d message %q, want %q", tc.opts, st, msg, tc.want)
		}
		wantConsumed(t, tc.opts, b, 3)
		out.free()
		b.free()
	}
}

// Concurrent calls share nothing: identical inputs give identical outputs
// (run with -race to check for data races).
func TestConcurrentCalls(t *testing.T) {
	const workers = 8
	p, _ := attention(2)
	defer cFree(p)
	results := make([][]float32, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			b := newTestBatch(2, "spatial", "f", spatialMeta, clipSize, p, true)
			defer b.free()
			out := newCOutput()
			defer out.free()
			st, msg, _ := cCall("attribute", b, ptr(`{"frames":2,"grid":[2,3],"workers":2}`), &out, 256)
			if st != statusOK {
				t.Errorf("worker %d: status %d: %s", w, st, msg)
				return
			}
			rec, err := cdata.ImportCRecordBatch((*cdata.CArrowArray)(unsafe.Pointer(out.arr)), (*cdata.CArrowSchema)(unsafe.Pointer(out.sch)))
			if err != nil {
				t.Error(err)
				return
			}
			defer rec.Release()
			results[w] = append([]float32(nil), rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()...)
		}(w)
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		if fmt.Sprint(results[w]) != fmt.Sprint(results[0]) {
			t.Errorf("worker %d: result differs from worker 0's", w)
		}
	}
}

// null_count -1 (unknown) with no validity bitmap breaks the C Data
// Interface (the bitmap may be NULL only when null_count is 0): a clean
// STAA_EINVAL, the input released.
func TestUnknownNullCount(t *testing.T) {
	p, _ := attention(2)
	defer cFree(p)
	b := newTestBatch(2, "spatial", "f", spatialMeta, clipSize, p, true)
	defer b.free()
	b.setNullCountUnknown()
	out := newCOutput()
	defer out.free()
	if st, msg, _ := cCall("attribute", b, ptr(optsLast), &out, 256); st != statusInvalid || !strings.Contains(msg, "import") {
		t.Errorf("status %d: %s", st, msg)
	}
	wantConsumed(t, "unknown null count", b, 3)
}

func TestNotForked(t *testing.T) {
	if cForked() {
		t.Error("capi_forked() is true in the process that loaded the library")
	}
}

// The options, column names and field metadata that staa_attribute
// remembers are keyed by their text, not by where it lies: calls that reuse
// the same C memory (freed and allocated again, as a caller's loop does)
// with texts of the same length that differ get their own answers, good or
// bad, in any order.
func TestRememberedTextsAreKeyedByContent(t *testing.T) {
	p, _ := attention(1)
	defer cFree(p)
	cases := []struct {
		name, meta, opts string
		want             string // "" for success, else part of the message
	}{
		{"spatial", spatialMeta, optsLast, ""},
		{"spatiax", spatialMeta, optsLast, `column "spatiax": unknown column`},
		{"spatial", `{"shape":[1,2,1,7,7]}`, optsLast, ""},
		{"spatial", `{"shape":[1,1,2,7,7]}`, optsLast, `column "spatial": shape [1 1 2 7 7]`},
		{"spatial", spatialMeta, `{"frames":2,"grid":[2,3],"method":"lost","postprocess":"raw"}`, `"lost"`},
		{"spatial", spatialMeta, `{"frames":2,"grid":[2,2],"method":"last","postprocess":"raw"}`, `does not match`},
	}
	for round := range 3 {
		for i, tc := range cases {
			b := newTestBatch(1, tc.name, "f", tc.meta, clipSize, p, true)
			out := newCOutput()
			opts := tc.opts
			st, msg, _ := cCall("attribute", b, &opts, &out, 512)
			if tc.want == "" && st != statusOK || tc.want != "" && (st != statusInvalid || !strings.Contains(msg, tc.want)) {
				t.Errorf("round %d, case %d: status %d, message %q; want %q", round, i, st, msg, tc.want)
			}
			out.free()
			b.free()
		}
	}
}
