package main

// #include "capi.h"
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// Sessions of the C ABI (staa_session_open / _explain / _info / _close).
//
// A staa_session* handed to C is not a pointer: it is an integer id of the
// registry below, cast to the opaque pointer type in entry.c (Go pointers
// never reach C). Ids count up from 1 and are never reused, so a closed or
// made-up handle is looked up, not found, and refused with STAA_EINVAL;
// closing twice does nothing the second time.
//
// The registry is the one piece of package-level mutable state of capi; it
// is guarded by its mutex. Each entry has a RWMutex of its own: explain holds
// it for reading during the call, close for writing, so close waits for the
// calls in flight and calls that come after it fail cleanly.

// Column names of staa_session_explain.
const (
	colClip          = "clip"
	colPixelValues   = "pixel_values"
	colLogits        = "logits"
	colProbabilities = "probabilities"
	colTopK          = "top_k"
)

// Schema metadata keys of staa_session_explain's output (besides arrowio's).
const (
	metaClassNames = "staa.class_names"
	metaGeometry   = "staa.geometry"
	metaFrameSize  = "staa.frame_size"
	metaLayers     = "staa.layers"
	metaHeads      = "staa.heads"
)

// defaultTopK is the top_k of staa_session_explain when not given.
const defaultTopK = 5

type sessionEntry struct {
	mu      sync.RWMutex
	s       *runtime.Session
	lib     runtime.LibraryInfo
	closed  bool
	infoDoc []byte // staa_session_info's JSON, made once at open
}

var sessions struct {
	mu   sync.Mutex
	last uintptr
	m    map[uintptr]*sessionEntry
}

func registerSession(e *sessionEntry) uintptr {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	if sessions.m == nil {
		sessions.m = map[uintptr]*sessionEntry{}
	}
	sessions.last++
	sessions.m[sessions.last] = e
	return sessions.last
}

func lookupSession(h uintptr) *sessionEntry {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	return sessions.m[h]
}

// unregisterSession removes h and returns its entry (nil if it is unknown).
func unregisterSession(h uintptr) *sessionEntry {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	e := sessions.m[h]
	delete(sessions.m, h)
	return e
}

// openSessions returns the number of open sessions (for the tests).
func openSessions() int {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	return len(sessions.m)
}

//export capi_session_open
func capi_session_open(path *C.cchar_t, options *C.cchar_t, out *C.uintptr_t, err *C.char, errLen C.size_t) C.int {
	if out != nil {
		*out = 0
	}
	return call(err, errLen, func() error {
		if out == nil {
			return invalidf("staa: out (where the session handle goes) is NULL")
		}
		if path == nil {
			return invalidf("staa: model_path is NULL")
		}
		h, err := sessionOpen(C.GoString((*C.char)(unsafe.Pointer(path))), cString(options))
		if err != nil {
			return err
		}
		*out = C.uintptr_t(h)
		return nil
	})
}

//export capi_session_explain
func capi_session_explain(h C.uintptr_t, clips *C.struct_ArrowArray, clipsSchema *C.struct_ArrowSchema, options *C.cchar_t,
	out *C.struct_ArrowArray, outSchema *C.struct_ArrowSchema, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		return sessionExplain(uintptr(h), args{in: clips, inSchema: clipsSchema, options: options, out: out, outSchema: outSchema, inName: "clips"}, memory.DefaultAllocator)
	})
}

//export capi_session_close
func capi_session_close(h C.uintptr_t) {
	// Nothing to report to: a panic (there should be none) is dropped.
	defer func() { _ = recover() }()
	sessionClose(uintptr(h))
}

//export capi_session_info
func capi_session_info(h C.uintptr_t, buf *C.char, bufLen C.size_t) (n C.size_t) {
	defer func() {
		if recover() != nil {
			n = 0
		}
	}()
	doc := sessionInfo(uintptr(h))
	if doc == nil {
		if buf != nil && bufLen > 0 {
			*buf = 0
		}
		return 0
	}
	if buf != nil && bufLen > 0 {
		dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(bufLen))
		if uint64(len(doc)) < uint64(bufLen) {
			copy(dst, doc)
			dst[len(doc)] = 0
		} else {
			dst[0] = 0 // never a truncated document
		}
	}
	return C.size_t(len(doc))
}

