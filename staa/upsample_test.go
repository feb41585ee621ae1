package staa

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestUpsample2x2To4x4(t *testing.T) {
	// 2 → 4: s = (d+½)·½ − ½ = d/2 − ¼, clamped at 0: d = 0…3 read
	// (i0, λ) = (0, 0), (0, ¼), (0, ¾), (1, ¼) with i1 = min(i0+1, 1), so
	// [a, b] → [a, ¾a+¼b, ¼a+¾b, b]. Rows [0, 4] and [8, 12] become
	// [0, 1, 3, 4] and [8, 9, 11, 12], then the same weights along h.
	v := Volume{Frames: 1, Height: 2, Width: 2, Data: []float32{0, 4, 8, 12}}
	u, err := Upsample(v, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{
		0, 1, 3, 4,
		2, 3, 5, 6,
		6, 7, 9, 10,
		8, 9, 11, 12,
	}
	closeSlices32(t, "2×2 → 4×4", u.Data, want, 0)
	if u.Frames != 1 || u.Height != 4 || u.Width != 4 {
		t.Errorf("shape [%d, %d, %d], want [1, 4, 4]", u.Frames, u.Height, u.Width)
	}
}

func TestUpsampleNonSquare(t *testing.T) {
	// Two frames of 1×3 → 2×6. Along w, 3 → 6: s = d/2 − ¼ → (i0, λ) =
	// (0, 0), (0, ¼), (0, ¾), (1, ¼), (1, ¾), (2, ¼ with i1 = 2), so
	// [a, b, c] → [a, ¾a+¼b, ¼a+¾b, ¾b+¼c, ¼b+¾c, c]. Along h, 1 → 2
	// repeats the row.
	v := Volume{Frames: 2, Height: 1, Width: 3, Data: []float32{0, 4, 8, 1, 1, 5}}
	u, err := Upsample(v, 2, 6)
	if err != nil {
		t.Fatal(err)
	}
	f0 := []float64{0, 1, 3, 5, 7, 8}
	f1 := []float64{1, 1, 1, 2, 4, 5}
	want := append(append(append(append([]float64{}, f0...), f0...), f1...), f1...)
	closeSlices32(t, "1×3 → 2×6", u.Data, want, 0)
}

func TestUpsampleShrink(t *testing.T) {
	// 4 → 2: s = (d+½)·2 − ½ = 2d + ½: the mean of each pair.
	v := Volume{Frames: 1, Height: 1, Width: 4, Data: []float32{0, 1, 2, 3}}
	u, err := Upsample(v, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	closeSlices32(t, "1×4 → 1×2", u.Data, []float64{0.5, 2.5}, 0)
}

func TestUpsampleIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	v := randomVolume(r, 3, 4, 7)
	v.Data[5] = float32(math.Inf(1))
	u, err := Upsample(v, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range v.Data {
		if u.Data[i] != v.Data[i] {
			t.Fatalf("[%d] = %v, want %v", i, u.Data[i], v.Data[i])
		}
	}
	if &u.Data[0] == &v.Data[0] {
		t.Error("Upsample returned the input's data")
	}
}

func TestUpsamplerFrame(t *testing.T) {
	// The reusable Upsampler gives what Upsample gives, frame by frame.
	r := rand.New(rand.NewPCG(11, 12))
	v := randomVolume(r, 2, 3, 5)
	want, err := Upsample(v, 7, 11)
	if err != nil {
		t.Fatal(err)
	}
	up, err := NewUpsampler(3, 5, 7, 11)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 77)
	for f := range 2 {
		up.Frame(dst, v.Frame(f))
		closeSlices32(t, "Frame", dst, widen(want.Frame(f)), 0)
	}
	// A constant map stays constant; values stay within [min, max].
	c := make([]float32, 15)
	for i := range c {
		c[i] = 0.375
	}
	up.Frame(dst, c)
	for i, x := range dst {
		if x != 0.375 {
			t.Fatalf("constant: [%d] = %v", i, x)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Frame with a short src did not panic")
		}
	}()
	up.Frame(dst, c[:14])
}

func TestUpsampleErrors(t *testing.T) {
	v := NewVolume(2, 3, 3)
	for _, c := range []struct {
		v    Volume
		h, w int
		want string
	}{
		{v, 0, 4, "output size"},
		{v, 4, -1, "output size"},
		{Volume{Frames: 1, Height: 2, Width: 2, Data: make([]float32, 3)}, 4, 4, "holds 3 values"},
		{Volume{}, 4, 4, "empty shape"},
		{v, 1 << 20, 1 << 20, "too large"},
	} {
		_, err := Upsample(c.v, c.h, c.w)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Upsample to %d×%d: got error %v, want one containing %q", c.h, c.w, err, c.want)
		}
	}
	if _, err := NewUpsampler(0, 2, 4, 4); err == nil || !strings.Contains(err.Error(), "input size") {
		t.Errorf("NewUpsampler(0, 2, 4, 4): got error %v", err)
	}
}

func BenchmarkUpsample(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	v := randomVolume(r, 8, 14, 14)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Upsample(v, 224, 224); err != nil {
			b.Fatal(err)
		}
	}
}
