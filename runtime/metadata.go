package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/staa-dev/staa/staa"
)

// ModelInfo is what a model's staa.* metadata_props (written by
// scripts/model/export_onnx.py) and its graph say about it.
type ModelInfo struct {
	Path string
	// Geometry is the staa geometry of one clip (staa.geometry).
	Geometry staa.Geometry
	// Layers and Heads are L and H of the attention outputs.
	Layers, Heads int
	// FrameHeight and FrameWidth are the model's input frame size in pixels
	// (staa.frame_size); clips of any size are resized to it.
	FrameHeight, FrameWidth int
	// Scale, Mean and Std normalise a pixel: (uint8·Scale − Mean[c]) / Std[c],
	// channels in RGB order.
	Scale     float64
	Mean, Std [3]float64
	// Classes are the class names in logit order (staa.class_names).
	Classes []string
	// Input is the input's name and InputLayout its layout: "BFCHW"
	// (TimeSformer, VideoMAE) or "BCFHW".
	Input       string
	InputLayout string
	// Outputs names the graph outputs.
	Outputs OutputNames
	// ModelType is staa.model_type (e.g. "timesformer"), informative.
	ModelType string
	// Metadata holds every metadata_props entry of the model.
	Metadata map[string]string
}

// OutputNames are the graph output names of the logits and of the attention
// (staa.outputs). Temporal may be empty for the Divided layout; Joint is used
// by the Joint layout only.
type OutputNames struct {
	Logits, Spatial, Temporal, Joint string
}

// required metadata keys, in the order they are reported.
var requiredKeys = []string{"staa.geometry", "staa.frame_size", "staa.mean", "staa.std", "staa.class_names", "staa.outputs"}

const exportHint = "export the model with scripts/model/export_onnx.py (or staa-export), which writes the attention outputs and the staa.* metadata_props"

