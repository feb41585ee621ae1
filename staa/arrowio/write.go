package arrowio

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
)

// OutputColumn is a float32 fixed_shape_tensor column of an output batch
// before it is written: its name, per-row shape and rows, in the engine's
// memory. WriteAttributions and WritePostprocessed copy the rows into an
// Arrow record; package capi copies them straight into the C buffers it
// hands out, without building the record (whose many small allocations cost
// a fifth of a small call).
type OutputColumn struct {
	Name  string
	Shape []int
	Rows  [][]float32 // one per row, each of prod(Shape) values
}

// Field returns the column's field: a non-nullable FixedSizeList<float32>
// with the fixed_shape_tensor metadata of Shape.
func (c OutputColumn) Field() arrow.Field {
	return TensorField(c.Name, arrow.PrimitiveTypes.Float32, c.Shape)
}

// WriteAttributions returns a record batch of res, one row per attribution:
// columns "spatial" [F, h, w] and "temporal" [F], plus "volume" [F, h, w]
// when withVolume, all float32 fixed_shape_tensor columns allocated from mem
// (use a malloc-based allocator for batches handed to C). The schema metadata
// holds staa.temporal_attention ("true" when every attribution used temporal
// attention) and then the pairs of meta, which win on a clash.
//
// Every attribution must have the same shape. The caller releases the batch.
func WriteAttributions(mem memory.Allocator, res []staa.Attribution, withVolume bool, meta map[string]string) (arrow.RecordBatch, error) {
	cols, md, err := AttributionColumns(res, withVolume, meta)
	if err != nil {
		return nil, err
	}
	return newRecord(mem, cols, md), nil
}

// AttributionColumns checks res and returns the columns and the schema
// metadata of WriteAttributions's batch, whose rows are res's slices (not
// copied).
func AttributionColumns(res []staa.Attribution, withVolume bool, meta map[string]string) ([]OutputColumn, arrow.Metadata, error) {
	if len(res) == 0 {
		return nil, arrow.Metadata{}, errors.New("staa: no attributions to write")
	}
	F, h, w := res[0].Spatial.Frames, res[0].Spatial.Height, res[0].Spatial.Width
	spatial := make([]staa.Volume, len(res))
	temporal := make([][]float32, len(res))
	var volume []staa.Volume
	if withVolume {
		volume = make([]staa.Volume, len(res))
	}
	ta := true
	for i, a := range res {
		spatial[i], temporal[i] = a.Spatial, a.Temporal
		if withVolume {
			if a.Volume.Frames != F || a.Volume.Height != h || a.Volume.Width != w {
				return nil, arrow.Metadata{}, fmt.Errorf("staa: attribution %d: volume shape [%d %d %d], spatial maps [%d %d %d]", i, a.Volume.Frames, a.Volume.Height, a.Volume.Width, F, h, w)
			}
			volume[i] = a.Volume
		}
		ta = ta && a.TemporalAttention
	}
	md := map[string]string{MetaTemporalAttention: strconv.FormatBool(ta)}
	for k, v := range meta {
		md[k] = v
	}
	return volumeColumns(spatial, temporal, volume, md)
}

// WritePostprocessed returns a record batch of post-processed volumes, one
// row each: columns "spatial" [F, h, w] and "temporal" [F] (float32, from
// mem), schema metadata meta. It is the output of staa_postprocess.
func WritePostprocessed(mem memory.Allocator, spatial []staa.Volume, temporal [][]float32, meta map[string]string) (arrow.RecordBatch, error) {
	cols, md, err := PostprocessedColumns(spatial, temporal, meta)
	if err != nil {
		return nil, err
	}
	return newRecord(mem, cols, md), nil
}

