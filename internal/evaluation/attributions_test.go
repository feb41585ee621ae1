package evaluation

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/staa-dev/staa/staa"
	"github.com/staa-dev/staa/staa/metrics"
)

// attrFile describes an attributions file to write.
type attrFile struct {
	meta    map[string]string
	index   []int64
	shape   [3]int
	volumes [][]float32 // one per row
	seconds []float64
	// extName overrides the extension name; float64Volume writes the
	// volumes as float64; noVolume leaves the column out.
	extName       string
	float64Volume bool
	noVolume      bool
}

// goodAttrFile is a valid file for the split of seed 3 and n 2 on the
// fixture's [4, 4, 4] volumes: each clip's volume is the target's cells.
func goodAttrFile() attrFile {
	a := attrFile{
		meta:    map[string]string{MetaAttrMethod: "python shap", MetaAttrSeed: "3", MetaAttrN: "2"},
		index:   []int64{1, 0},
		shape:   [3]int{nF, gh, gw},
		seconds: []float64{1.5, 2.5},
	}
	for range a.index {
		v := make([]float32, nF*gh*gw)
		v[1*gh*gw] = 1 // frames 1 and 2, cell (0, 0): the fixture's target
		v[2*gh*gw] = 1
		v[3*gh*gw+5] = 0.25
		a.volumes = append(a.volumes, v)
	}
	return a
}