// cString returns a C string's bytes; NULL is nil.
func cString(s *C.cchar_t) []byte {
	if s == nil {
		return nil
	}
	return []byte(C.GoString((*C.char)(unsafe.Pointer(s))))
}

// sessionOptions are staa_session_open's options_json.
type sessionOptions struct {
	Library        *string `json:"library"`
	IntraOpThreads *int    `json:"intra_op_threads"`
	InterOpThreads *int    `json:"inter_op_threads"`
}

const sessionKeys = `"library", "intra_op_threads", "inter_op_threads"`

// strictJSON decodes data (nil or blank: nothing) into v, refusing unknown
// keys and trailing data.
func strictJSON(data []byte, v any, what string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("staa: %s: %w", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("staa: %s: unexpected data after the JSON value", what)
	}
	return nil
}

func parseSessionOptions(data []byte) (runtime.Options, error) {
	var so sessionOptions
	if err := strictJSON(data, &so, "session options"); err != nil {
		return runtime.Options{}, fmt.Errorf("%w (staa_session_open takes %s)", err, sessionKeys)
	}
	var o runtime.Options
	if so.Library != nil {
		if *so.Library == "" {
			return o, errors.New(`staa: session options: "library" is empty (leave it out to use $STAA_ONNXRUNTIME_LIB or the installed library)`)
		}
		o.LibraryPath = *so.Library
	}
	for _, t := range []struct {
		key string
		v   *int
		dst *int
	}{{"intra_op_threads", so.IntraOpThreads, &o.IntraOpThreads}, {"inter_op_threads", so.InterOpThreads, &o.InterOpThreads}} {
		if t.v == nil {
			continue
		}
		if *t.v < 0 {
			return o, fmt.Errorf("staa: session options: %q must be >= 0 (0: ONNX Runtime's default), got %d", t.key, *t.v)
		}
		*t.dst = *t.v
	}
	return o, nil
}

// sessionOpen opens the model at path and registers the session.
func sessionOpen(path string, options []byte) (uintptr, error) {
	if path == "" {
		return 0, invalidf("staa: model_path is empty")
	}
	opts, err := parseSessionOptions(options)
	if err != nil {
		return 0, withStatus(statusInvalid, err)
	}
	s, err := runtime.Open(path, opts)
	if err != nil {
		return 0, withStatus(statusRuntime, runtimeError(err))
	}
	lib, err := runtime.LoadLibrary(opts.LibraryPath) // loaded already: its description
	if err != nil {
		s.Close()
		return 0, withStatus(statusRuntime, runtimeError(err))
	}
	e := &sessionEntry{s: s, lib: lib}
	if e.infoDoc, err = infoJSON(s.Info(), lib); err != nil {
		s.Close()
		return 0, withStatus(statusInternal, err)
	}
	return registerSession(e), nil
}

// rtError is an error of package runtime whose message starts "staa: "
// rather than "staa/runtime: ".
type rtError struct{ err error }

func (e rtError) Error() string {
	msg := "staa: " + strings.TrimPrefix(e.err.Error(), "staa/runtime: ")
	// runtime names its Go option; from the ABI it is the "library" key.
	return strings.ReplaceAll(msg, "Options.LibraryPath", `the "library" option`)
}
func (e rtError) Unwrap() error { return e.err }

func runtimeError(err error) error { return rtError{err} }

// sessionClose closes h: unknown handles (closed already, or never opened)
// are ignored.
func sessionClose(h uintptr) {
	e := unregisterSession(h)
	if e == nil {
		return
	}
	e.mu.Lock() // waits for the explains in flight
	defer e.mu.Unlock()
	e.closed = true
	e.s.Close()
}

func sessionInfo(h uintptr) []byte {
	e := lookupSession(h)
	if e == nil {
		return nil
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil
	}
	return e.infoDoc
}

// geometryJSON is a geometry in the options_json spelling.
type geometryJSON struct {
	Layout  string `json:"layout"`
	Frames  int    `json:"frames"`
	Grid    [2]int `json:"grid"`
	CLS     bool   `json:"cls"`
	Tubelet int    `json:"tubelet"`
}

func toGeometryJSON(g staa.Geometry) geometryJSON {
	return geometryJSON{Layout: g.Layout.String(), Frames: g.Frames, Grid: [2]int{g.Height, g.Width}, CLS: g.CLS, Tubelet: max(g.Tubelet, 1)}
}

