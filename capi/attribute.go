package main

// #include "capi.h"
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/cdata"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/arrowio"
)

// The engine functions, parameters so that tests can substitute them (a
// panicking engine, say) without package-level state.
type (
	attributeFunc   func([]float32, staa.Geometry, []staa.Clip, staa.Options) ([]staa.Attribution, error)
	postprocessFunc func(staa.Volume, staa.Post) (staa.Volume, []float32, error)
)

// attribute is staa_attribute on Go types. The engine writes its results
// into a buffer kept between calls (engine is staa.AttributeBatchTo), from
// which they are copied into malloc'd memory for C (exportColumns).
func attribute(a args, engine attributeFunc) error {
	defer a.consume()
	if err := a.prepare(); err != nil {
		return err
	}
	cfg, err := parseConfig(a.optionsView())
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	in, err := importBatch(a)
	if err != nil {
		return err
	}
	defer in.release()
	clips, err := arrowio.ReadClipColumns(in.cols, in.rows, cfg)
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	buf := resultBuffer(staa.ResultLen(cfg.Geometry, len(clips)))
	defer results.Put(buf)
	res, err := engine(*buf, cfg.Geometry, clips, cfg.Options)
	if err != nil {
		return engineStatus(err)
	}
	if len(res) != len(clips) {
		return withStatus(statusInternal, fmt.Errorf("staa: the engine returned %d attributions for %d clips", len(res), len(clips)))
	}
	meta := map[string]string{
		arrowio.MetaMethod:  cfg.Options.Method.String(),
		arrowio.MetaVersion: libraryVersion(),
	}
	cols, md, err := arrowio.AttributionColumns(res, cfg.Volume, meta)
	if err != nil {
		return withStatus(statusInternal, err)
	}
	return exportColumns(cols, md, a.out, a.outSchema)
}

// results keeps buffers for the engine's results between calls: they are
// copied into C memory at once, and fresh Go memory for every call costs a
// page fault or so, since the Go runtime returns freed pages to the system
// (a third of a `last` call on TimeSformer-base attention).
var results sync.Pool // of *[]float32

