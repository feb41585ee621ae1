package synth

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Class is the label of a clip: the direction in which its target moves.
type Class int

// The classes, in label order.
const (
	Right Class = iota // the target moves towards +x
	Left               // towards −x
	Down               // towards +y (image rows grow downwards)
	Up                 // towards −y
)

// NumClasses is the number of classes.
const NumClasses = 4

var classNames = [NumClasses]string{"right", "left", "down", "up"}

// ClassNames returns the class names in label order.
func ClassNames() []string { return append([]string(nil), classNames[:]...) }

func (c Class) String() string {
	if c >= 0 && int(c) < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// direction returns the unit step (dx, dy) of c.
func (c Class) direction() (int, int) {
	switch c {
	case Right:
		return 1, 0
	case Left:
		return -1, 0
	case Down:
		return 0, 1
	default:
		return 0, -1
	}
}

// Options configures the generator. Start from NewOptions or DefaultOptions
// and change what you need; Validate says what is wrong with a combination.
type Options struct {
	Frames int `json:"frames"` // F, frames per clip
	Height int `json:"height"` // H, pixel rows
	Width  int `json:"width"`  // W, pixel columns

	// The target is visible in a contiguous window of between MinVisible and
	// MaxVisible frames (inclusive), placed uniformly at random.
	MinVisible int `json:"min_visible"`
	MaxVisible int `json:"max_visible"`

	// Distractors per clip, drawn uniformly in [MinDistractors, MaxDistractors].
	MinDistractors int `json:"min_distractors"`
	MaxDistractors int `json:"max_distractors"`

	// DecoyPermille is the probability, in thousandths, that a clip holds one
	// more distractor: a square in the target's colour.
	DecoyPermille int `json:"decoy_permille"`

	// Objects (target and distractors) have a half-size (radius) of
	// MinRadius…MaxRadius pixels and move MinSpeed…MaxSpeed pixels per frame.
	MinRadius int `json:"min_radius"`
	MaxRadius int `json:"max_radius"`
	MinSpeed  int `json:"min_speed"`
	MaxSpeed  int `json:"max_speed"`

	// Texture scales the contrast of the background texture, in percent.
	Texture int `json:"texture"`

	// Noise is the standard deviation of the per-pixel noise, in grey levels
	// (an Irwin–Hall sum of three uniform draws on [−Noise, Noise]).
	Noise int `json:"noise"`

	// Flicker is the largest per-frame brightness offset, in grey levels.
	Flicker int `json:"flicker"`
}

// NewOptions returns the default options for clips of the given size: the
// target window covers 3/8 to 3/4 of the frames, 2 to 3 distractors, a decoy
// in a quarter of the clips, noise 6 and flicker 8. Object radii (6 to 9
// pixels at 64×64) and speeds (3 to 5 pixels per frame at 64×64) scale with
// min(height, width); for long clips the window is capped so that the target
// stays in the frame.
func NewOptions(frames, height, width int) Options {
	minVis := max(2, (3*frames+4)/8)
	maxVis := max(minVis, (3*frames)/4)
	if frames < minVis {
		minVis, maxVis = frames, frames
	}
	s := min(height, width)
	rMin := max(2, s*6/64)
	rMax := max(rMin, s*9/64)
	sMin := max(1, s*3/64)
	// Long clips: keep the longest window short enough for the target to
	// stay in the frame at the slowest speed.
	if fit := 1 + (s-1-2*rMax)/sMin; fit >= 1 && maxVis > fit {
		maxVis = fit
		minVis = min(minVis, maxVis)
	}
	return Options{
		Frames: frames, Height: height, Width: width,
		MinVisible: minVis, MaxVisible: maxVis,
		MinDistractors: 2, MaxDistractors: 3,
		DecoyPermille: 250,
		MinRadius:     rMin, MaxRadius: rMax,
		MinSpeed: sMin, MaxSpeed: max(sMin, s*5/64),
		Texture: 100,
		Noise:   6,
		Flicker: 8,
	}
}

// DefaultOptions returns NewOptions(8, 64, 64).
func DefaultOptions() Options { return NewOptions(8, 64, 64) }

// Limits on the sizes, so that one clip stays well inside the 2 GiB an Arrow
// FixedSizeList can hold.
const (
	maxFrames = 1024
	maxSide   = 4096
	maxClip   = 1 << 28 // bytes of one clip
)

// Validate reports whether o can generate clips: positive sizes, 1 ≤
// MinVisible ≤ MaxVisible ≤ Frames, 0 ≤ MinDistractors ≤ MaxDistractors ≤ 64,
// DecoyPermille in [0, 1000], 1 ≤ MinRadius ≤ MaxRadius, 1 ≤ MinSpeed ≤
// MaxSpeed, Texture in [0, 400], Noise in [0, 64], Flicker in [0, 64], and a
// frame large enough (at least 16 pixels a side) for the largest target to
// cross it during its longest window at the slowest speed.
func (o Options) Validate() error {
	if o.Frames < 1 || o.Frames > maxFrames {
		return fmt.Errorf("synth: frames %d out of range [1, %d]", o.Frames, maxFrames)
	}
	if o.Height < 16 || o.Width < 16 || o.Height > maxSide || o.Width > maxSide {
		return fmt.Errorf("synth: frame size %d×%d out of range [16, %d]", o.Height, o.Width, maxSide)
	}
	if o.Frames*o.Height*o.Width*3 > maxClip {
		return fmt.Errorf("synth: a clip of %d×%d×%d×3 bytes is too large", o.Frames, o.Height, o.Width)
	}
	if o.MinVisible < 1 || o.MinVisible > o.MaxVisible || o.MaxVisible > o.Frames {
		return fmt.Errorf("synth: visible window [%d, %d] frames, want 1 ≤ min ≤ max ≤ frames (%d)", o.MinVisible, o.MaxVisible, o.Frames)
	}
	if o.MinDistractors < 0 || o.MinDistractors > o.MaxDistractors || o.MaxDistractors > 64 {
		return fmt.Errorf("synth: distractors [%d, %d], want 0 ≤ min ≤ max ≤ 64", o.MinDistractors, o.MaxDistractors)
	}
	if o.DecoyPermille < 0 || o.DecoyPermille > 1000 {
		return fmt.Errorf("synth: decoy probability %d‰ out of range [0, 1000]", o.DecoyPermille)
	}
	if o.Noise < 0 || o.Noise > 64 {
		return fmt.Errorf("synth: noise %d out of range [0, 64]", o.Noise)
	}
	if o.Flicker < 0 || o.Flicker > 64 {
		return fmt.Errorf("synth: flicker %d out of range [0, 64]", o.Flicker)
	}
	if o.MinRadius < 1 || o.MinRadius > o.MaxRadius {
		return fmt.Errorf("synth: radius [%d, %d], want 1 ≤ min ≤ max", o.MinRadius, o.MaxRadius)
	}
	if o.MinSpeed < 1 || o.MinSpeed > o.MaxSpeed {
		return fmt.Errorf("synth: speed [%d, %d] px/frame, want 1 ≤ min ≤ max", o.MinSpeed, o.MaxSpeed)
	}
	if o.Texture < 0 || o.Texture > 400 {
		return fmt.Errorf("synth: texture %d%% out of range [0, 400]", o.Texture)
	}
	room := min(o.Height, o.Width) - 1 - 2*o.MaxRadius
	if need := o.MinSpeed * (o.MaxVisible - 1); need > room {
		return fmt.Errorf("synth: a %d×%d frame is too small for a target of radius %d moving %d px/frame over %d frames", o.Height, o.Width, o.MaxRadius, o.MinSpeed, o.MaxVisible)
	}
	return nil
}

// Sample is one generated clip and its ground truth.
type Sample struct {
	Index   int    // position in the split
	Label   Class  // what the target does
	Clip    []byte // [F, H, W, 3] RGB, row-major
	Mask    []byte // [F, H, W], 1 where the target is drawn, else 0
	Visible []bool // [F], the frames where the target is drawn (one contiguous run)
}

// Window returns the first visible frame and the number of visible frames of
// s (0, 0 when none is).
func (s *Sample) Window() (first, n int) {
	first = -1
	for f, v := range s.Visible {
		if v {
			if first < 0 {
				first = f
			}
			n++
		}
	}
	if first < 0 {
		return 0, 0
	}
	return first, n
}

// Stream keys, one per component of a sample.
const (
	keyLabel = iota + 1
	keyBackground
	keyDistractors
	keyTarget
	keyNoise
)

// Label returns the label of sample i of the split with the given seed,
// without rendering it.
func Label(seed uint64, i int) Class {
	block := uint64(i / NumClasses)
	r := newRNG(derive(derive(seed, keyLabel), block))
	return Class(r.perm(NumClasses)[i%NumClasses])
}

// Generate returns sample i ≥ 0 of the split with the given seed.
func (o Options) Generate(seed uint64, i int) (Sample, error) {
	if err := o.Validate(); err != nil {
		return Sample{}, err
	}
	if i < 0 {
		return Sample{}, fmt.Errorf("synth: sample index %d < 0", i)
	}
	return o.render(seed, i, true), nil
}

// GenerateSplit returns samples 0…n−1 of the split with the given seed,
// rendered on up to GOMAXPROCS goroutines.
func (o Options) GenerateSplit(seed uint64, n int) ([]Sample, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("synth: %d samples", n)
	}
	out := make([]Sample, n)
	o.renderRange(seed, 0, out)
	return out, nil
}

// renderRange renders samples first, first+1, … into out, in parallel.
func (o Options) renderRange(seed uint64, first int, out []Sample) {
	workers := min(runtime.GOMAXPROCS(0), len(out))
	if workers <= 1 {
		for k := range out {
			out[k] = o.render(seed, first+k, true)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				out[k] = o.render(seed, first+k, true)
			}
		}()
	}
	for k := range out {
		next <- k
	}
	close(next)
	wg.Wait()
}

// errEmpty is returned when a split has no samples to write.
var errEmpty = errors.New("synth: no samples")