// infoJSON is staa_session_info's document.
func infoJSON(info runtime.ModelInfo, lib runtime.LibraryInfo) ([]byte, error) {
	type ortJSON struct {
		Path    string `json:"path"`
		Version string `json:"version"`
	}
	doc := struct {
		Model       string       `json:"model"`
		ModelType   string       `json:"model_type"`
		Geometry    geometryJSON `json:"geometry"`
		Layers      int          `json:"layers"`
		Heads       int          `json:"heads"`
		FrameSize   [2]int       `json:"frame_size"`
		Classes     []string     `json:"classes"`
		Input       string       `json:"input"`
		InputLayout string       `json:"input_layout"`
		Scale       float64      `json:"scale"`
		Mean        [3]float64   `json:"mean"`
		Std         [3]float64   `json:"std"`
		ORT         ortJSON      `json:"onnxruntime"`
		Version     string       `json:"staa_version"`
	}{
		Model: info.Path, ModelType: info.ModelType, Geometry: toGeometryJSON(info.Geometry),
		Layers: info.Layers, Heads: info.Heads, FrameSize: [2]int{info.FrameHeight, info.FrameWidth},
		Classes: info.Classes, Input: info.Input, InputLayout: info.InputLayout,
		Scale: info.Scale, Mean: info.Mean, Std: info.Std,
		ORT: ortJSON{lib.Path, lib.Version}, Version: libraryVersion(),
	}
	return json.Marshal(doc)
}

// explainConfig is what staa_session_explain's options_json says.
type explainConfig struct {
	opts   staa.Options
	volume bool
	topK   int
}

// geometryKeys are the options_json keys of the geometry, which a session
// takes from its model.
var geometryKeys = []string{"layout", "frames", "grid", "cls", "tubelet"}

// parseExplainOptions parses staa_session_explain's options: the attribution
// keys of staa_attribute and top_k. Geometry keys may be given only with the
// model's values (to assert them); anything else is an error.
func parseExplainOptions(data []byte, g staa.Geometry) (explainConfig, error) {
	cfg := explainConfig{topK: defaultTopK}
	doc := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&doc); err != nil {
			return cfg, fmt.Errorf("staa: options: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return cfg, errors.New("staa: options: unexpected data after the JSON value")
		}
		if doc == nil { // "null"
			doc = map[string]json.RawMessage{}
		}
	}
	if raw, ok := doc["top_k"]; ok {
		if err := json.Unmarshal(raw, &cfg.topK); err != nil {
			return cfg, fmt.Errorf("staa: options: \"top_k\" must be an integer, got %s", raw)
		}
		if cfg.topK < 1 {
			return cfg, fmt.Errorf("staa: options: \"top_k\" must be >= 1, got %d", cfg.topK)
		}
		delete(doc, "top_k")
	}
	// The model's geometry fills in the keys not given; given ones must agree.
	var given []string
	model := toGeometryJSON(g)
	mj, _ := json.Marshal(model)
	var modelDoc map[string]json.RawMessage
	_ = json.Unmarshal(mj, &modelDoc)
	for _, k := range geometryKeys {
		if _, ok := doc[k]; ok {
			given = append(given, k)
		} else {
			doc[k] = modelDoc[k]
		}
	}
	full, err := json.Marshal(doc)
	if err != nil {
		return cfg, fmt.Errorf("staa: options: %w", err)
	}
	c, err := staa.ParseConfig(full)
	if err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return cfg, fmt.Errorf("%w (staa_session_explain takes method, head_fusion, residual, postprocess, workers, volume and top_k; the geometry comes from the model)", err)
		}
		return cfg, err
	}
	if c.Geometry != g {
		return cfg, fmt.Errorf("staa: options: the geometry comes from the model and the options disagree with it (%s given): the model has %s",
			strings.Join(given, ", "), mj)
	}
	if c.Options.Method == staa.Grad {
		return cfg, errors.New(`staa: options: method "grad" needs the gradients of the attention, which a session does not compute: use "rollout" or "last" (or staa.explain(method="grad") on the PyTorch model)`)
	}
	cfg.opts, cfg.volume = c.Options, c.Volume
	return cfg, nil
}

// sessionInput is the decoded input batch: clips, or preprocessed pixels.
type sessionInput struct {
	clips  []runtime.Video
	pixels []float32
	batch  int
}