// parseModelInfo checks m's metadata and graph and returns the model's
// description and the per-clip shapes of the outputs it reads.
func parseModelInfo(path string, m *onnxModel) (ModelInfo, map[string][]int64, error) {
	name := filepath.Base(path)
	md := m.Metadata
	info := ModelInfo{Path: path, Metadata: md, Scale: 1.0 / 255, Input: "pixel_values", InputLayout: "BFCHW"}
	geometryJSON, err := geometryDoc(md)
	if err != nil {
		return info, nil, err
	}
	var missing []string
	for _, k := range requiredKeys {
		if _, ok := md[k]; !ok && !(k == "staa.geometry" && geometryJSON != "") {
			missing = append(missing, k)
		}
	}
	if len(missing) == len(requiredKeys) {
		return info, nil, fmt.Errorf("staa/runtime: model %s has no staa metadata (metadata_props %s are missing; outputs %v): %s",
			name, strings.Join(missing, ", "), m.outputNames(), exportHint)
	}
	if len(missing) > 0 {
		return info, nil, fmt.Errorf("staa/runtime: model %s lacks the metadata_props %s: %s", name, strings.Join(missing, ", "), exportHint)
	}
	bad := func(key string, err error) error {
		return fmt.Errorf("staa/runtime: model %s: metadata %s = %q: %v", name, key, md[key], err)
	}
	if v, ok := md["staa.metadata_version"]; ok && v != "1" {
		return info, nil, fmt.Errorf("staa/runtime: model %s has staa.metadata_version %q; this staa reads version 1", name, v)
	}

	cfg, err := staa.ParseConfig([]byte(geometryJSON))
	if err != nil {
		return info, nil, bad("staa.geometry", err)
	}
	info.Geometry = cfg.Geometry
	g := info.Geometry

	var size []int
	if err := json.Unmarshal([]byte(md["staa.frame_size"]), &size); err != nil || len(size) != 2 || size[0] <= 0 || size[1] <= 0 {
		return info, nil, bad("staa.frame_size", errors.New("want [height, width] in pixels"))
	}
	info.FrameHeight, info.FrameWidth = size[0], size[1]
	for _, kv := range []struct {
		key string
		dst *[3]float64
		pos bool
	}{{"staa.mean", &info.Mean, false}, {"staa.std", &info.Std, true}} {
		var v []float64
		if err := json.Unmarshal([]byte(md[kv.key]), &v); err != nil || len(v) != 3 {
			return info, nil, bad(kv.key, errors.New("want [r, g, b]"))
		}
		for _, x := range v {
			if kv.pos && !(x > 0) {
				return info, nil, bad(kv.key, errors.New("every std must be positive"))
			}
		}
		copy(kv.dst[:], v)
	}
	if s, ok := md["staa.scale"]; ok {
		if info.Scale, err = strconv.ParseFloat(s, 64); err != nil || !(info.Scale > 0) {
			return info, nil, bad("staa.scale", errors.New("want a positive number"))
		}
	}
	if err := json.Unmarshal([]byte(md["staa.class_names"]), &info.Classes); err != nil || len(info.Classes) == 0 {
		return info, nil, bad("staa.class_names", errors.New("want a non-empty JSON list of strings"))
	}
	if s, ok := md["staa.input"]; ok {
		info.Input = s
	}
	if s, ok := md["staa.input_layout"]; ok {
		if s != "BFCHW" && s != "BCFHW" {
			return info, nil, bad("staa.input_layout", errors.New(`want "BFCHW" or "BCFHW"`))
		}
		info.InputLayout = s
	}
	info.ModelType = md["staa.model_type"]

	var outs map[string]string
	if err := json.Unmarshal([]byte(md["staa.outputs"]), &outs); err != nil {
		return info, nil, bad("staa.outputs", errors.New(`want {"logits": name, "spatial": name, "temporal": name} (or "joint")`))
	}
	for k := range outs {
		if k != "logits" && k != "spatial" && k != "temporal" && k != "joint" {
			return info, nil, bad("staa.outputs", fmt.Errorf("unknown key %q", k))
		}
	}
	info.Outputs = OutputNames{Logits: outs["logits"], Spatial: outs["spatial"], Temporal: outs["temporal"], Joint: outs["joint"]}
	if info.Outputs.Logits == "" {
		return info, nil, bad("staa.outputs", errors.New(`no "logits" entry`))
	}

	// The attention outputs the layout needs, and whether the graph has them.
	var attn []string
	switch g.Layout {
	case staa.Divided:
		if info.Outputs.Joint != "" {
			return info, nil, bad("staa.outputs", errors.New(`layout divided takes "spatial" and "temporal" attention, not "joint"`))
		}
		if info.Outputs.Spatial == "" {
			return info, nil, fmt.Errorf("staa/runtime: model %s has no attention outputs: its metadata staa.outputs names no \"spatial\" attention (layout divided needs the spatial attention of every layer, and the temporal one for rollout through time): %s", name, exportHint)
		}
		attn = []string{info.Outputs.Spatial}
		if info.Outputs.Temporal != "" {
			attn = append(attn, info.Outputs.Temporal)
		}
	case staa.Joint:
		if info.Outputs.Spatial != "" || info.Outputs.Temporal != "" {
			return info, nil, bad("staa.outputs", errors.New(`layout joint takes "joint" attention, not "spatial"/"temporal"`))
		}
		if info.Outputs.Joint == "" {
			return info, nil, fmt.Errorf("staa/runtime: model %s has no attention outputs: its metadata staa.outputs names no \"joint\" attention (layout joint needs the attention of every layer): %s", name, exportHint)
		}
		attn = []string{info.Outputs.Joint}
	}
	var absent []string
	for _, o := range attn {
		if _, ok := m.output(o); !ok {
			absent = append(absent, o)
		}
	}
	if len(absent) == len(attn) {
		return info, nil, fmt.Errorf("staa/runtime: model %s has no attention outputs: its metadata names %s but the graph's outputs are %v (staa needs the attention probabilities of every layer as outputs): %s",
			name, strings.Join(attn, " and "), m.outputNames(), exportHint)
	}
	if len(absent) > 0 {
		return info, nil, fmt.Errorf("staa/runtime: model %s lacks the output %s named by its metadata (graph outputs %v): %s",
			name, strings.Join(absent, ", "), m.outputNames(), exportHint)
	}
	if _, ok := m.output(info.Outputs.Logits); !ok {
		return info, nil, fmt.Errorf("staa/runtime: model %s has no output %q (the logits named by staa.outputs); graph outputs %v", name, info.Outputs.Logits, m.outputNames())
	}

	// The input.
	in, ok := m.input(info.Input)
	if !ok {
		return info, nil, fmt.Errorf("staa/runtime: model %s has no input %q (staa.input); graph inputs %v", name, info.Input, m.inputNames())
	}
	if in.ElemType != onnxFloat {
		return info, nil, fmt.Errorf("staa/runtime: model %s: input %q has element type %d, want float32 (1)", name, info.Input, in.ElemType)
	}
	wantIn := []int64{-1, int64(g.Frames), 3, int64(info.FrameHeight), int64(info.FrameWidth)}
	if info.InputLayout == "BCFHW" {
		wantIn[1], wantIn[2] = 3, int64(g.Frames)
	}
	if in.HasShape && !dimsMatch(in.Shape, wantIn) {
		return info, nil, fmt.Errorf("staa/runtime: model %s: input %q has shape %s, but the metadata (layout %s, frames %d, frame_size [%d, %d]) implies %s",
			name, info.Input, fmtDims(in.Shape), info.InputLayout, g.Frames, info.FrameHeight, info.FrameWidth, fmtWant(wantIn))
	}

	// Output shapes per clip: from the graph where fixed, else from
	// staa.output_shapes, with L and H checked against the geometry.
	var declared map[string][]any
	if s, ok := md["staa.output_shapes"]; ok {
		if err := json.Unmarshal([]byte(s), &declared); err != nil {
			return info, nil, bad("staa.output_shapes", errors.New("want {name: [dims]}"))
		}
	}
	shapes := map[string][]int64{}
	for _, o := range append([]string{info.Outputs.Logits}, attn...) {
		v, _ := m.output(o)
		if v.ElemType != onnxFloat {
			kind := fmt.Sprintf("element type %d", v.ElemType)
			if v.ElemType == onnxFloat16 {
				kind = "float16"
			}
			return info, nil, fmt.Errorf("staa/runtime: model %s: output %q is %s; only float32 outputs are supported", name, o, kind)
		}
		sh, err := clipShape(v, declared[o])
		if err != nil {
			return info, nil, fmt.Errorf("staa/runtime: model %s: output %q: %v", name, o, err)
		}
		shapes[o] = sh
	}
	if err := info.checkShapes(name, shapes); err != nil {
		return info, nil, err
	}
	return info, shapes, nil
}

