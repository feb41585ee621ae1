package synth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestIPCRoundTrip(t *testing.T) {
	o := NewOptions(6, 24, 20)
	o.Noise = 3
	const seed, n = 42, BatchRows + 37 // two record batches
	var buf bytes.Buffer
	if err := o.WriteSplit(&buf, seed, n); err != nil {
		t.Fatal(err)
	}
	sp, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if sp.Options != o || sp.Seed != seed || strings.Join(sp.Classes, ",") != "right,left,down,up" {
		t.Fatalf("header: %+v seed %d classes %v", sp.Options, sp.Seed, sp.Classes)
	}
	want, err := o.GenerateSplit(seed, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Samples) != n {
		t.Fatalf("%d samples, want %d", len(sp.Samples), n)
	}
	for i := range want {
		if !sameSample(sp.Samples[i], want[i]) {
			t.Fatalf("sample %d differs after the round trip", i)
		}
	}
	// Write gives the same file as WriteSplit.
	var buf2 bytes.Buffer
	if err := o.Write(&buf2, seed, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Error("Write and WriteSplit give different files")
	}
	// Same seed, same file.
	var buf3 bytes.Buffer
	if err := o.WriteSplit(&buf3, seed, n); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf3.Bytes()) {
		t.Error("two writes of the same split differ")
	}
}

func TestSchema(t *testing.T) {
	o := DefaultOptions()
	var buf bytes.Buffer
	if err := o.WriteSplit(&buf, 3, 5); err != nil {
		t.Fatal(err)
	}
	r, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := r.Schema()
	md := s.Metadata()
	for k, want := range map[string]string{
		MetaVersion: "1", MetaFrames: "8", MetaHeight: "64", MetaWidth: "64", MetaChannels: "3",
		MetaSeed: "3", MetaCount: "5", MetaClasses: `["right","left","down","up"]`,
	} {
		if got, _ := md.GetValue(k); got != want {
			t.Errorf("metadata %s = %q, want %q", k, got, want)
		}
	}
	var opts Options
	raw, _ := md.GetValue(MetaOptions)
	if err := json.Unmarshal([]byte(raw), &opts); err != nil || opts != o {
		t.Errorf("metadata options %q: %v", raw, err)
	}
	for _, c := range []struct {
		name, shape string
		size        int32
	}{{ColClip, "[8,64,64,3]", 8 * 64 * 64 * 3}, {ColMask, "[8,64,64]", 8 * 64 * 64}} {
		f, ok := s.FieldsByName(c.name)
		if !ok {
			t.Fatalf("no column %s", c.name)
		}
		if name, _ := f[0].Metadata.GetValue("ARROW:extension:name"); name != "arrow.fixed_shape_tensor" {
			t.Errorf("%s: extension %q", c.name, name)
		}
		if m, _ := f[0].Metadata.GetValue("ARROW:extension:metadata"); m != `{"shape":`+c.shape+`}` {
			t.Errorf("%s: extension metadata %q", c.name, m)
		}
		if l := f[0].Type.(*arrow.FixedSizeListType); l.Len() != c.size || l.Elem().ID() != arrow.UINT8 {
			t.Errorf("%s: type %s", c.name, f[0].Type)
		}
	}
	if r.NumRecords() != 1 {
		t.Errorf("%d record batches", r.NumRecords())
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := Read(bytes.NewReader([]byte("not arrow"))); err == nil {
		t.Error("garbage: no error")
	}
	// A valid Arrow file that is not a split.
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil)
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewInt32Builder(memory.DefaultAllocator)
	b.Append(1)
	col := b.NewArray()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := Read(bytes.NewReader(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "not a synth split") {
		t.Errorf("foreign file: %v", err)
	}
	var out bytes.Buffer
	if err := DefaultOptions().WriteSplit(&out, 1, 0); err == nil {
		t.Error("empty split: no error")
	}
	bad := DefaultOptions()
	bad.Frames = 0
	if err := bad.WriteSplit(&out, 1, 3); err == nil {
		t.Error("bad options: no error")
	}
}
