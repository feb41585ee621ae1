package staa

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// closeSlices32 reports the elements of got farther than tol·max(1, |want|)
// from want (tol 0: exactly equal).
func closeSlices32(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*max(1, math.Abs(want[i]))) {
			t.Errorf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// closeSlices64 is closeSlices32 for float64 results.
func closeSlices64(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*max(1, math.Abs(want[i]))) {
			t.Errorf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func TestPostprocessGamma(t *testing.T) {
	// Two frames of 1×3; γ = 2: [1, 2, 3 | 0, 1, 1]^2 = [1, 4, 9 | 0, 1, 1],
	// divided by the clip's sum 16.
	v := Volume{Frames: 2, Height: 1, Width: 3, Data: []float32{1, 2, 3, 0, 1, 1}}
	s, p, err := Postprocess(v, Post{Gamma: 2})
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "γ 2", s.Data, []float64{1.0 / 16, 4.0 / 16, 9.0 / 16, 0, 1.0 / 16, 1.0 / 16}, 0)
	closeSlices32(t, "γ 2 profile", p, []float64{14.0 / 16, 2.0 / 16}, 1e-7)

	// γ = 0.5 on 2×1 frames [4, 16 | 9, 0]: [2, 4 | 3, 0] / 9.
	v = Volume{Frames: 2, Height: 2, Width: 1, Data: []float32{4, 16, 9, 0}}
	s, _, err = Postprocess(v, Post{Gamma: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "γ 0.5", s.Data, []float64{2.0 / 9, 4.0 / 9, 3.0 / 9, 0}, 1e-7)

	// Values whose squares overflow float32 still focus correctly.
	v = Volume{Frames: 1, Height: 1, Width: 2, Data: []float32{1e30, 3e30}}
	s, _, err = Postprocess(v, Post{Gamma: 2})
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "γ 2, large values", s.Data, []float64{0.1, 0.9}, 1e-7)

	// All zero: stays zero (no sum to divide by). γ 1 and 0 are off.
	for _, g := range []float64{3, 1, 0} {
		s, _, err = Postprocess(NewVolume(2, 2, 3), Post{Gamma: g})
		if err != nil {
			t.Fatal(err)
		}
		closeSlices32(t, fmt.Sprintf("γ %v, zeros", g), s.Data, make([]float64, 12), 0)
	}
	v = Volume{Frames: 1, Height: 1, Width: 2, Data: []float32{2, 5}}
	s, _, _ = Postprocess(v, Post{Gamma: 1})
	closeSlices32(t, "γ 1 is off", s.Data, []float64{2, 5}, 0)
}

func TestPostprocessTemporalProfile(t *testing.T) {
	// Frame masses 1, 2, 1 (frames of 2×3).
	v := NewVolume(3, 2, 3)
	v.Data[0] = 1
	v.Data[6], v.Data[11] = 0.5, 1.5
	v.Data[14] = 1
	_, p, err := Postprocess(v, Raw())
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "profile", p, []float64{0.25, 0.5, 0.25}, 0)

	// An all-zero volume has the uniform profile 1/F.
	_, p, err = Postprocess(NewVolume(5, 3, 2), Optimized())
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "uniform", p, []float64{0.2, 0.2, 0.2, 0.2, 0.2}, 1e-7)

	// Random volumes: P sums to 1 and is taken after thresholding, before
	// normalisation.
	r := rand.New(rand.NewPCG(1, 2))
	v = randomVolume(r, 6, 5, 7)
	_, p, err = Postprocess(v, Post{Threshold: Threshold{Mode: ThresholdMeanStd}, Normalize: NormalizeFrame})
	if err != nil {
		t.Fatal(err)
	}
	thr, p2, _ := Postprocess(v, Post{Threshold: Threshold{Mode: ThresholdMeanStd}})
	closeSlices32(t, "profile before normalisation", p, widen(p2), 0)
	sum, want := 0.0, make([]float64, 6)
	total := 0.0
	for f := range 6 {
		for _, x := range thr.Frame(f) {
			want[f] += float64(x)
		}
		total += want[f]
	}
	for f := range want {
		want[f] /= total
		sum += float64(p[f])
	}
	closeSlices32(t, "profile of the thresholded volume", p, want, 1e-7)
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("profile sums to %v", sum)
	}
}

func TestPostprocessNormalize(t *testing.T) {
	// Frames of 1×2: [1, 2], [0, 0], [4, 1].
	v := Volume{Frames: 3, Height: 1, Width: 2, Data: []float32{1, 2, 0, 0, 4, 1}}
	for _, c := range []struct {
		n    Normalize
		want []float64
	}{
		{NormalizeNone, []float64{1, 2, 0, 0, 4, 1}},
		{NormalizeFrame, []float64{0.5, 1, 0, 0, 1, 0.25}},
		{NormalizeClip, []float64{0.25, 0.5, 0, 0, 1, 0.25}},
	} {
		s, p, err := Postprocess(v, Post{Normalize: c.n})
		if err != nil {
			t.Fatal(err)
		}
		closeSlices32(t, c.n.String(), s.Data, c.want, 0)
		closeSlices32(t, c.n.String()+" profile", p, []float64{3.0 / 8, 0, 5.0 / 8}, 0)
	}
	// An all-zero clip stays zero.
	s, _, _ := Postprocess(NewVolume(2, 2, 2), Post{Normalize: NormalizeClip})
	closeSlices32(t, "zero clip", s.Data, make([]float64, 8), 0)
}

