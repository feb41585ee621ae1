package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
)

// The session tests run on the fixture of package runtime
// (runtime/testdata, see its README): a tiny random TimeSformer (4 frames of
// 32×32, grid [4, 4], 2 layers, 2 heads, 5 classes) with PyTorch's outputs
// for two clips.

const fixtureDir = "../runtime/testdata"

var (
	tinyModel   = filepath.Join(fixtureDir, "tiny.onnx")
	noAttnModel = filepath.Join(fixtureDir, "tiny_noattn.onnx")
	noMetaModel = filepath.Join(fixtureDir, "tiny_nometa.onnx")
	sessionOpts = `{"intra_op_threads":1,"inter_op_threads":1}`
)

const (
	fxFrames, fxSize, fxClasses = 4, 32, 5
	fxClipLen                   = fxFrames * fxSize * fxSize * 3
	tol                         = 1e-4
)

var fxClassNames = []string{"up", "down", "left", "right", "still"}

func readFixtureFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

func readFixtureF32(t *testing.T, name string) []float32 {
	b := readFixtureFile(t, name)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// requireORT skips the test without the ONNX Runtime library (fails it in CI).
func requireORT(t *testing.T) {
	t.Helper()
	if _, err := runtime.LoadLibrary(""); err != nil {
		if inCI() {
			t.Fatalf("CI is set and the ONNX Runtime library is missing: %v", err)
		}
		t.Skipf("ONNX Runtime library not installed, skipping (make onnxruntime): %v", err)
	}
}

// openTiny opens the fixture model and closes it at the end of the test.
func openTiny(t *testing.T) uintptr {
	t.Helper()
	requireORT(t)
	h, st, msg := cSessionOpen(&tinyModel, &sessionOpts, false, 512)
	if st != statusOK || h == 0 || msg != "" {
		t.Fatalf("open: status %d handle %d message %q", st, h, msg)
	}
	t.Cleanup(func() { cSessionClose(h) })
	return h
}

// cClipBatch is a batch of one column of rows tensors (shape, C format) over
// a copy of data in C memory.
type cClipBatch struct {
	*testBatch
	mem unsafe.Pointer
}

func newClipBatch(t *testing.T, col, format string, shape []int, rows int, data []byte) cClipBatch {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	p, buf := cBytes(len(data))
	copy(buf, data)
	meta, _ := json.Marshal(map[string]any{"shape": shape})
	b := newTestBatch(rows, col, format, string(meta), n, p, true)
	c := cClipBatch{b, p}
	t.Cleanup(func() { c.free(); cFree(c.mem) })
	return c
}

func f32Bytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// explainOK explains in and returns the output record (released at cleanup).
func explainOK(t *testing.T, h uintptr, in cClipBatch, options string) arrow.RecordBatch {
	t.Helper()
	out := newCOutput()
	t.Cleanup(out.free)
	st, msg, guard := cSessionExplain(h, in.testBatch, &options, &out, 512)
	if st != statusOK || msg != "" || !guard {
		t.Fatalf("explain %s: status %d message %q guard %v", options, st, msg, guard)
	}
	wantConsumed(t, "explain", in.testBatch, 3)
	rec, err := importOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

// column returns the values of an output column and its per-row shape.
func column[T float32 | int32](t *testing.T, rec arrow.RecordBatch, name string) ([]T, []int) {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %v", name, rec.Schema())
	}
	f := rec.Schema().Field(idx[0])
	var shape []int
	raw, _ := f.Metadata.GetValue("ARROW:extension:metadata")
	var m struct{ Shape []int }
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("column %q: metadata %q: %v", name, raw, err)
	}
	shape = m.Shape
	if en, _ := f.Metadata.GetValue("ARROW:extension:name"); en != "arrow.fixed_shape_tensor" {
		t.Errorf("column %q: extension %q", name, en)
	}
	vals := rec.Column(idx[0]).(*array.FixedSizeList).ListValues()
	switch v := vals.(type) {
	case *array.Float32:
		return any(v.Float32Values()).([]T), shape
	case *array.Int32:
		return any(v.Int32Values()).([]T), shape
	}
	t.Fatalf("column %q: values %s", name, vals.DataType())
	return nil, nil
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m || d != d {
			m = d
		}
	}
	return m
}