// PostprocessedColumns checks its arguments and returns the columns and the
// schema metadata of WritePostprocessed's batch, whose rows are the
// arguments' slices (not copied).
func PostprocessedColumns(spatial []staa.Volume, temporal [][]float32, meta map[string]string) ([]OutputColumn, arrow.Metadata, error) {
	if len(spatial) == 0 {
		return nil, arrow.Metadata{}, errors.New("staa: no volumes to write")
	}
	if len(temporal) != len(spatial) {
		return nil, arrow.Metadata{}, fmt.Errorf("staa: %d spatial maps but %d temporal profiles", len(spatial), len(temporal))
	}
	return volumeColumns(spatial, temporal, nil, meta)
}

// volumeColumns checks that every row has row 0's shape and returns the
// columns "spatial", "temporal" and, when volume is not nil, "volume", and
// meta as schema metadata (sorted by key).
func volumeColumns(spatial []staa.Volume, temporal [][]float32, volume []staa.Volume, meta map[string]string) ([]OutputColumn, arrow.Metadata, error) {
	F, h, w := spatial[0].Frames, spatial[0].Height, spatial[0].Width
	if err := spatial[0].Validate(); err != nil {
		return nil, arrow.Metadata{}, fmt.Errorf("staa: spatial maps of row 0: %w", err)
	}
	for i := range spatial {
		s := spatial[i]
		if s.Frames != F || s.Height != h || s.Width != w || len(s.Data) != F*h*w {
			return nil, arrow.Metadata{}, fmt.Errorf("staa: row %d: spatial maps [%d %d %d] (%d values), want [%d %d %d] like row 0", i, s.Frames, s.Height, s.Width, len(s.Data), F, h, w)
		}
		if len(temporal[i]) != F {
			return nil, arrow.Metadata{}, fmt.Errorf("staa: row %d: temporal profile of %d values, want %d", i, len(temporal[i]), F)
		}
		if volume != nil {
			if v := volume[i]; len(v.Data) != F*h*w {
				return nil, arrow.Metadata{}, fmt.Errorf("staa: row %d: volume of %d values, want %d", i, len(v.Data), F*h*w)
			}
		}
	}
	vshape := []int{F, h, w}
	cols := make([]OutputColumn, 2, 3)
	cols[0] = OutputColumn{Name: ColSpatial, Shape: vshape, Rows: dataOf(spatial)}
	cols[1] = OutputColumn{Name: ColTemporal, Shape: []int{F}, Rows: temporal}
	if volume != nil {
		cols = append(cols, OutputColumn{Name: ColVolume, Shape: vshape, Rows: dataOf(volume)})
	}
	return cols, arrow.MetadataFrom(meta), nil
}

// dataOf returns the values of each volume.
func dataOf(vols []staa.Volume) [][]float32 {
	rows := make([][]float32, len(vols))
	for i, v := range vols {
		rows[i] = v.Data
	}
	return rows
}

// newRecord copies cols into a record batch from mem (the default
// allocator when nil), schema metadata md.
func newRecord(mem memory.Allocator, cols []OutputColumn, md arrow.Metadata) arrow.RecordBatch {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, 0, len(cols))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for i, c := range cols {
		fields[i] = c.Field()
		arrs = append(arrs, tensorColumn(mem, fields[i], c.Rows))
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), arrs, int64(len(cols[0].Rows)))
}

// tensorColumn copies rows (each of the field's list size) into one float32
// buffer from mem and returns the FixedSizeList array over it.
func tensorColumn(mem memory.Allocator, f arrow.Field, rows [][]float32) arrow.Array {
	size := int(f.Type.(*arrow.FixedSizeListType).Len())
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(arrow.Float32Traits.BytesRequired(size * len(rows)))
	dst := arrow.Float32Traits.CastFromBytes(buf.Bytes())
	for i, r := range rows {
		copy(dst[i*size:(i+1)*size], r)
	}
	child := array.NewData(arrow.PrimitiveTypes.Float32, size*len(rows), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer child.Release()
	data := array.NewData(f.Type, len(rows), []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
