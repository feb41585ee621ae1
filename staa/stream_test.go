package staa

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestEMA(t *testing.T) {
	var e EMA // α = 0.3
	x1 := []float32{1, 10}
	s := e.Update(x1)
	closeSlices32(t, "s1", s, []float64{1, 10}, 0)
	s[0] = 99 // the result is the caller's
	// s2 = 0.3·[2, 0] + 0.7·[1, 10] = [1.3, 7]
	closeSlices32(t, "s2", e.Update([]float32{2, 0}), []float64{1.3, 7}, 1e-7)
	// s3 = 0.3·[0, 0] + 0.7·[1.3, 7] = [0.91, 4.9]
	closeSlices32(t, "s3", e.Update([]float32{0, 0}), []float64{0.91, 4.9}, 1e-7)
	if x1[0] != 1 {
		t.Error("Update modified its input")
	}

	e.Reset()
	closeSlices32(t, "after Reset", e.Update([]float32{5, 6, 7}), []float64{5, 6, 7}, 0)

	one := EMA{Alpha: 1} // no memory
	one.Update([]float32{1})
	closeSlices32(t, "α 1", one.Update([]float32{4}), []float64{4}, 0)

	half := EMA{Alpha: 0.5}
	half.Update([]float32{0})
	half.Update([]float32{1})
	closeSlices32(t, "α ½", half.Update([]float32{1}), []float64{0.75}, 0)
}

func TestEMAPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"length": func() {
			var e EMA
			e.Update([]float32{1, 2})
			e.Update([]float32{1})
		},
		"alpha": func() {
			e := EMA{Alpha: 1.5}
			e.Update([]float32{1})
		},
		"NaN alpha": func() {
			e := EMA{Alpha: math.NaN()}
			e.Update([]float32{1})
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestSavitzkyGolayPolynomials(t *testing.T) {
	// A polynomial of degree ≤ order is its own least-squares fit, at the
	// edges as well as inside.
	for _, c := range []struct {
		n, window, order int
		p                func(float64) float64
	}{
		{11, 5, 2, func(i float64) float64 { return 2 - 3*i + 0.5*i*i }},
		{15, 7, 3, func(i float64) float64 { return 1 + i - 0.2*i*i + 0.01*i*i*i }},
		{9, 9, 1, func(i float64) float64 { return 4 - 0.25*i }},
		{6, 3, 0, func(float64) float64 { return 7 }},
		{12, 5, 4, func(i float64) float64 { return 1e-3 * i * i * i * i }},
	} {
		x, want := make([]float64, c.n), make([]float64, c.n)
		for i := range x {
			x[i] = c.p(float64(i))
			want[i] = x[i]
		}
		y, err := SavitzkyGolay(x, c.window, c.order)
		if err != nil {
			t.Fatal(err)
		}
		for i := range y {
			if math.Abs(y[i]-want[i]) > 1e-9 {
				t.Errorf("n %d window %d order %d: y[%d] = %v, want %v", c.n, c.window, c.order, i, y[i], want[i])
			}
		}
	}
}

func TestSavitzkyGolayKnown(t *testing.T) {
	// Window 3, order 1: inside, the moving average; at the ends the line
	// fitted to the first (last) 3 samples a, b, c, whose value at the first
	// sample is mean − slope = (a+b+c)/3 − (c−a)/2 = (5a+2b−c)/6, and at the
	// last (−a+2b+5c)/6.
	// [1, 4, 2, 8, 5] → [11/6, 7/3, 14/3, 5, 39/6].
	y, err := SavitzkyGolay([]float64{1, 4, 2, 8, 5}, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	closeSlices64(t, "window 3 order 1", y, []float64{11.0 / 6, 7.0 / 3, 14.0 / 3, 5, 39.0 / 6}, 1e-13)

	// scipy's documentation example: savgol_filter(x, 5, 2) with the
	// interior weights (−3, 12, 17, 12, −3)/35; the last window lies on the
	// parabola (i−6)², so the last three values are kept.
	x := []float64{2, 2, 5, 2, 1, 0, 1, 4, 9}
	y, err = SavitzkyGolay(x, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{58, 111, 124, 100, 23, 6, 35, 140, 315}
	for i := range want {
		want[i] /= 35
	}
	closeSlices64(t, "scipy example", y, want, 1e-13)

	// Window 1, order 0: the identity.
	y, err = SavitzkyGolay(x, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeSlices64(t, "window 1", y, x, 0)
}

func TestSavitzkyGolayErrors(t *testing.T) {
	x := make([]float64, 6)
	for _, c := range []struct {
		x             []float64
		window, order int
		want          string
	}{
		{x, 4, 2, "odd"},
		{x, 0, 0, "odd"},
		{x, -3, 0, "odd"},
		{x, 3, 3, "greater than order"},
		{x, 3, 5, "greater than order"},
		{x, 7, 2, "must not exceed the length"},
		{nil, 1, 0, "must not exceed the length"},
		{x, 3, -1, "order must be >= 0"},
	} {
		_, err := SavitzkyGolay(c.x, c.window, c.order)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("window %d order %d over %d samples: got error %v, want one containing %q",
				c.window, c.order, len(c.x), err, c.want)
		}
	}
}

func TestKeyFrames(t *testing.T) {
	// Peaks: 1 (0.3), 4 (0.5, first of a plateau), 7 (0.4, the last frame
	// above its one neighbour).
	p := []float32{0.1, 0.3, 0.2, 0.2, 0.5, 0.5, 0.1, 0.4}
	for _, c := range []struct {
		k, dist int
		want    []int
	}{
		{3, 0, []int{1, 4, 7}},
		{10, 1, []int{1, 4, 7}},
		{2, 0, []int{4, 7}},    // the two highest, in frame order
		{1, 0, []int{4}},       // the highest
		{3, 3, []int{1, 4, 7}}, // |7−4| = |4−1| = 3 is enough
		{3, 4, []int{4}},       // 7 and 1 are too close to 4
		{0, 0, nil},
	} {
		if got := KeyFrames(p, c.k, c.dist); !slices.Equal(got, c.want) {
			t.Errorf("k %d distance %d: got %v, want %v", c.k, c.dist, got, c.want)
		}
	}
	for _, c := range []struct {
		name    string
		p       []float32
		k, dist int
		want    []int
	}{
		{"both ends", []float32{3, 1, 2}, 2, 0, []int{0, 2}},
		{"ends, k 1", []float32{3, 1, 2}, 1, 0, []int{0}},
		{"equal peaks: earlier first", []float32{1, 0, 1, 0, 1}, 2, 3, []int{0, 4}},
		{"plateau at the end", []float32{0, 2, 2}, 3, 0, []int{1}},
		{"plateau at the start is not above its neighbour", []float32{2, 2, 0}, 3, 0, nil},
		{"constant", []float32{0.25, 0.25, 0.25, 0.25}, 2, 0, nil},
		{"single frame", []float32{1}, 1, 0, []int{0}},
		{"empty", nil, 1, 0, nil},
		{"NaN", []float32{0, float32(math.NaN()), 0}, 1, 0, nil},
		{"rising", []float32{0, 1, 2, 3}, 2, 0, []int{3}},
	} {
		if got := KeyFrames(c.p, c.k, c.dist); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