// clipTensorShape returns the per-row shape of a fixed_shape_tensor column
// whose storage is FixedSizeList<elem>.
func clipTensorShape(c arrowio.InputColumn, elem arrow.DataType) ([]int, error) {
	if c.Elem == nil || !arrow.TypeEqual(c.Elem, elem) {
		return nil, fmt.Errorf("staa: column %q: type %v, want fixed_size_list<%s> (an %s)", c.Name, c.Type(), elem, arrowio.FixedShapeTensor)
	}
	return c.Shape()
}

// readSessionInput reads staa_session_explain's batch of rows rows, without
// copying: one column, "clip" (uint8 [F, H, W, 3], any frame size) or
// "pixel_values" (float32, preprocessed, [F, 3, H, W] for the model's layout
// BFCHW or [3, F, H, W] for BCFHW).
func readSessionInput(cols []arrowio.InputColumn, rows int, info runtime.ModelInfo) (sessionInput, error) {
	var in sessionInput
	if rows == 0 {
		return in, errors.New("staa: empty batch: no clips")
	}
	if len(cols) != 1 {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = strconv.Quote(c.Name)
		}
		return in, fmt.Errorf("staa: the input batch has columns [%s]; want one column, %q (uint8 [F, H, W, 3]) or %q (float32, preprocessed)",
			strings.Join(names, ", "), colClip, colPixelValues)
	}
	c := cols[0]
	g := info.Geometry
	switch c.Name {
	case colClip:
		shape, err := clipTensorShape(c, arrow.PrimitiveTypes.Uint8)
		if err != nil {
			return in, err
		}
		data, err := arrowio.ColumnValues[uint8](c, rows)
		if err != nil {
			return in, err
		}
		if len(shape) != 4 || shape[3] != 3 {
			return in, fmt.Errorf("staa: column %q: shape %v, want [F, H, W, 3] (uint8 RGB frames)", c.Name, shape)
		}
		if shape[0] != g.Frames {
			return in, fmt.Errorf("staa: column %q: clips of %d frames, but the model takes %d (sample them: uniformly or in sliding windows)", c.Name, shape[0], g.Frames)
		}
		in.clips = make([]runtime.Video, rows)
		for r := range in.clips {
			s, e := r*c.Size, (r+1)*c.Size
			in.clips[r] = runtime.Video{Frames: shape[0], Height: shape[1], Width: shape[2], Data: data[s:e:e]}
		}
	case colPixelValues:
		shape, err := clipTensorShape(c, arrow.PrimitiveTypes.Float32)
		if err != nil {
			return in, err
		}
		if in.pixels, err = arrowio.ColumnValues[float32](c, rows); err != nil {
			return in, err
		}
		want := []int{g.Frames, 3, info.FrameHeight, info.FrameWidth}
		if info.InputLayout == "BCFHW" {
			want[0], want[1] = 3, g.Frames
		}
		if fmt.Sprint(shape) != fmt.Sprint(want) {
			return in, fmt.Errorf("staa: column %q: shape %v, but the model (layout %s, frames %d, frame size %d×%d) takes %v",
				c.Name, shape, info.InputLayout, g.Frames, info.FrameHeight, info.FrameWidth, want)
		}
	default:
		return in, fmt.Errorf("staa: column %q: unknown column; want %q (uint8 [F, H, W, 3]) or %q (float32, preprocessed)", c.Name, colClip, colPixelValues)
	}
	in.batch = rows
	return in, nil
}

// sessionExplain is staa_session_explain on Go types.
func sessionExplain(h uintptr, a args, mem memory.Allocator) error {
	defer a.consume()
	if err := a.prepare(); err != nil {
		return err
	}
	e := lookupSession(h)
	if e == nil {
		return invalidf("staa: session %#x is not open (closed already, or not a session)", h)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return invalidf("staa: session %#x is closed", h)
	}
	info := e.s.Info()
	cfg, err := parseExplainOptions(a.optionsJSON(), info.Geometry)
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	batch, err := importBatch(a)
	if err != nil {
		return err
	}
	defer batch.release()
	in, err := readSessionInput(batch.cols, batch.rows, info)
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	var res *runtime.Result
	if in.clips != nil {
		for i, c := range in.clips {
			if err := c.Validate(); err != nil {
				return invalidf("staa: clip %d: %v", i, err)
			}
		}
		res, err = e.s.Explain(in.clips, cfg.opts)
	} else {
		res, err = e.s.ExplainPixels(in.pixels, in.batch, cfg.opts)
	}
	if err != nil {
		return withStatus(statusRuntime, runtimeError(err))
	}
	if len(res.Clips) != in.batch {
		return withStatus(statusInternal, fmt.Errorf("staa: the session returned %d explanations for %d clips", len(res.Clips), in.batch))
	}
	outRec, err := writeExplanations(mem, res, info, cfg)
	if err != nil {
		return withStatus(statusInternal, err)
	}
	defer outRec.Release()
	return exportBatch(outRec, a.out, a.outSchema)
}