// write writes a as an Arrow IPC file the way pyarrow lays it out: a
// FixedSizeList column carrying the fixed_shape_tensor field metadata.
func (a attrFile) write(t *testing.T) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	size := a.shape[0] * a.shape[1] * a.shape[2]
	elem := arrow.DataType(arrow.PrimitiveTypes.Float32)
	if a.float64Volume {
		elem = arrow.PrimitiveTypes.Float64
	}
	ext := a.extName
	if ext == "" {
		ext = "arrow.fixed_shape_tensor"
	}
	fields := []arrow.Field{{Name: ColIndex, Type: arrow.PrimitiveTypes.Int64}}
	if !a.noVolume {
		fields = append(fields, arrow.Field{Name: ColVolume, Type: arrow.FixedSizeListOf(int32(size), elem),
			Metadata: arrow.NewMetadata([]string{"ARROW:extension:name", "ARROW:extension:metadata"},
				[]string{ext, `{"shape":[` + strconv.Itoa(a.shape[0]) + "," + strconv.Itoa(a.shape[1]) + "," + strconv.Itoa(a.shape[2]) + "]}"})})
	}
	fields = append(fields, arrow.Field{Name: ColSeconds, Type: arrow.PrimitiveTypes.Float64})
	var keys, vals []string
	for k, v := range a.meta {
		keys, vals = append(keys, k), append(vals, v)
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(fields, &md)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(a.index, nil)
	k := 1
	if !a.noVolume {
		lb := b.Field(1).(*array.FixedSizeListBuilder)
		for _, v := range a.volumes {
			lb.Append(true)
			switch vb := lb.ValueBuilder().(type) {
			case *array.Float32Builder:
				vb.AppendValues(v, nil)
			case *array.Float64Builder:
				for _, x := range v {
					vb.Append(float64(x))
				}
			}
		}
		k = 2
	}
	b.Field(k).(*array.Float64Builder).AppendValues(a.seconds, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var fixtureSpec = AttributionSpec{Seed: 3, N: 2, Frames: nF, Height: gh, Width: gw}

func TestReadAttributions(t *testing.T) {
	a := goodAttrFile()
	a.volumes[0][7] = 0.5 // row 0 is clip 1
	x, err := ReadAttributions(bytes.NewReader(a.write(t)), "py-shap", fixtureSpec)
	if err != nil {
		t.Fatal(err)
	}
	if x.Name != "py-shap" || x.Method != "python shap" || x.Seed != 3 || x.N != 2 {
		t.Errorf("header %+v", x)
	}
	if x.Seconds[0] != 2.5 || x.Seconds[1] != 1.5 {
		t.Errorf("seconds %v, want [2.5 1.5] (rows are clips 1, 0)", x.Seconds)
	}
	if x.Volumes[1].Data[7] != 0.5 || x.Volumes[0].Data[7] != 0 {
		t.Errorf("volumes not placed by index: clip 1 [7] = %v, clip 0 [7] = %v", x.Volumes[1].Data[7], x.Volumes[0].Data[7])
	}
	if v := x.Volumes[0]; v.Frames != nF || v.Height != gh || v.Width != gw {
		t.Errorf("volume shape %d×%d×%d", v.Frames, v.Height, v.Width)
	}
}

// TestReadPyarrowAttributions reads a file written by pyarrow
// (testdata/gen_pyarrow_attributions.py: a FixedShapeTensorArray, whose
// metadata carries the identity permutation).
func TestReadPyarrowAttributions(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "pyarrow_attributions.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := ReadAttributions(f, "shap-py", AttributionSpec{Seed: 77, N: 2, Frames: 4, Height: 4, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	if x.Method != "shap (python)" || x.Seconds[0] != 0.25 || x.Seconds[1] != 0.5 {
		t.Errorf("method %q, seconds %v", x.Method, x.Seconds)
	}
	for i, v := range x.Volumes {
		for k, got := range v.Data {
			if want := float32(i+1) * float32(k+1) / 64; got != want {
				t.Fatalf("clip %d [%d] = %v, want %v", i, k, got, want)
			}
		}
	}
}

func TestReadAttributionsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*attrFile)
		spec AttributionSpec
		rows string // the row name, default "ext"
		want string
	}{
		{"seed", func(a *attrFile) { a.meta[MetaAttrSeed] = "4" }, fixtureSpec, "", "seed 4, this evaluation's is 3"},
		{"n", func(a *attrFile) { a.meta[MetaAttrN] = "3" }, fixtureSpec, "", "split of 3 clips, this evaluation has 2"},
		{"no method", func(a *attrFile) { delete(a.meta, MetaAttrMethod) }, fixtureSpec, "", "staa.method is missing"},
		{"bad seed", func(a *attrFile) { a.meta[MetaAttrSeed] = "x" }, fixtureSpec, "", `staa.seed = "x"`},
		{"shape", func(a *attrFile) {}, AttributionSpec{Seed: 3, N: 2, Frames: 8, Height: gh, Width: gw}, "", "shape [4 4 4], the model's volumes are [8 4 4]"},
		{"missing index", func(a *attrFile) {
			a.meta[MetaAttrN] = "3"
		}, AttributionSpec{Seed: 3, N: 3, Frames: nF, Height: gh, Width: gw}, "", "indices missing: 2"},
		{"duplicate index", func(a *attrFile) { a.index = []int64{1, 1} }, fixtureSpec, "", "index 1 appears twice"},
		{"index range", func(a *attrFile) { a.index = []int64{0, 2} }, fixtureSpec, "", "index 2 is outside"},
		{"negative", func(a *attrFile) { a.volumes[1][6] = -0.5 }, fixtureSpec, "", "clip 0: volume holds -0.5 at [0, 1, 2]"},
		{"NaN", func(a *attrFile) { a.volumes[0][0] = float32(math.NaN()) }, fixtureSpec, "", "clip 1: volume holds NaN"},
		{"seconds", func(a *attrFile) { a.seconds[0] = -1 }, fixtureSpec, "", "seconds -1"},
		{"float64", func(a *attrFile) { a.float64Volume = true }, fixtureSpec, "", "holds float64, want float32"},
		{"extension", func(a *attrFile) { a.extName = "my.tensor" }, fixtureSpec, "", "not an arrow.fixed_shape_tensor"},
		{"no volume", func(a *attrFile) { a.noVolume = true }, fixtureSpec, "", `column "volume" is missing`},
		{"built-in name", func(a *attrFile) {}, fixtureSpec, SHAP, "built-in method"},
		{"bad name", func(a *attrFile) {}, fixtureSpec, "a b", "letters, digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := goodAttrFile()
			tc.edit(&a)
			name := tc.rows
			if name == "" {
				name = "ext"
			}
			_, err := ReadAttributions(bytes.NewReader(a.write(t)), name, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := ReadAttributions(bytes.NewReader([]byte("not arrow")), "ext", fixtureSpec); err == nil || !strings.Contains(err.Error(), "not an Arrow IPC file") {
		t.Errorf("garbage: %v", err)
	}
}

// TestRunExternal scores an attributions file's volumes as a row of the
// table: the same values as scoring them directly, and the file's seconds.
func TestRunExternal(t *testing.T) {
	m, samples := fixture(2)
	a := goodAttrFile()
	x, err := ReadAttributions(bytes.NewReader(a.write(t)), "py-shap", fixtureSpec)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(m, samples, Config{Methods: []string{LastRaw}, Geometry: staa.Geometry{Frames: nF, Height: gh, Width: gw},
		Batch: 8, External: []*External{x}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Methods) != 2 || rep.Methods[1].Method != "py-shap" || rep.Methods[1].External != "python shap" {
		t.Fatalf("methods %+v", rep.Methods)
	}
	mr := rep.Methods[1]
	// The volume puts mass 2 on the target's cells and 0.25 on frame 3,
	// cell 5 (where the target is not): energy 2·16/(2·16 + 0.25·16) = 8/9
	// (the target fills its cells), pointing 1, temporal AP 1.
	for name, want := range map[string]float64{Energy: 8.0 / 9, Pointing: 1, TemporalAP: 1} {
		if got := mr.Metrics[name].Mean; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if mr.Time.Mean != 2 || mr.Clips[0].Seconds != 2.5 || mr.Clips[1].Seconds != 1.5 {
		t.Errorf("times %v, %v, %v: want the file's", mr.Time.Mean, mr.Clips[0].Seconds, mr.Clips[1].Seconds)
	}
	// Every metric as scoring the volume directly.
	for i, s := range samples {
		want, err := scoreDirect(m, s, x.Volumes[s.Index])
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			if got := mr.Clips[i].Metrics[name]; got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
				t.Errorf("clip %d %s = %v, direct %v", i, name, got, w)
			}
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckTable(md.String(), []string{LastRaw, "py-shap"}); err != nil {
		t.Errorf("%v\n%s", err, md.String())
	}
	if !strings.Contains(md.String(), `staa.method "python shap"`) {
		t.Errorf("no note on the attributions row:\n%s", md.String())
	}
	// Names may not repeat a method's.
	x.Name = LastRaw
	if _, err := Run(m, samples, Config{Methods: []string{LastRaw}, Geometry: staa.Geometry{Frames: nF, Height: gh, Width: gw},
		External: []*External{x}}); err == nil {
		t.Error("an attributions row named like a built-in method was accepted")
	}
}

// scoreDirect scores vol on sample s as Run does, on a fresh evaluator.
func scoreDirect(m metrics.Model, s Sample, vol staa.Volume) (map[string]float64, error) {
	ev, err := metrics.NewEvaluator(m, s.Clip, metrics.Options{BatchSize: 8})
	if err != nil {
		return nil, err
	}
	return score(ev, vol, metrics.Profile(vol), s, ev.Predicted())
}

func TestWriteAttributionsRoundTrip(t *testing.T) {
	x := &External{Method: "lime (python)", Seed: 3, N: 2, Seconds: []float64{0.5, 7}}
	for i := range 2 {
		v := randomVolume(uint64(i))
		x.Volumes = append(x.Volumes, v)
	}
	var b bytes.Buffer
	if err := WriteAttributions(&b, x); err != nil {
		t.Fatal(err)
	}
	y, err := ReadAttributions(bytes.NewReader(b.Bytes()), "lime-py", fixtureSpec)
	if err != nil {
		t.Fatal(err)
	}
	if y.Method != x.Method || y.Seconds[1] != 7 {
		t.Errorf("%+v", y)
	}
	for i := range x.Volumes {
		for k := range x.Volumes[i].Data {
			if y.Volumes[i].Data[k] != x.Volumes[i].Data[k] {
				t.Fatalf("clip %d [%d]: %v, want %v", i, k, y.Volumes[i].Data[k], x.Volumes[i].Data[k])
			}
		}
	}
	x.Seconds = x.Seconds[:1]
	if err := WriteAttributions(&b, x); err == nil {
		t.Error("missing time accepted")
	}
}
