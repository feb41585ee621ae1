package fakeattn

import (
	"testing"

	"github.com/staa-dev/staa/staa"
)

func TestMaskFollowsSpec(t *testing.T) {
	s := Default()
	m := s.Mask()
	for f := 0; f < s.Frames; f++ {
		var n int
		for _, x := range m.Frame(f) {
			if x > 0 {
				n++
			}
		}
		want := 0
		if f >= s.First && f <= s.Last {
			want = s.Size * s.Size
		}
		if n != want {
			t.Errorf("frame %d: %d target patches, want %d", f, n, want)
		}
	}
}

func TestClipRowsAreProbabilities(t *testing.T) {
	c := Default().Clip()
	for _, a := range []staa.Tensor{c.Spatial, c.Temporal} {
		n := a.Shape[len(a.Shape)-1]
		for r := 0; r < len(a.F32)/n; r++ {
			var s float64
			for _, x := range a.F32[r*n : (r+1)*n] {
				s += float64(x)
			}
			if s < 0.9999 || s > 1.0001 {
				t.Fatalf("row %d sums to %v", r, s)
			}
		}
	}
}

// The engine finds the planted target: more mass inside it than outside,
// and more temporal weight on the frames where it shows.
func TestEngineFindsTarget(t *testing.T) {
	s := Default()
	g, c, m := s.Geometry(), s.Clip(), s.Mask()
	a, err := staa.Attribute(g, c, staa.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var in, out float64
	var nin, nout int
	for i, x := range a.Spatial.Data {
		if m.Data[i] > 0 {
			in += float64(x)
			nin++
		} else {
			out += float64(x)
			nout++
		}
	}
	if in/float64(nin) < 3*out/float64(nout) {
		t.Errorf("mean inside %v is not well above mean outside %v", in/float64(nin), out/float64(nout))
	}
	var visible float32
	for f := s.First; f <= s.Last; f++ {
		visible += a.Temporal[f]
	}
	if visible < 0.6 {
		t.Errorf("temporal mass on the visible frames = %v, want > 0.6 (profile %v)", visible, a.Temporal)
	}
}