func TestSessionExplain(t *testing.T) {
	h := openTiny(t)
	clips := readFixtureFile(t, "clips.u8")
	in := newClipBatch(t, "clip", "C", []int{fxFrames, fxSize, fxSize, 3}, 2, clips)
	rec := explainOK(t, h, in, `{"method":"rollout","postprocess":"raw","top_k":3,"volume":true}`)

	names := []string{}
	for _, f := range rec.Schema().Fields() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "spatial,temporal,volume,logits,probabilities,top_k" || rec.NumRows() != 2 {
		t.Fatalf("columns %s, %d rows", got, rec.NumRows())
	}
	md := rec.Schema().Metadata()
	for k, want := range map[string]string{
		"staa.method":             "rollout",
		"staa.version":            "0.1.0",
		"staa.temporal_attention": "true",
		"staa.class_names":        `["up","down","left","right","still"]`,
		"staa.geometry":           `{"layout":"divided","frames":4,"grid":[4,4],"cls":true,"tubelet":1}`,
		"staa.frame_size":         "[32,32]",
		"staa.layers":             "2",
		"staa.heads":              "2",
	} {
		if got, _ := md.GetValue(k); got != want {
			t.Errorf("metadata %s = %q, want %q", k, got, want)
		}
	}

	logits, ls := column[float32](t, rec, "logits")
	probs, ps := column[float32](t, rec, "probabilities")
	top, ks := column[int32](t, rec, "top_k")
	spatial, ss := column[float32](t, rec, "spatial")
	temporal, ts := column[float32](t, rec, "temporal")
	volume, _ := column[float32](t, rec, "volume")
	if fmt.Sprint(ls, ps, ks, ss, ts) != "[5] [5] [3] [4 4 4] [4]" {
		t.Fatalf("shapes logits %v probabilities %v top_k %v spatial %v temporal %v", ls, ps, ks, ss, ts)
	}
	want := readFixtureF32(t, "logits.f32")
	if d := maxDiff(logits, want); d > tol {
		t.Errorf("logits: max |session − PyTorch| = %g > %g\n got %v\nwant %v", d, tol, logits, want)
	}
	for b := 0; b < 2; b++ {
		p := probs[b*5 : b*5+5]
		sum := 0.0
		for _, v := range p {
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("clip %d: probabilities sum to %v", b, sum)
		}
		k := top[b*3 : b*3+3]
		for j := 1; j < 3; j++ {
			if p[k[j]] > p[k[j-1]] {
				t.Errorf("clip %d: top_k %v not by decreasing probability %v", b, k, p)
			}
		}
		for c := range p {
			if p[c] > p[k[0]] {
				t.Errorf("clip %d: class %d is more probable than top_k[0] = %d", b, c, k[0])
			}
		}
		tsum := 0.0
		for _, v := range temporal[b*4 : b*4+4] {
			tsum += float64(v)
		}
		if math.Abs(tsum-1) > 1e-5 {
			t.Errorf("clip %d: temporal sums to %v", b, tsum)
		}
	}

	// The attribution is the engine's on PyTorch's attention.
	g := staa.Geometry{Layout: staa.Divided, Frames: 4, Height: 4, Width: 4, CLS: true, Tubelet: 1}
	sa, ta := readFixtureF32(t, "spatial_attention.f32"), readFixtureF32(t, "temporal_attention.f32")
	ns, nt := len(sa)/2, len(ta)/2
	ref := make([]staa.Clip, 2)
	for b := range ref {
		ref[b] = staa.Clip{
			Spatial:  staa.Tensor{Shape: []int{2, 4, 2, 17, 17}, F32: sa[b*ns : (b+1)*ns]},
			Temporal: staa.Tensor{Shape: []int{2, 16, 2, 4, 4}, F32: ta[b*nt : (b+1)*nt]},
		}
	}
	o := staa.DefaultOptions()
	o.Post = staa.Post{}
	res, err := staa.AttributeBatch(g, ref, o)
	if err != nil {
		t.Fatal(err)
	}
	for b, r := range res {
		if d := maxDiff(spatial[b*64:(b+1)*64], r.Spatial.Data); d > tol {
			t.Errorf("clip %d: spatial differs from the engine on PyTorch's attention by %g", b, d)
		}
		if d := maxDiff(volume[b*64:(b+1)*64], r.Volume.Data); d > tol {
			t.Errorf("clip %d: volume differs from the engine on PyTorch's attention by %g", b, d)
		}
		if d := maxDiff(temporal[b*4:(b+1)*4], r.Temporal); d > tol {
			t.Errorf("clip %d: temporal differs from the engine on PyTorch's attention by %g", b, d)
		}
	}

	// The same clips, preprocessed by PyTorch: the same logits.
	pix := readFixtureF32(t, "pixel_values.f32")
	pin := newClipBatch(t, "pixel_values", "f", []int{fxFrames, 3, fxSize, fxSize}, 2, f32Bytes(pix))
	prec := explainOK(t, h, pin, `{"top_k":9}`)
	plogits, _ := column[float32](t, prec, "logits")
	if d := maxDiff(plogits, want); d > tol {
		t.Errorf("pixel_values: logits differ from PyTorch's by %g", d)
	}
	if _, ks := column[int32](t, prec, "top_k"); fmt.Sprint(ks) != "[5]" {
		t.Errorf("top_k 9 of 5 classes: shape %v, want [5]", ks)
	}
	if m, _ := prec.Schema().Metadata().GetValue("staa.method"); m != "rollout" {
		t.Errorf("default method %q", m)
	}
}

