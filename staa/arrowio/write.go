package arrowio

import (
	"errors"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
)

// WriteAttributions returns a record batch of res, one row per attribution:
// columns "spatial" [F, h, w] and "temporal" [F], plus "volume" [F, h, w]
// when withVolume, all float32 fixed_shape_tensor columns allocated from mem
// (use a malloc-based allocator for batches handed to C). The schema metadata
// holds staa.temporal_attention ("true" when every attribution used temporal
// attention) and then the pairs of meta, which win on a clash.
//
// Every attribution must have the same shape. The caller releases the batch.
func WriteAttributions(mem memory.Allocator, res []staa.Attribution, withVolume bool, meta map[string]string) (arrow.RecordBatch, error) {
	if len(res) == 0 {
		return nil, errors.New("staa: no attributions to write")
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
				return nil, fmt.Errorf("staa: attribution %d: volume shape [%d %d %d], spatial maps [%d %d %d]", i, a.Volume.Frames, a.Volume.Height, a.Volume.Width, F, h, w)
			}
			volume[i] = a.Volume
		}
		ta = ta && a.TemporalAttention
	}
	md := map[string]string{MetaTemporalAttention: fmt.Sprint(ta)}
	for k, v := range meta {
		md[k] = v
	}
	return writeVolumes(mem, spatial, temporal, volume, md)
}

// WritePostprocessed returns a record batch of post-processed volumes, one
// row each: columns "spatial" [F, h, w] and "temporal" [F] (float32, from
// mem), schema metadata meta. It is the output of staa_postprocess.
func WritePostprocessed(mem memory.Allocator, spatial []staa.Volume, temporal [][]float32, meta map[string]string) (arrow.RecordBatch, error) {
	if len(spatial) == 0 {
		return nil, errors.New("staa: no volumes to write")
	}
	if len(temporal) != len(spatial) {
		return nil, fmt.Errorf("staa: %d spatial maps but %d temporal profiles", len(spatial), len(temporal))
	}
	return writeVolumes(mem, spatial, temporal, nil, meta)
}

func writeVolumes(mem memory.Allocator, spatial []staa.Volume, temporal [][]float32, volume []staa.Volume, meta map[string]string) (rec arrow.RecordBatch, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	F, h, w := spatial[0].Frames, spatial[0].Height, spatial[0].Width
	if err := spatial[0].Validate(); err != nil {
		return nil, fmt.Errorf("staa: spatial maps of row 0: %w", err)
	}
	vshape, tshape := []int{F, h, w}, []int{F}
	for i := range spatial {
		s := spatial[i]
		if s.Frames != F || s.Height != h || s.Width != w || len(s.Data) != F*h*w {
			return nil, fmt.Errorf("staa: row %d: spatial maps [%d %d %d] (%d values), want [%d %d %d] like row 0", i, s.Frames, s.Height, s.Width, len(s.Data), F, h, w)
		}
		if len(temporal[i]) != F {
			return nil, fmt.Errorf("staa: row %d: temporal profile of %d values, want %d", i, len(temporal[i]), F)
		}
		if volume != nil {
			if v := volume[i]; len(v.Data) != F*h*w {
				return nil, fmt.Errorf("staa: row %d: volume of %d values, want %d", i, len(v.Data), F*h*w)
			}
		}
	}

	fields := []arrow.Field{TensorField(ColSpatial, arrow.PrimitiveTypes.Float32, vshape), TensorField(ColTemporal, arrow.PrimitiveTypes.Float32, tshape)}
	rows := make([][][]float32, 2, 3)
	rows[0] = make([][]float32, len(spatial))
	rows[1] = temporal
	for i, s := range spatial {
		rows[0][i] = s.Data
	}
	if volume != nil {
		fields = append(fields, TensorField(ColVolume, arrow.PrimitiveTypes.Float32, vshape))
		vr := make([][]float32, len(volume))
		for i, v := range volume {
			vr[i] = v.Data
		}
		rows = append(rows, vr)
	}

	cols := make([]arrow.Array, 0, len(fields))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i, f := range fields {
		cols = append(cols, tensorColumn(mem, f, rows[i]))
	}

	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = meta[k]
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(fields, &md)
	return array.NewRecordBatch(schema, cols, int64(len(spatial))), nil
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
