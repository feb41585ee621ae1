package staa_test

import (
	"reflect"
	"testing"

	"github.com/staa-dev/staa/staa"
)

// FuzzParseConfig feeds arbitrary options_json documents to ParseConfig. It
// must never panic; what it accepts must validate, and parsing is
// deterministic.
//
//	go test ./staa -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 10s
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		``,
		`{}`,
		`{"frames": 8, "grid": [14, 14]}`,
		`{"layout": "joint", "frames": 16, "grid": [14, 14], "cls": false, "tubelet": 2, "method": "rollout", "residual": 0.5}`,
		`{"layout": "divided", "frames": 8, "grid": [3, 4], "method": "last", "head_fusion": "max", "postprocess": "raw", "volume": true, "workers": 2}`,
		`{"frames": 8, "grid": [2, 2], "postprocess": {"blur": 0.5, "gamma": 2, "threshold": {"mode": "meanstd", "k": 0}, "normalize": "clip"}}`,
		`{"frames": 8, "grid": [2, 2], "postprocess": {"threshold": {"mode": "percentile", "p": 90}, "normalize": "frame"}}`,
		`{"frames": 8, "grid": [2, 2], "postprocess": {"threshold": "otsu"}}`,
		`{"frames": 8, "grid": [2, 2], "postprocess": {"threshold": {"mode": "otsu", "k": 1}}}`,
		`{"frames": 8, "grid": [2, 2], "bogus": 1}`,
		`{"frames": 8, "grid": [2, 2]} trailing`,
		`{"frames": -1, "grid": [0, 2], "tubelet": 3}`,
		`{"frames": 1e400, "grid": [1]}`,
		`[1, 2, 3]`,
		`{"frames": 8, "grid": [2, 2], "residual": NaN}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := staa.ParseConfig(data)
		c2, err2 := staa.ParseConfig(data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(c, c2) {
			t.Fatalf("ParseConfig is not deterministic on %q", data)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error message for %q", data)
			}
			return
		}
		if err := c.Geometry.Validate(); err != nil {
			t.Fatalf("accepted %q with an invalid geometry: %v", data, err)
		}
		if err := c.Options.Validate(); err != nil {
			t.Fatalf("accepted %q with invalid options: %v", data, err)
		}
		if c.Geometry.Frames <= 0 || c.Geometry.Height <= 0 || c.Geometry.Width <= 0 || c.Geometry.Groups() <= 0 {
			t.Fatalf("accepted %q with geometry %+v", data, c.Geometry)
		}
	})
}

// FuzzParsePost feeds arbitrary "postprocess" values to ParsePost.
func FuzzParsePost(f *testing.F) {
	for _, s := range []string{`"raw"`, `"optimized"`, `{}`, `{"blur": 1, "gamma": 3}`, `{"threshold": {"mode": "percentile", "p": 50}}`, `{"threshold": "bogus"}`, `{"normalize": "x"}`, `null`, `7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := staa.ParsePost(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted %q with invalid post-processing %+v: %v", data, p, err)
		}
	})
}