// Clips of another frame size are resized: the same logits as the fixture's
// torch-resized pixel values.
func TestSessionResize(t *testing.T) {
	h := openTiny(t)
	u8 := readFixtureFile(t, "resize_a.u8") // [4, 45, 70, 3]
	f32 := readFixtureF32(t, "resize_a.f32")
	a := explainOK(t, h, newClipBatch(t, "clip", "C", []int{4, 45, 70, 3}, 1, u8), `{"method":"last"}`)
	b := explainOK(t, h, newClipBatch(t, "pixel_values", "f", []int{4, 3, 32, 32}, 1, f32Bytes(f32)), `{"method":"last"}`)
	la, _ := column[float32](t, a, "logits")
	lb, _ := column[float32](t, b, "logits")
	if d := maxDiff(la, lb); d > tol {
		t.Errorf("resized clip: logits %v, from torch's resize %v (max diff %g)", la, lb, d)
	}
	if _, ss := column[float32](t, a, "spatial"); fmt.Sprint(ss) != "[4 4 4]" {
		t.Errorf("spatial shape %v", ss)
	}
}

func TestSessionInfo(t *testing.T) {
	h := openTiny(t)
	n, _ := cSessionInfo(h, 0)
	if n < 100 {
		t.Fatalf("info length %d", n)
	}
	if m, s := cSessionInfo(h, n); m != n || s != "" {
		t.Errorf("a buffer one byte short: %d %q (want %d and an empty string)", m, s, n)
	}
	m, s := cSessionInfo(h, n+1)
	if m != n || len(s) != n {
		t.Fatalf("info %d bytes %q, want %d", m, s, n)
	}
	var doc struct {
		Model     string
		Geometry  map[string]any
		Layers    int
		Heads     int
		FrameSize []int `json:"frame_size"`
		Classes   []string
		ORT       struct{ Path, Version string } `json:"onnxruntime"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("info %q: %v", s, err)
	}
	if doc.Model != tinyModel || doc.Layers != 2 || doc.Heads != 2 || fmt.Sprint(doc.FrameSize) != "[32 32]" ||
		!reflect.DeepEqual(doc.Classes, fxClassNames) || doc.ORT.Version == "" || doc.ORT.Path == "" {
		t.Errorf("info %s", s)
	}
	if fmt.Sprint(doc.Geometry) != "map[cls:true frames:4 grid:[4 4] layout:divided tubelet:1]" {
		t.Errorf("geometry %v", doc.Geometry)
	}
	if n, s := cSessionInfo(h+1000, 64); n != 0 || s != "" {
		t.Errorf("info of a bad handle: %d %q", n, s)
	}
}

func TestSessionOptions(t *testing.T) {
	h := openTiny(t)
	clips := readFixtureFile(t, "clips.u8")
	cases := []struct {
		opts string
		want string
	}{
		{`{"bogus":1}`, `"bogus"`},
		{`{"method":"grad"}`, "gradients"},
		{`{"method":"magic"}`, "magic"},
		{`{"top_k":0}`, "top_k"},
		{`{"top_k":"3"}`, "top_k"},
		{`{"frames":8}`, `"frames":4`},
		{`{"grid":[2,2],"cls":false}`, "grid, cls given"},
		{`{"layout":"joint"}`, "geometry"},
		{`{"postprocess":"sharp"}`, "sharp"},
		{`[1]`, "options"},
		{`{"method":"last"} x`, "after the JSON value"},
	}
	for _, tc := range cases {
		in := newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
		out := newCOutput()
		st, msg, _ := cSessionExplain(h, in.testBatch, &tc.opts, &out, 512)
		if st != statusInvalid || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "staa: ") {
			t.Errorf("options %s: status %d message %q, want %d and %q", tc.opts, st, msg, statusInvalid, tc.want)
		}
		if !out.released() {
			t.Errorf("options %s: output not left released", tc.opts)
		}
		wantConsumed(t, tc.opts, in.testBatch, 3)
		out.free()
	}
	// The model's own geometry may be given; NULL and "" are no options.
	for _, o := range []*string{ptr(`{"frames":4,"grid":[4,4],"cls":true,"tubelet":1,"layout":"divided","head_fusion":"max","residual":0.3,"workers":1}`), ptr(""), nil} {
		in := newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
		out := newCOutput()
		if st, msg, _ := cSessionExplain(h, in.testBatch, o, &out, 512); st != statusOK {
			t.Errorf("options %v: status %d %s", o, st, msg)
		}
		out.free()
	}
}

func TestSessionInputErrors(t *testing.T) {
	h := openTiny(t)
	clips := readFixtureFile(t, "clips.u8")
	cases := []struct {
		name, col, format string
		shape             []int
		rows              int
		want              []string
	}{
		{"unknown column", "video", "C", []int{4, 32, 32, 3}, 1, []string{`"video"`, "unknown column"}},
		{"float clip", "clip", "f", []int{4, 16, 32, 3}, 1, []string{`"clip"`, "uint8"}},
		{"frames", "clip", "C", []int{2, 32, 64, 3}, 1, []string{"2 frames", "takes 4"}},
		{"channels", "clip", "C", []int{4, 32, 24, 4}, 1, []string{"[F, H, W, 3]"}},
		{"rank", "clip", "C", []int{4, 32, 96}, 1, []string{"[F, H, W, 3]"}},
		{"pixel shape", "pixel_values", "f", []int{4, 3, 16, 16}, 1, []string{`"pixel_values"`, "[4 3 32 32]"}},
		{"pixel dtype", "pixel_values", "C", []int{4, 32, 32, 3}, 1, []string{"float"}},
		{"empty", "clip", "C", []int{4, 32, 32, 3}, 0, []string{"empty batch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newClipBatch(t, tc.col, tc.format, tc.shape, tc.rows, clips[:fxClipLen])
			out := newCOutput()
			defer out.free()
			st, msg, guard := cSessionExplain(h, in.testBatch, nil, &out, 512)
			if st != statusInvalid {
				t.Errorf("status %d, want %d (%s)", st, statusInvalid, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if !out.released() || !guard {
				t.Errorf("outputs released %v, err guard %v", out.released(), guard)
			}
			wantConsumed(t, tc.name, in.testBatch, 3)
		})
	}

	// NULL arguments: what was passed is released.
	in := newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
	if st, msg, _ := cSessionExplain(h, in.testBatch, nil, nil, 256); st != statusInvalid || !strings.Contains(msg, "out (the output ArrowArray) is NULL") {
		t.Errorf("NULL out: %d %q", st, msg)
	}
	wantConsumed(t, "NULL out", in.testBatch, 3)
	out := newCOutput()
	defer out.free()
	if st, msg, _ := cSessionExplain(h, nil, nil, &out, 256); st != statusInvalid || !strings.Contains(msg, "clips (the input ArrowArray) is NULL") {
		t.Errorf("NULL clips: %d %q", st, msg)
	}
	// A handle that is no session.
	in = newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
	if st, msg, _ := cSessionExplain(h+1000, in.testBatch, nil, &out, 256); st != statusInvalid || !strings.Contains(msg, "not open") {
		t.Errorf("bad handle: %d %q", st, msg)
	}
	wantConsumed(t, "bad handle", in.testBatch, 3)
	in = newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
	if st, msg, _ := cSessionExplain(0, in.testBatch, nil, &out, 256); st != statusInvalid || !strings.Contains(msg, "not open") {
		t.Errorf("NULL session: %d %q", st, msg)
	}
	wantConsumed(t, "NULL session", in.testBatch, 3)
}

func TestSessionOpenErrors(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.onnx")
	junk := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(corrupt, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.onnx")
	empty := ""
	cases := []struct {
		name   string
		path   *string
		opts   *string
		noOut  bool
		status int
		want   []string
	}{
		{"missing", &missing, nil, false, statusRuntime, []string{"not found", "missing.onnx"}},
		{"corrupt", &corrupt, nil, false, statusRuntime, []string{"corrupt.onnx"}},
		{"directory", &dir, nil, false, statusRuntime, []string{dir}},
		{"no attention", &noAttnModel, nil, false, statusRuntime, []string{"no attention outputs", "tiny_noattn.onnx"}},
		{"no metadata", &noMetaModel, nil, false, statusRuntime, []string{"no staa metadata"}},
		{"no library", &tinyModel, ptr(`{"library":"` + filepath.Join(dir, "libonnxruntime.so") + `"}`), false, statusRuntime, []string{"ONNX Runtime library unavailable", "no such file"}},
		{"unknown key", &tinyModel, ptr(`{"threads":2}`), false, statusInvalid, []string{`"threads"`, "intra_op_threads"}},
		{"negative threads", &tinyModel, ptr(`{"intra_op_threads":-1}`), false, statusInvalid, []string{"intra_op_threads", ">= 0"}},
		{"bad json", &tinyModel, ptr(`{"intra_op_threads":`), false, statusInvalid, []string{"session options"}},
		{"empty library", &tinyModel, ptr(`{"library":""}`), false, statusInvalid, []string{"library"}},
		{"NULL path", nil, nil, false, statusInvalid, []string{"model_path is NULL"}},
		{"empty path", &empty, nil, false, statusInvalid, []string{"model_path is empty"}},
		{"NULL out", &tinyModel, nil, true, statusInvalid, []string{"out"}},
	}
	before := openSessions()
	for _, tc := range cases {
		h, st, msg := cSessionOpen(tc.path, tc.opts, tc.noOut, 1024)
		if st != tc.status || (h != 0 && !tc.noOut) {
			t.Errorf("%s: status %d handle %d, want %d and 0 (%s)", tc.name, st, h, tc.status, msg)
		}
		if !strings.HasPrefix(msg, "staa: ") {
			t.Errorf("%s: message %q does not start with \"staa: \"", tc.name, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q does not contain %q", tc.name, msg, w)
			}
		}
	}
	if n := openSessions(); n != before {
		t.Errorf("%d sessions registered by failed opens", n-before)
	}
	// A short err buffer: truncated, NUL-terminated.
	if _, st, msg := cSessionOpen(&missing, nil, false, 10); st != statusRuntime || msg != "staa: mod" {
		t.Errorf("err_len 10: %d %q", st, msg)
	}
}

func TestSessionClose(t *testing.T) {
	requireORT(t)
	before := openSessions()
	h, st, msg := cSessionOpen(&tinyModel, &sessionOpts, false, 256)
	if st != statusOK {
		t.Fatalf("open: %d %s", st, msg)
	}
	h2, st, _ := cSessionOpen(&tinyModel, nil, false, 256)
	if st != statusOK || h2 == h {
		t.Fatalf("second open: %d, handle %d (first %d)", st, h2, h)
	}
	if openSessions() != before+2 {
		t.Errorf("%d sessions open, want %d", openSessions(), before+2)
	}
	cSessionClose(h)
	cSessionClose(h) // closing twice is harmless
	cSessionClose(0)
	if openSessions() != before+1 {
		t.Errorf("%d sessions open after close, want %d", openSessions(), before+1)
	}
	clips := readFixtureFile(t, "clips.u8")
	in := newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
	out := newCOutput()
	defer out.free()
	if st, msg, _ := cSessionExplain(h, in.testBatch, nil, &out, 256); st != statusInvalid || !strings.Contains(msg, "not open") {
		t.Errorf("explain after close: %d %q", st, msg)
	}
	wantConsumed(t, "closed", in.testBatch, 3)
	if n, _ := cSessionInfo(h, 0); n != 0 {
		t.Errorf("info after close: %d", n)
	}
	// The other session is unaffected.
	in = newClipBatch(t, "clip", "C", []int{4, 32, 32, 3}, 1, clips[:fxClipLen])
	explainOK(t, h2, in, `{"method":"last"}`)
	cSessionClose(h2)
	if openSessions() != before {
		t.Errorf("%d sessions open at the end, want %d", openSessions(), before)
	}
}

// Many goroutines explain with one session at once and get identical
// results (run with -race); a close in the middle of it makes the later
// calls fail cleanly.
func TestSessionConcurrent(t *testing.T) {
	h := openTiny(t)
	clips := readFixtureFile(t, "clips.u8")
	const workers, reps = 4, 3
	results := make([][]float32, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < reps; r++ {
				p, buf := cBytes(len(clips))
				copy(buf, clips)
				b := newTestBatch(2, "clip", "C", `{"shape":[4,32,32,3]}`, fxClipLen, p, true)
				out := newCOutput()
				st, msg, _ := cSessionExplain(h, b, ptr(`{"workers":1}`), &out, 256)
				if st != statusOK {
					t.Errorf("worker %d: %d %s", w, st, msg)
				} else if rec, err := importOutput(out); err != nil {
					t.Error(err)
				} else {
					vals := rec.Column(0).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
					lg := rec.Column(2).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
					got := append(append([]float32(nil), vals...), lg...)
					if results[w] == nil {
						results[w] = got
					} else if !reflect.DeepEqual(results[w], got) {
						t.Errorf("worker %d: repeated calls differ", w)
					}
					rec.Release()
				}
				out.free()
				b.free()
				cFree(p)
			}
		}(w)
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		if !reflect.DeepEqual(results[w], results[0]) {
			t.Errorf("worker %d: result differs from worker 0's", w)
		}
	}

	// Close while calls are running.
	h2, st, msg := cSessionOpen(&tinyModel, &sessionOpts, false, 256)
	if st != statusOK {
		t.Fatalf("open: %d %s", st, msg)
	}
	var ok, refused sync.Map
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for r := 0; r < 20; r++ {
				p, buf := cBytes(fxClipLen)
				copy(buf, clips)
				b := newTestBatch(1, "clip", "C", `{"shape":[4,32,32,3]}`, fxClipLen, p, true)
				out := newCOutput()
				st, msg, _ := cSessionExplain(h2, b, ptr(`{"method":"last","workers":1}`), &out, 256)
				switch {
				case st == statusOK:
					ok.Store(w*100+r, true)
				case st == statusInvalid && strings.Contains(msg, "not open"):
					refused.Store(w*100+r, true)
				default:
					t.Errorf("worker %d: %d %s", w, st, msg)
				}
				out.free()
				b.free()
				cFree(p)
			}
		}(w)
	}
	close(start)
	cSessionClose(h2)
	wg.Wait()
	n := 0
	refused.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Log("every call finished before the close")
	}
}