// writeExplanations is staa_session_explain's output batch: the attribution
// columns of staa_attribute, then logits, probabilities and top_k.
func writeExplanations(mem memory.Allocator, res *runtime.Result, info runtime.ModelInfo, cfg explainConfig) (arrow.RecordBatch, error) {
	attrs := make([]staa.Attribution, len(res.Clips))
	for i, c := range res.Clips {
		attrs[i] = c.Attribution
	}
	geom, err := json.Marshal(toGeometryJSON(info.Geometry))
	if err != nil {
		return nil, err
	}
	classes, err := json.Marshal(info.Classes)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		arrowio.MetaMethod:  cfg.opts.Method.String(),
		arrowio.MetaVersion: libraryVersion(),
		metaClassNames:      string(classes),
		metaGeometry:        string(geom),
		metaFrameSize:       fmt.Sprintf("[%d,%d]", info.FrameHeight, info.FrameWidth),
		metaLayers:          strconv.Itoa(info.Layers),
		metaHeads:           strconv.Itoa(info.Heads),
	}
	attrRec, err := arrowio.WriteAttributions(mem, attrs, cfg.volume, meta)
	if err != nil {
		return nil, err
	}
	defer attrRec.Release()

	nc := len(info.Classes)
	k := min(cfg.topK, nc)
	fields := append([]arrow.Field(nil), attrRec.Schema().Fields()...)
	fields = append(fields,
		arrowio.TensorField(colLogits, arrow.PrimitiveTypes.Float32, []int{nc}),
		arrowio.TensorField(colProbabilities, arrow.PrimitiveTypes.Float32, []int{nc}),
		arrowio.TensorField(colTopK, arrow.PrimitiveTypes.Int32, []int{k}))
	logits := make([][]float32, len(res.Clips))
	probs := make([][]float32, len(res.Clips))
	top := make([][]int32, len(res.Clips))
	for i, c := range res.Clips {
		if len(c.Logits) != nc || len(c.Probabilities) != nc || len(c.Ranking) != nc {
			return nil, fmt.Errorf("staa: clip %d: %d logits for %d classes", i, len(c.Logits), nc)
		}
		logits[i], probs[i] = c.Logits, c.Probabilities
		top[i] = make([]int32, k)
		for j, l := range c.TopK(k) {
			top[i][j] = int32(l.Index)
		}
	}
	cols := append([]arrow.Array(nil), attrRec.Columns()...)
	extra := []arrow.Array{
		listColumn(mem, arrow.PrimitiveTypes.Float32, nc, logits),
		listColumn(mem, arrow.PrimitiveTypes.Float32, nc, probs),
		listColumn(mem, arrow.PrimitiveTypes.Int32, k, top),
	}
	defer func() {
		for _, c := range extra {
			c.Release()
		}
	}()
	cols = append(cols, extra...)
	md := attrRec.Schema().Metadata()
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, int64(len(res.Clips))), nil
}

// listColumn returns a FixedSizeList<elem>[size] array of rows (each of size
// values) in memory from mem, without a validity bitmap.
func listColumn[T float32 | int32](mem memory.Allocator, elem arrow.DataType, size int, rows [][]T) arrow.Array {
	var zero T
	width := int(unsafe.Sizeof(zero))
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(width * size * len(rows))
	dst := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), size*len(rows))
	for i, r := range rows {
		copy(dst[i*size:(i+1)*size], r)
	}
	child := array.NewData(elem, size*len(rows), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer child.Release()
	data := array.NewData(arrow.FixedSizeListOf(int32(size), elem), len(rows), []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
