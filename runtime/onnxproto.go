package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// A minimal reader of the ONNX protobuf (onnx.proto3): just what Open needs
// before it builds an ONNX Runtime session, namely the metadata_props and the
// names, element types and shapes of the graph's inputs and outputs. It
// streams the file and skips everything else (nodes, initializers) by length,
// so a model of hundreds of megabytes costs one sequential read and no memory,
// where ORT's own metadata calls would build a whole session each. It also
// tells a corrupt file from a model without staa metadata.

// Field numbers of onnx.proto3.
const (
	modelIRVersion     = 1
	modelGraph         = 7
	modelMetadataProps = 14
	graphInput         = 11
	graphOutput        = 12
	valueInfoName      = 1
	valueInfoType      = 2
	typeTensor         = 1
	tensorElemType     = 1
	tensorShape        = 2
	shapeDim           = 1
	dimValue           = 1
	dimParam           = 2
	entryKey           = 1
	entryValue         = 2
)

// ONNX TensorProto.DataType values used here.
const (
	onnxFloat   = 1
	onnxFloat16 = 10
)

// onnxDim is one dimension of a value's shape: Value ≥ 0 when fixed, else -1
// with Param the symbolic name (possibly empty).
type onnxDim struct {
	Value int64
	Param string
}

// onnxValue is a graph input or output.
type onnxValue struct {
	Name     string
	ElemType int32 // 0 when not a tensor
	Shape    []onnxDim
	HasShape bool
}

// onnxModel is what readONNX extracts.
type onnxModel struct {
	IRVersion int64
	HasGraph  bool
	Metadata  map[string]string
	Inputs    []onnxValue
	Outputs   []onnxValue
}

func (m *onnxModel) output(name string) (onnxValue, bool) {
	for _, v := range m.Outputs {
		if v.Name == name {
			return v, true
		}
	}
	return onnxValue{}, false
}

func (m *onnxModel) input(name string) (onnxValue, bool) {
	for _, v := range m.Inputs {
		if v.Name == name {
			return v, true
		}
	}
	return onnxValue{}, false
}

func (m *onnxModel) outputNames() []string {
	names := make([]string, len(m.Outputs))
	for i, v := range m.Outputs {
		names[i] = v.Name
	}
	return names
}

func (m *onnxModel) inputNames() []string {
	names := make([]string, len(m.Inputs))
	for i, v := range m.Inputs {
		names[i] = v.Name
	}
	return names
}

// errNotONNX marks a file that does not parse as an ONNX model.
var errNotONNX = errors.New("not a valid ONNX file")

// readONNX reads path's metadata and graph inputs and outputs.
func readONNX(path string) (*onnxModel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("it is a directory, not an .onnx file")
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%w (the file is empty)", errNotONNX)
	}
	s := &pbStream{r: bufio.NewReaderSize(f, 1<<16)}
	m := &onnxModel{Metadata: map[string]string{}}
	if err := s.message(st.Size(), func(field int, wt int, n int64) error {
		switch {
		case field == modelIRVersion && wt == 0:
			v, err := s.varint()
			m.IRVersion = int64(v)
			return err
		case field == modelGraph && wt == 2:
			m.HasGraph = true
			return s.message(n, func(field, wt int, n int64) error {
				if (field == graphInput || field == graphOutput) && wt == 2 {
					b, err := s.bytes(n)
					if err != nil {
						return err
					}
					v, err := parseValueInfo(b)
					if err != nil {
						return err
					}
					if field == graphInput {
						m.Inputs = append(m.Inputs, v)
					} else {
						m.Outputs = append(m.Outputs, v)
					}
					return nil
				}
				return s.skip(wt, n)
			})
		case field == modelMetadataProps && wt == 2:
			b, err := s.bytes(n)
			if err != nil {
				return err
			}
			var k, v string
			err = pbFields(b, func(field, wt int, b []byte, _ uint64) error {
				switch {
				case field == entryKey && wt == 2:
					k = string(b)
				case field == entryValue && wt == 2:
					v = string(b)
				}
				return nil
			})
			if err != nil {
				return err
			}
			m.Metadata[k] = v
			return nil
		}
		return s.skip(wt, n)
	}); err != nil {
		return nil, fmt.Errorf("%w (protobuf: %v)", errNotONNX, err)
	}
	if !m.HasGraph || m.IRVersion <= 0 {
		return nil, fmt.Errorf("%w (no graph or no IR version)", errNotONNX)
	}
	return m, nil
}

