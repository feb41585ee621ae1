package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strings"
	"testing"
)

func mustGenerate(t *testing.T, o Options, seed uint64, i int) Sample {
	t.Helper()
	s, err := o.Generate(seed, i)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameSample(a, b Sample) bool {
	if a.Index != b.Index || a.Label != b.Label || !bytes.Equal(a.Clip, b.Clip) || !bytes.Equal(a.Mask, b.Mask) || len(a.Visible) != len(b.Visible) {
		return false
	}
	for f := range a.Visible {
		if a.Visible[f] != b.Visible[f] {
			return false
		}
	}
	return true
}

func TestDeterminism(t *testing.T) {
	o := DefaultOptions()
	for i := range 8 {
		a, b := mustGenerate(t, o, 7, i), mustGenerate(t, o, 7, i)
		if !sameSample(a, b) {
			t.Fatalf("sample %d: two generations differ", i)
		}
		c := mustGenerate(t, o, 8, i)
		if bytes.Equal(a.Clip, c.Clip) {
			t.Fatalf("sample %d: seeds 7 and 8 give the same clip", i)
		}
	}
	if bytes.Equal(mustGenerate(t, o, 7, 0).Clip, mustGenerate(t, o, 7, 1).Clip) {
		t.Fatal("samples 0 and 1 are equal")
	}
}

// A sample depends on (options, seed, index) only: not on the split size,
// nor on how many goroutines render it.
func TestSplitIndependence(t *testing.T) {
	o := NewOptions(8, 32, 32)
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	long, err := o.GenerateSplit(3, 23)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(1)
	short, err := o.GenerateSplit(3, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i := range short {
		if !sameSample(short[i], long[i]) {
			t.Fatalf("sample %d differs between splits of 9 and 23", i)
		}
		if !sameSample(short[i], mustGenerate(t, o, 3, i)) {
			t.Fatalf("sample %d differs from Generate", i)
		}
	}
}

// The bytes are pinned: a change to the generator changes the benchmark (and
// the shipped model's training data), so it must be deliberate. Update the
// hashes when it is, and retrain (make model).
func TestGolden(t *testing.T) {
	want := map[int]string{
		0: "ef3631a4978a5e9ef24f54ce9aa0a4f234cab629f7b60dfb464f5efbf3518c4c",
		1: "d1f40838854ba6e4dbb29acfa682eb58cca44fbff1ca4b457cd93d77a7adf5b9",
	}
	o := DefaultOptions()
	for i, w := range want {
		s := mustGenerate(t, o, 1, i)
		h := sha256.New()
		h.Write(s.Clip)
		h.Write(s.Mask)
		got := hex.EncodeToString(h.Sum(nil))
		if got != w {
			t.Errorf("sample %d of seed 1: sha256 %s, want %s", i, got, w)
		}
	}
}

// Rendering without the target changes exactly the pixels of the mask, in
// the visible frames only; the mask is empty elsewhere.
func TestMaskIsTarget(t *testing.T) {
	for _, o := range []Options{DefaultOptions(), NewOptions(16, 32, 48), NewOptions(4, 96, 80)} {
		F, H, W := o.Frames, o.Height, o.Width
		for i := range 40 {
			with := o.render(11, i, true)
			without := o.render(11, i, false)
			for f := range F {
				inMask, changed := 0, 0
				for p := range H * W {
					m := with.Mask[f*H*W+p]
					if m > 1 {
						t.Fatalf("%dx%dx%d sample %d frame %d: mask value %d", F, H, W, i, f, m)
					}
					diff := false
					for c := range 3 {
						k := 3*(f*H*W+p) + c
						diff = diff || with.Clip[k] != without.Clip[k]
					}
					if m == 1 {
						inMask++
						if diff {
							changed++
						}
					} else if diff {
						t.Fatalf("%dx%dx%d sample %d frame %d: pixel %d changed outside the mask", F, H, W, i, f, p)
					}
				}
				if !with.Visible[f] {
					if inMask != 0 {
						t.Fatalf("sample %d frame %d: target invisible but mask has %d pixels", i, f, inMask)
					}
					continue
				}
				if inMask == 0 {
					t.Fatalf("sample %d frame %d: target visible but mask empty", i, f)
				}
				if changed*10 < inMask*9 {
					t.Errorf("sample %d frame %d: only %d of %d mask pixels differ from the background", i, f, changed, inMask)
				}
			}
		}
	}
}

// The visible frames form one run of MinVisible…MaxVisible frames; the
// target is whole (same area) in each, and moves in the class direction.
func TestWindowAndMotion(t *testing.T) {
	o := DefaultOptions()
	F, H, W := o.Frames, o.Height, o.Width
	lengths := map[int]int{}
	for i := range 400 {
		s := mustGenerate(t, o, 5, i)
		first, n := s.Window()
		lengths[n]++
		if n < o.MinVisible || n > o.MaxVisible {
			t.Fatalf("sample %d: %d visible frames, want [%d, %d]", i, n, o.MinVisible, o.MaxVisible)
		}
		for f := range F {
			if s.Visible[f] != (f >= first && f < first+n) {
				t.Fatalf("sample %d: visible %v is not contiguous", i, s.Visible)
			}
		}
		area := -1
		var cx, cy []float64
		for f := first; f < first+n; f++ {
			a, sx, sy := 0, 0, 0
			for y := range H {
				for x := range W {
					if s.Mask[f*H*W+y*W+x] == 1 {
						a++
						sx += x
						sy += y
					}
				}
			}
			if area >= 0 && a != area {
				t.Fatalf("sample %d frame %d: target area %d, %d in frame %d (clipped?)", i, f, a, area, first)
			}
			area = a
			cx = append(cx, float64(sx)/float64(a))
			cy = append(cy, float64(sy)/float64(a))
		}
		dx, dy := cx[n-1]-cx[0], cy[n-1]-cy[0]
		ux, uy := s.Label.direction()
		along := dx*float64(ux) + dy*float64(uy)
		across := dx*float64(uy) + dy*float64(ux)
		if n > 1 && (along <= 0 || along < 2*abs64(across)) {
			t.Fatalf("sample %d (%v): target moved (%.1f, %.1f)", i, s.Label, dx, dy)
		}
	}
	for n := o.MinVisible; n <= o.MaxVisible; n++ {
		if lengths[n] == 0 {
			t.Errorf("no window of %d frames in 400 samples: %v", n, lengths)
		}
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestClassBalance(t *testing.T) {
	for _, n := range []int{4, 100, 1001, 4003} {
		counts := make([]int, NumClasses)
		for i := range n {
			counts[Label(9, i)]++
		}
		lo, hi := counts[0], counts[0]
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 1 || (n%NumClasses == 0 && hi != lo) {
			t.Errorf("n=%d: class counts %v", n, counts)
		}
	}
	// Not a fixed cycle.
	var seq strings.Builder
	for i := range 40 {
		seq.WriteString(Label(9, i).String()[:1])
	}
	if strings.Contains(seq.String(), strings.Repeat(seq.String()[:4], 10)) {
		t.Errorf("labels repeat with period 4: %s", seq.String())
	}
	s := mustGenerate(t, DefaultOptions(), 9, 13)
	if s.Label != Label(9, 13) {
		t.Errorf("Generate label %v, Label %v", s.Label, Label(9, 13))
	}
}

func TestClassNames(t *testing.T) {
	names := ClassNames()
	if len(names) != NumClasses || names[Right] != "right" || names[Up] != "up" {
		t.Fatalf("ClassNames() = %v", names)
	}
	names[0] = "x"
	if ClassNames()[0] != "right" {
		t.Fatal("ClassNames returns shared storage")
	}
	if Class(7).String() != "Class(7)" {
		t.Fatal(Class(7).String())
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Options){
		"frames 0":        func(o *Options) { o.Frames = 0 },
		"size 8":          func(o *Options) { o.Height = 8 },
		"min > max":       func(o *Options) { o.MinVisible, o.MaxVisible = 5, 4 },
		"max > frames":    func(o *Options) { o.MaxVisible = 9 },
		"min 0":           func(o *Options) { o.MinVisible = 0 },
		"distractors":     func(o *Options) { o.MinDistractors, o.MaxDistractors = 3, 2 },
		"negative":        func(o *Options) { o.MinDistractors = -1 },
		"decoy":           func(o *Options) { o.DecoyPermille = 1001 },
		"noise":           func(o *Options) { o.Noise = -1 },
		"flicker":         func(o *Options) { o.Flicker = 65 },
		"too small frame": func(o *Options) { o.Frames, o.MaxVisible, o.Height, o.Width = 64, 64, 16, 16 },
	}
	for name, f := range bad {
		o := DefaultOptions()
		f(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := o.Generate(1, 0); err == nil {
			t.Errorf("%s: Generate: no error", name)
		}
	}
	if _, err := DefaultOptions().Generate(1, -1); err == nil {
		t.Error("index -1: no error")
	}
	for _, f := range []int{1, 2, 3, 5, 16, 32, 100} {
		if err := NewOptions(f, 64, 64).Validate(); err != nil {
			t.Errorf("NewOptions(%d, 64, 64): %v", f, err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	o := DefaultOptions()
	for i := 0; b.Loop(); i++ {
		o.render(1, i, true)
	}
}