func TestPostprocessComposition(t *testing.T) {
	// The full pipeline equals its steps run one after the other, in the
	// documented order: blur, gamma, threshold, (profile), normalise.
	r := rand.New(rand.NewPCG(3, 4))
	v := randomVolume(r, 4, 5, 3)
	orig := v.Clone()
	for _, th := range []Threshold{
		{Mode: ThresholdMeanStd, K: 0.5},
		{Mode: ThresholdPercentile, P: 70},
		{Mode: ThresholdOtsu},
	} {
		p := Post{Blur: 0.8, Gamma: 1.5, Threshold: th, Normalize: NormalizeFrame}
		s, prof, err := Postprocess(v, p)
		if err != nil {
			t.Fatal(err)
		}
		step := v
		for _, q := range []Post{{Blur: 0.8}, {Gamma: 1.5}, {Threshold: th}} {
			if step, _, err = Postprocess(step, q); err != nil {
				t.Fatal(err)
			}
		}
		final, want, _ := Postprocess(step, Post{Normalize: NormalizeFrame})
		closeSlices32(t, th.Mode.String()+" maps", s.Data, widen(final.Data), 0)
		closeSlices32(t, th.Mode.String()+" profile", prof, widen(want), 0)
	}
	if !slices.Equal(v.Data, orig.Data) {
		t.Error("Postprocess modified its input")
	}
}

func TestPostprocessPresets(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	v := randomVolume(r, 3, 4, 6)
	s, p, err := Postprocess(v, Raw())
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "raw", s.Data, widen(v.Data), 0)
	if &s.Data[0] == &v.Data[0] {
		t.Error("raw shares the input's data")
	}
	if len(p) != 3 {
		t.Errorf("raw: %d profile values, want 3", len(p))
	}
	s, _, err = Postprocess(v, Optimized())
	if err != nil {
		t.Fatal(err)
	}
	// Clip normalisation: values in [0, 1], the maximum reached.
	m := slices.Max(s.Data)
	if m != 1 || slices.Min(s.Data) < 0 {
		t.Errorf("optimized: values in [%v, %v], want within [0, 1] with 1 reached", slices.Min(s.Data), m)
	}
}

func TestPostprocessErrors(t *testing.T) {
	good := NewVolume(2, 2, 3)
	for _, c := range []struct {
		name string
		v    Volume
		p    Post
		want string // in the error message
	}{
		{"NaN", withValue(good, 1, 1, 2, float32(math.NaN())), Raw(), "frame 1"},
		{"NaN position", withValue(good, 1, 1, 2, float32(math.NaN())), Raw(), "[1, 2]"},
		{"+Inf", withValue(good, 0, 0, 1, float32(math.Inf(1))), Optimized(), "non-finite"},
		{"-Inf", withValue(good, 0, 0, 0, float32(math.Inf(-1))), Raw(), "non-finite"},
		{"negative", withValue(good, 1, 0, 0, -1), Raw(), "negative"},
		{"short data", Volume{Frames: 2, Height: 2, Width: 3, Data: make([]float32, 11)}, Raw(), "holds 11 values"},
		{"no frames", Volume{Frames: 0, Height: 2, Width: 3}, Raw(), "empty shape"},
		{"negative blur", good, Post{Blur: -1}, "blur"},
		{"NaN blur", good, Post{Blur: math.NaN()}, "blur"},
		{"negative gamma", good, Post{Gamma: -2}, "gamma"},
		{"percentile above 100", good, Post{Threshold: Threshold{Mode: ThresholdPercentile, P: 150}}, "p must be"},
		{"unknown mode", good, Post{Threshold: Threshold{Mode: 9}}, "threshold mode"},
		{"infinite k", good, Post{Threshold: Threshold{Mode: ThresholdMeanStd, K: math.Inf(1)}}, "k must be finite"},
		{"unknown normalize", good, Post{Normalize: 7}, "normalize"},
	} {
		_, _, err := Postprocess(c.v, c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// withValue returns a copy of v with V[f, i, j] = x.
func withValue(v Volume, f, i, j int, x float32) Volume {
	v = v.Clone()
	v.Data[(f*v.Height+i)*v.Width+j] = x
	return v
}

// randomVolume returns a volume of values in [0, 1), skewed towards 0 as
// attention is.
func randomVolume(r *rand.Rand, frames, height, width int) Volume {
	v := NewVolume(frames, height, width)
	for i := range v.Data {
		x := r.Float32()
		v.Data[i] = x * x * x
	}
	return v
}

func BenchmarkPostprocess(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, frames := range []int{8, 16} {
		v := randomVolume(r, frames, 14, 14)
		b.Run(fmt.Sprintf("optimized/%dx14x14", frames), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Postprocess(v, Optimized()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	small := randomVolume(r, 8, 4, 4)
	b.Run("optimized/8x4x4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Postprocess(small, Optimized()); err != nil {
				b.Fatal(err)
			}
		}
	})
	v := randomVolume(r, 8, 14, 14)
	for _, th := range []Threshold{{Mode: ThresholdPercentile, P: 80}, {Mode: ThresholdOtsu}} {
		b.Run(fmt.Sprintf("%s/8x14x14", th.Mode), func(b *testing.B) {
			b.ReportAllocs()
			p := Optimized()
			p.Threshold = th
			for b.Loop() {
				if _, _, err := Postprocess(v, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