func parseValueInfo(b []byte) (onnxValue, error) {
	var v onnxValue
	err := pbFields(b, func(field, wt int, b []byte, _ uint64) error {
		switch {
		case field == valueInfoName && wt == 2:
			v.Name = string(b)
		case field == valueInfoType && wt == 2:
			return pbFields(b, func(field, wt int, b []byte, _ uint64) error {
				if field != typeTensor || wt != 2 {
					return nil
				}
				return pbFields(b, func(field, wt int, b []byte, x uint64) error {
					switch {
					case field == tensorElemType && wt == 0:
						v.ElemType = int32(x)
					case field == tensorShape && wt == 2:
						v.HasShape = true
						return pbFields(b, func(field, wt int, b []byte, _ uint64) error {
							if field != shapeDim || wt != 2 {
								return nil
							}
							d := onnxDim{Value: -1}
							err := pbFields(b, func(field, wt int, b []byte, x uint64) error {
								switch {
								case field == dimValue && wt == 0:
									d.Value = int64(x)
								case field == dimParam && wt == 2:
									d.Param = string(b)
								}
								return nil
							})
							v.Shape = append(v.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return v, err
}

// pbStream reads protobuf fields from a stream, counting bytes.
type pbStream struct {
	r   *bufio.Reader
	off int64
}

func (s *pbStream) varint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("truncated at byte %d", s.off)
		}
		s.off++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, fmt.Errorf("bad varint at byte %d", s.off)
}

func (s *pbStream) bytes(n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, fmt.Errorf("truncated at byte %d", s.off)
	}
	s.off += n
	return b, nil
}

// skip passes over a field's payload: n bytes for wire type 2, else the
// fixed size or the varint.
func (s *pbStream) skip(wt int, n int64) error {
	switch wt {
	case 0:
		_, err := s.varint()
		return err
	case 1:
		n = 8
	case 5:
		n = 4
	}
	got, err := s.r.Discard(int(n))
	s.off += int64(got)
	if err != nil {
		return fmt.Errorf("truncated at byte %d", s.off)
	}
	return nil
}

// message reads the fields of a message of size bytes, calling fn for each
// with its field number, wire type and, for wire type 2, its length; fn must
// consume the payload (s.skip, s.bytes, s.varint or a nested s.message).
func (s *pbStream) message(size int64, fn func(field, wt int, n int64) error) error {
	end := s.off + size
	for s.off < end {
		at := s.off
		key, err := s.varint()
		if err != nil {
			return err
		}
		field, wt := int(key>>3), int(key&7)
		if field <= 0 {
			return fmt.Errorf("invalid field number %d at byte %d", field, at)
		}
		var n int64
		switch wt {
		case 0, 1, 5:
		case 2:
			l, err := s.varint()
			if err != nil {
				return err
			}
			if l > uint64(end-s.off) {
				return fmt.Errorf("field %d at byte %d claims %d bytes, past the end of its message", field, at, l)
			}
			n = int64(l)
		default:
			return fmt.Errorf("invalid wire type %d at byte %d", wt, at)
		}
		if err := fn(field, wt, n); err != nil {
			return err
		}
	}
	if s.off != end {
		return fmt.Errorf("message overruns its length at byte %d", s.off)
	}
	return nil
}

// pbFields walks the fields of an in-memory message, calling fn with the
// payload (wire type 2) or the value (varint; fixed-size values as raw bits).
func pbFields(b []byte, fn func(field, wt int, payload []byte, x uint64) error) error {
	for i := 0; i < len(b); {
		key, n := uvarint(b[i:])
		if n <= 0 {
			return errors.New("bad varint")
		}
		i += n
		field, wt := int(key>>3), int(key&7)
		if field <= 0 {
			return fmt.Errorf("invalid field number %d", field)
		}
		switch wt {
		case 0:
			x, n := uvarint(b[i:])
			if n <= 0 {
				return errors.New("bad varint")
			}
			i += n
			if err := fn(field, wt, nil, x); err != nil {
				return err
			}
		case 1, 5:
			size := 8
			if wt == 5 {
				size = 4
			}
			if i+size > len(b) {
				return errors.New("truncated fixed-size field")
			}
			var x uint64
			for k := size - 1; k >= 0; k-- {
				x = x<<8 | uint64(b[i+k])
			}
			i += size
			if err := fn(field, wt, nil, x); err != nil {
				return err
			}
		case 2:
			l, n := uvarint(b[i:])
			if n <= 0 || l > uint64(len(b)-i-n) {
				return errors.New("truncated length-delimited field")
			}
			i += n
			if err := fn(field, wt, b[i:i+int(l)], 0); err != nil {
				return err
			}
			i += int(l)
		default:
			return fmt.Errorf("invalid wire type %d", wt)
		}
	}
	return nil
}

// uvarint decodes a varint: the value and the bytes used (≤ 0 on error).
func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, -1
}