// geometryDoc returns staa.geometry, or one assembled from staa.layout,
// staa.frames, staa.grid, staa.cls and staa.tubelet, or "" when neither is
// there.
func geometryDoc(md map[string]string) (string, error) {
	if s, ok := md["staa.geometry"]; ok {
		return s, nil
	}
	if _, ok := md["staa.frames"]; !ok {
		return "", nil
	}
	if _, ok := md["staa.grid"]; !ok {
		return "", nil
	}
	parts := []string{`"frames":` + md["staa.frames"], `"grid":` + md["staa.grid"]}
	if s, ok := md["staa.layout"]; ok {
		parts = append(parts, `"layout":`+strconv.Quote(s))
	}
	if s, ok := md["staa.cls"]; ok {
		parts = append(parts, `"cls":`+s)
	}
	if s, ok := md["staa.tubelet"]; ok {
		parts = append(parts, `"tubelet":`+s)
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

// clipShape returns an output's shape without its batch axis: the graph's
// dimensions where they are fixed, the declared ones (staa.output_shapes)
// elsewhere.
func clipShape(v onnxValue, declared []any) ([]int64, error) {
	n := len(v.Shape)
	if !v.HasShape {
		n = len(declared)
	}
	if n < 2 {
		return nil, fmt.Errorf("unknown or batch-less shape (graph %s, staa.output_shapes %v)", fmtDims(v.Shape), declared)
	}
	if declared != nil && len(declared) != n {
		return nil, fmt.Errorf("the graph's shape %s and staa.output_shapes %v differ in rank", fmtDims(v.Shape), declared)
	}
	sh := make([]int64, n-1)
	for i := 1; i < n; i++ {
		d := int64(-1)
		if v.HasShape && v.Shape[i].Value >= 0 {
			d = v.Shape[i].Value
		}
		if declared != nil {
			x, ok := declared[i].(float64)
			if ok && d >= 0 && int64(x) != d {
				return nil, fmt.Errorf("the graph's shape %s and staa.output_shapes %v differ", fmtDims(v.Shape), declared)
			}
			if ok && d < 0 {
				d = int64(x)
			}
		}
		if d <= 0 {
			return nil, fmt.Errorf("dimension %d is dynamic (graph %s) and staa.output_shapes gives no size: only the batch axis may be dynamic", i, fmtDims(v.Shape))
		}
		sh[i-1] = d
	}
	return sh, nil
}

// checkShapes checks the per-clip output shapes against the geometry and
// sets Layers and Heads.
func (info *ModelInfo) checkShapes(name string, shapes map[string][]int64) error {
	g := info.Geometry
	T, N, C := int64(g.Groups()), int64(g.Patches()), int64(g.C())
	check := func(out, what string, want []int64) error {
		got := shapes[out]
		if !dimsEqual(got, want) {
			return fmt.Errorf("staa/runtime: model %s: output %q has per-clip shape %v, but the metadata's geometry (layout %s, frames %d, grid [%d, %d], cls %t, tubelet %d) implies %s %s",
				name, out, got, g.Layout, g.Frames, g.Height, g.Width, g.CLS, max(g.Tubelet, 1), what, fmtWant(want))
		}
		return nil
	}
	if err := check(info.Outputs.Logits, "(classes)", []int64{int64(len(info.Classes))}); err != nil {
		return fmt.Errorf("%w: staa.class_names has %d names", err, len(info.Classes))
	}
	switch g.Layout {
	case staa.Divided:
		sp := shapes[info.Outputs.Spatial]
		if len(sp) != 5 {
			return fmt.Errorf("staa/runtime: model %s: spatial attention %q has per-clip shape %v, want [L, T, H, c+N, c+N]", name, info.Outputs.Spatial, sp)
		}
		L, H := sp[0], sp[2]
		if err := check(info.Outputs.Spatial, "[L, T, H, c+N, c+N] =", []int64{L, T, H, C + N, C + N}); err != nil {
			return err
		}
		if info.Outputs.Temporal != "" {
			tp := shapes[info.Outputs.Temporal]
			if len(tp) != 5 {
				return fmt.Errorf("staa/runtime: model %s: temporal attention %q has per-clip shape %v, want [L, N, H, T, T]", name, info.Outputs.Temporal, tp)
			}
			if err := check(info.Outputs.Temporal, "[L, N, H, T, T] =", []int64{L, N, tp[2], T, T}); err != nil {
				return err
			}
		}
		info.Layers, info.Heads = int(L), int(H)
	case staa.Joint:
		jt := shapes[info.Outputs.Joint]
		if len(jt) != 4 {
			return fmt.Errorf("staa/runtime: model %s: joint attention %q has per-clip shape %v, want [L, H, S, S]", name, info.Outputs.Joint, jt)
		}
		S := int64(g.Tokens())
		if err := check(info.Outputs.Joint, "[L, H, S, S] =", []int64{jt[0], jt[1], S, S}); err != nil {
			return err
		}
		info.Layers, info.Heads = int(jt[0]), int(jt[1])
	}
	for _, kv := range []struct {
		key string
		got int
	}{{"staa.layers", info.Layers}, {"staa.heads", info.Heads}} {
		if s, ok := info.Metadata[kv.key]; ok {
			if n, err := strconv.Atoi(s); err != nil || n != kv.got {
				return fmt.Errorf("staa/runtime: model %s: metadata %s = %q but the attention outputs have %d", name, kv.key, s, kv.got)
			}
		}
	}
	return nil
}

func dimsMatch(got []onnxDim, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i, d := range got {
		if want[i] >= 0 && d.Value >= 0 && d.Value != want[i] {
			return false
		}
	}
	return true
}

func dimsEqual(a, b []int64) bool { return slices.Equal(a, b) }

func fmtDims(ds []onnxDim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		switch {
		case d.Value >= 0:
			parts[i] = strconv.FormatInt(d.Value, 10)
		case d.Param != "":
			parts[i] = d.Param
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtWant(ds []int64) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		if d < 0 {
			parts[i] = "batch"
		} else {
			parts[i] = strconv.FormatInt(d, 10)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
