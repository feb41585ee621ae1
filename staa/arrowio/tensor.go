package arrowio

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/staa-dev/staa/internal/memo"
)

// Field metadata keys and the extension name of a fixed_shape_tensor column
// (the keys are those of the Arrow columnar format; arrow-go's ipc package
// spells the same strings).
const (
	ExtensionNameKey     = "ARROW:extension:name"
	ExtensionMetadataKey = "ARROW:extension:metadata"
	FixedShapeTensor     = "arrow.fixed_shape_tensor"
)

// Column names.
const (
	ColSpatial      = "spatial"
	ColTemporal     = "temporal"
	ColJoint        = "joint"
	ColSpatialGrad  = "spatial_grad"
	ColTemporalGrad = "temporal_grad"
	ColJointGrad    = "joint_grad"
	ColVolume       = "volume"
)

// Schema metadata keys of the output batches.
const (
	MetaTemporalAttention = "staa.temporal_attention"
	MetaMethod            = "staa.method"
	MetaVersion           = "staa.version"
)

// maxTensorElems bounds the per-row element count of a tensor column: the
// length of an Arrow FixedSizeList is an int32.
const maxTensorElems = math.MaxInt32

// tensorMeta is the JSON of ARROW:extension:metadata. dim_names is accepted
// and ignored; other keys are ignored too (the extension spec may grow).
type tensorMeta struct {
	Shape       *[]int64 `json:"shape"`
	DimNames    []string `json:"dim_names"`
	Permutation []int64  `json:"permutation"`
}

// TensorMetadata returns the field metadata of a fixed_shape_tensor column of
// the given per-row shape.
func TensorMetadata(shape []int) arrow.Metadata {
	var b strings.Builder
	b.WriteString(`{"shape":[`)
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteString("]}")
	return arrow.NewMetadata(
		[]string{ExtensionNameKey, ExtensionMetadataKey},
		[]string{FixedShapeTensor, b.String()})
}

// TensorField returns the field of a non-nullable fixed_shape_tensor column
// named name, of element type elem (float32 or float16) and per-row shape
// shape. The storage is FixedSizeList<item: elem>[prod(shape)], as pyarrow
// writes it.
//
// Fields are remembered (for shapes of up to 8 dimensions): building the
// metadata document and the list type was a tenth of a small call's cost in
// the library, for the same few columns every call. The returned field is
// shared: do not change it.
func TensorField(name string, elem arrow.DataType, shape []int) arrow.Field {
	k := fieldKey{name: name, elem: elem.ID(), rank: len(shape)}
	if len(shape) > len(k.dims) {
		return tensorField(name, elem, shape)
	}
	copy(k.dims[:], shape)
	if f, ok := fields.Load(k); ok {
		return f
	}
	f := tensorField(name, elem, shape)
	fields.Store(k, f)
	return f
}

// fields remembers TensorField's results.
var fields = memo.Table[fieldKey, arrow.Field]{Max: 1024}

type fieldKey struct {
	name string
	elem arrow.Type
	rank int
	dims [8]int
}

func tensorField(name string, elem arrow.DataType, shape []int) arrow.Field {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return arrow.Field{
		Name:     name,
		Type:     arrow.FixedSizeListOf(int32(n), elem),
		Nullable: false,
		Metadata: TensorMetadata(shape),
	}
}

// TensorShape reads the per-row shape of a fixed_shape_tensor field and
// checks it against the field's storage type: a FixedSizeList of float32 or
// float16 whose size is the product of the shape. It returns the shape and
// the element type.
func TensorShape(f arrow.Field) ([]int, arrow.DataType, error) {
	c := fieldColumn(f)
	shape, err := c.tensorShape()
	if err != nil {
		return nil, nil, err
	}
	return shape, c.Elem, nil
}

// shapes remembers shapeOf's successes by metadata text: every call of the
// C ABI reads the same few shapes, and decoding the JSON cost a tenth of a
// small call.
var shapes = memo.Table[string, []int]{Max: 256}

// shapeOf parses and checks a fixed_shape_tensor's extension metadata,
// returning the shape (the caller's own copy) and its element count.
func shapeOf(raw string) ([]int, int64, error) {
	if v, ok := shapes.Load(raw); ok {
		shape := slices.Clone(v)
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		return shape, n, nil
	}
	shape, n, err := parseShape(raw)
	if err == nil {
		shapes.Store(raw, slices.Clone(shape))
	}
	return shape, n, err
}

// parseShape is shapeOf without the cache.
func parseShape(raw string) ([]int, int64, error) {
	var tm tensorMeta
	if err := json.Unmarshal([]byte(raw), &tm); err != nil {
		return nil, 0, fmt.Errorf("bad %s %q: %v", ExtensionMetadataKey, raw, err)
	}
	if tm.Shape == nil {
		return nil, 0, fmt.Errorf("%s %q has no \"shape\"", ExtensionMetadataKey, raw)
	}
	shape := make([]int, len(*tm.Shape))
	n := int64(1)
	for i, d := range *tm.Shape {
		if d <= 0 || d > maxTensorElems {
			return nil, 0, fmt.Errorf("shape %v has a dimension out of range", *tm.Shape)
		}
		shape[i] = int(d)
		if n *= d; n > maxTensorElems {
			return nil, 0, fmt.Errorf("shape %v is too large", *tm.Shape)
		}
	}
	if tm.DimNames != nil && len(tm.DimNames) != len(shape) {
		return nil, 0, fmt.Errorf("%d dim_names for shape %v", len(tm.DimNames), shape)
	}
	if tm.Permutation != nil {
		if len(tm.Permutation) != len(shape) {
			return nil, 0, fmt.Errorf("permutation %v does not fit shape %v", tm.Permutation, shape)
		}
		for i, p := range tm.Permutation {
			if p != int64(i) {
				return nil, 0, fmt.Errorf("permutation %v is not supported (only the identity: make the tensor row-major)", tm.Permutation)
			}
		}
	}
	return shape, n, nil
}
