package staa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Config is what an options_json document of the C ABI holds: the geometry,
// the method and the post-processing.
type Config struct {
	Geometry Geometry
	Options  Options
	// Volume asks for the attribution volume before post-processing as an
	// extra output column ("volume": true).
	Volume bool
}

// configJSON mirrors the options_json keys; pointers tell "absent" from zero.
type configJSON struct {
	Layout      *string         `json:"layout"`
	Frames      *int            `json:"frames"`
	Grid        *[]int          `json:"grid"`
	CLS         *bool           `json:"cls"`
	Tubelet     *int            `json:"tubelet"`
	Method      *string         `json:"method"`
	HeadFusion  *string         `json:"head_fusion"`
	Residual    *float64        `json:"residual"`
	Postprocess json.RawMessage `json:"postprocess"`
	Workers     *int            `json:"workers"`
	Volume      *bool           `json:"volume"`
}

type postJSON struct {
	Blur      *float64        `json:"blur"`
	Gamma     *float64        `json:"gamma"`
	Threshold json.RawMessage `json:"threshold"`
	Normalize *string         `json:"normalize"`
}

type thresholdJSON struct {
	Mode *string  `json:"mode"`
	K    *float64 `json:"k"`
	P    *float64 `json:"p"`
}

// strictUnmarshal decodes data into v, refusing unknown keys and trailing data.
func strictUnmarshal(data []byte, v any, what string) error {
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

// ParseConfig parses an options_json document. Absent keys take their
// defaults (divided layout with CLS, tubelet 1, rollout, mean fusion, α 0.5,
// the optimized preset); frames and grid are required, because the engine
// cannot guess them. Unknown keys are an error.
func ParseConfig(data []byte) (Config, error) {
	var cj configJSON
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := strictUnmarshal(data, &cj, "options"); err != nil {
		return Config{}, err
	}
	c := Config{
		Geometry: Geometry{Layout: Divided, CLS: true, Tubelet: 1},
		Options:  DefaultOptions(),
	}
	var err error
	if cj.Layout != nil {
		if c.Geometry.Layout, err = ParseLayout(*cj.Layout); err != nil {
			return Config{}, err
		}
	}
	if cj.Frames == nil {
		return Config{}, errors.New("staa: options: \"frames\" is required")
	}
	c.Geometry.Frames = *cj.Frames
	if cj.Grid == nil {
		return Config{}, errors.New("staa: options: \"grid\" ([h, w]) is required")
	}
	if len(*cj.Grid) != 2 {
		return Config{}, fmt.Errorf("staa: options: \"grid\" must be [h, w], got %v", *cj.Grid)
	}
	c.Geometry.Height, c.Geometry.Width = (*cj.Grid)[0], (*cj.Grid)[1]
	if cj.CLS != nil {
		c.Geometry.CLS = *cj.CLS
	}
	if cj.Tubelet != nil {
		if *cj.Tubelet <= 0 {
			return Config{}, fmt.Errorf("staa: options: \"tubelet\" must be positive, got %d", *cj.Tubelet)
		}
		c.Geometry.Tubelet = *cj.Tubelet
	}
	if cj.Method != nil {
		if c.Options.Method, err = ParseMethod(*cj.Method); err != nil {
			return Config{}, err
		}
	}
	if cj.HeadFusion != nil {
		if c.Options.Fusion, err = ParseFusion(*cj.HeadFusion); err != nil {
			return Config{}, err
		}
	}
	if cj.Residual != nil {
		c.Options.Residual = *cj.Residual
	}
	if cj.Workers != nil {
		c.Options.Workers = *cj.Workers
	}
	if cj.Volume != nil {
		c.Volume = *cj.Volume
	}
	if cj.Postprocess != nil {
		if c.Options.Post, err = ParsePost(cj.Postprocess); err != nil {
			return Config{}, err
		}
	}
	if err := c.Geometry.Validate(); err != nil {
		return Config{}, err
	}
	if err := c.Options.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ParsePost parses a "postprocess" value: a preset name ("raw",
// "optimized") or an object with the keys blur, gamma, threshold
// ({"mode": ..., "k": ..., "p": ...} or a mode name) and normalize. Keys
// absent from an object are off.
func ParsePost(data []byte) (Post, error) {
	var name string
	if err := json.Unmarshal(data, &name); err == nil {
		return ParsePreset(name)
	}
	var pj postJSON
	if err := strictUnmarshal(data, &pj, "postprocess"); err != nil {
		return Post{}, err
	}
	var p Post
	var err error
	if pj.Blur != nil {
		p.Blur = *pj.Blur
	}
	if pj.Gamma != nil {
		p.Gamma = *pj.Gamma
	}
	if pj.Normalize != nil {
		if p.Normalize, err = ParseNormalize(*pj.Normalize); err != nil {
			return Post{}, err
		}
	}
	if pj.Threshold != nil {
		if p.Threshold, err = parseThreshold(pj.Threshold); err != nil {
			return Post{}, err
		}
	}
	return p, p.Validate()
}

func parseThreshold(data []byte) (Threshold, error) {
	var t Threshold
	var name string
	if err := json.Unmarshal(data, &name); err == nil {
		t.Mode, err = ParseThresholdMode(name)
		return t, err
	}
	var tj thresholdJSON
	if err := strictUnmarshal(data, &tj, "postprocess.threshold"); err != nil {
		return Threshold{}, err
	}
	if tj.Mode == nil {
		return Threshold{}, errors.New("staa: postprocess.threshold: \"mode\" is required")
	}
	var err error
	if t.Mode, err = ParseThresholdMode(*tj.Mode); err != nil {
		return Threshold{}, err
	}
	switch {
	case tj.K != nil && t.Mode != ThresholdMeanStd:
		return Threshold{}, fmt.Errorf("staa: postprocess.threshold: \"k\" applies to mode \"meanstd\", not %q", *tj.Mode)
	case tj.P != nil && t.Mode != ThresholdPercentile:
		return Threshold{}, fmt.Errorf("staa: postprocess.threshold: \"p\" applies to mode \"percentile\", not %q", *tj.Mode)
	case t.Mode == ThresholdPercentile && tj.P == nil:
		return Threshold{}, errors.New("staa: postprocess.threshold: mode \"percentile\" needs \"p\"")
	}
	if tj.K != nil {
		t.K = *tj.K
	}
	if tj.P != nil {
		t.P = *tj.P
	}
	return t, nil
}