// resultBuffer returns a buffer of n values from results, or a new one.
func resultBuffer(n int) *[]float32 {
	if p, _ := results.Get().(*[]float32); p != nil && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

// postprocess is staa_postprocess on Go types.
func postprocess(a args, post postprocessFunc) error {
	defer a.consume()
	if err := a.prepare(); err != nil {
		return err
	}
	p, err := parsePostOptions(a.optionsJSON())
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	in, err := importBatch(a)
	if err != nil {
		return err
	}
	defer in.release()
	vols, err := arrowio.ReadVolumeColumns(in.cols, in.rows)
	if err != nil {
		return withStatus(statusInvalid, err)
	}
	spatial := make([]staa.Volume, len(vols))
	temporal := make([][]float32, len(vols))
	for i, v := range vols {
		if spatial[i], temporal[i], err = post(v, p); err != nil {
			if len(vols) > 1 {
				err = fmt.Errorf("row %d: %w", i, err)
			}
			return engineStatus(err)
		}
	}
	cols, md, err := arrowio.PostprocessedColumns(spatial, temporal, map[string]string{arrowio.MetaVersion: libraryVersion()})
	if err != nil {
		return withStatus(statusInternal, err)
	}
	return exportColumns(cols, md, a.out, a.outSchema)
}

// prepare checks the pointer arguments and empties the outputs, so that
// they are in the released state on every error path.
func (a args) prepare() error {
	if a.out != nil && unsafe.Pointer(a.out) == unsafe.Pointer(a.in) ||
		a.outSchema != nil && unsafe.Pointer(a.outSchema) == unsafe.Pointer(a.inSchema) {
		return invalidf("staa: out and in (or out_schema and in_schema) are the same struct")
	}
	if a.out != nil {
		*a.out = C.struct_ArrowArray{}
	}
	if a.outSchema != nil {
		*a.outSchema = C.struct_ArrowSchema{}
	}
	in := a.inName
	if in == "" {
		in = "in"
	}
	switch {
	case a.in == nil:
		return invalidf("staa: %s (the input ArrowArray) is NULL", in)
	case a.inSchema == nil:
		return invalidf("staa: %s_schema (the input ArrowSchema) is NULL", in)
	case a.out == nil:
		return invalidf("staa: out (the output ArrowArray) is NULL")
	case a.outSchema == nil:
		return invalidf("staa: out_schema (the output ArrowSchema) is NULL")
	case a.in.release == nil:
		return invalidf("staa: %s (the input ArrowArray) is released already (release is NULL)", in)
	case a.inSchema.release == nil:
		return invalidf("staa: %s_schema (the input ArrowSchema) is released already (release is NULL)", in)
	}
	return nil
}

// input is an imported input batch: its columns and rows, and the record
// that holds them when arrow-go imported it.
type input struct {
	cols []arrowio.InputColumn
	rows int
	rec  arrow.RecordBatch // nil when read in place
}

// release releases the record, if any; the columns are invalid afterwards.
func (in input) release() {
	if in.rec != nil {
		in.rec.Release()
	}
}

// importBatch imports the input record batch (a struct array): in place
// when importFlat can, else through arrow-go (importRecord). The caller
// releases the input; a.consume releases whatever the import did not take.
func importBatch(a args) (input, error) {
	if cols, rows, ok := importFlat(a); ok {
		return input{cols: cols, rows: rows}, nil
	}
	rec, err := importRecord(a)
	if err != nil {
		return input{}, err
	}
	cols, rows, err := arrowio.RecordColumns(rec)
	if err != nil {
		rec.Release()
		return input{}, withStatus(statusInvalid, err)
	}
	return input{cols: cols, rows: rows, rec: rec}, nil
}

// importRecord imports the input batch through arrow-go's cdata, taking
// ownership of it.
func importRecord(a args) (arrow.RecordBatch, error) {
	field, arr, err := cdata.ImportCArray(a.cIn(), a.cInSchema())
	if err != nil {
		return nil, withStatus(statusInvalid, fmt.Errorf("staa: cannot import the input batch: %w", err))
	}
	defer arr.Release()
	st, ok := arr.(*array.Struct)
	if !ok {
		return nil, invalidf("staa: the input must be a record batch (a struct array, format \"+s\"), not %s", arr.DataType())
	}
	// null_count may be -1 (unknown): count only over a validity bitmap that
	// exists (arrow-go would count a missing one as all null).
	if bufs := st.Data().Buffers(); len(bufs) > 0 && bufs[0] != nil && bufs[0].Len() > 0 {
		if n := st.NullN(); n != 0 {
			return nil, invalidf("staa: the input struct array has %d null rows", n)
		}
	}
	fields := field.Type.(*arrow.StructType).Fields()
	cols := make([]arrow.Array, st.NumField())
	for i := range cols {
		cols[i] = st.Field(i)
		if cols[i].Len() != st.Len() {
			return nil, invalidf("staa: column %q has %d rows, the batch %d", fields[i].Name, cols[i].Len(), st.Len())
		}
	}
	md := field.Metadata
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, int64(st.Len())), nil
}

// parsePostOptions parses staa_postprocess's options: {"postprocess": ...}
// and nothing else; absent, the "optimized" preset (as for staa_attribute).
func parsePostOptions(data []byte) (staa.Post, error) {
	var pj struct {
		Postprocess json.RawMessage `json:"postprocess"`
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pj); err != nil {
			return staa.Post{}, fmt.Errorf("staa: options: %w (staa_postprocess takes {\"postprocess\": ...})", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return staa.Post{}, errors.New("staa: options: unexpected data after the JSON value")
		}
	}
	if pj.Postprocess == nil {
		return staa.Optimized(), nil
	}
	return staa.ParsePost(pj.Postprocess)
}
