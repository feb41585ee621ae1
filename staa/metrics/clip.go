package metrics

import (
	"fmt"
	"math"
)

// Clip is one model input in the model's own pixel space (after resizing and
// normalisation): Frames×Channels×Height×Width float32 values, planar, frame
// after frame, Data[((f·Channels + c)·Height + y)·Width + x] — the per-clip
// layout of a BFCHW model input.
type Clip struct {
	Frames, Channels, Height, Width int
	Data                            []float32
}

// NewClip returns a zeroed clip of the given size.
func NewClip(frames, channels, height, width int) Clip {
	return Clip{Frames: frames, Channels: channels, Height: height, Width: width,
		Data: make([]float32, frames*channels*height*width)}
}

// Len returns F·C·H·W, the number of values of the clip.
func (c Clip) Len() int { return c.Frames * c.FrameLen() }

// FrameLen returns C·H·W, the number of values of one frame.
func (c Clip) FrameLen() int { return c.Channels * c.Height * c.Width }

// Frame returns frame f's C·H·W values, sharing Data.
func (c Clip) Frame(f int) []float32 {
	n := c.FrameLen()
	return c.Data[f*n : (f+1)*n : (f+1)*n]
}

// Clone returns a deep copy of c.
func (c Clip) Clone() Clip {
	c.Data = append([]float32(nil), c.Data...)
	return c
}

// SameShape reports whether c and d have the same sizes.
func (c Clip) SameShape(d Clip) bool {
	return c.Frames == d.Frames && c.Channels == d.Channels && c.Height == d.Height && c.Width == d.Width
}

// Validate reports whether c's sizes are positive, match its data, and its
// values are finite.
func (c Clip) Validate() error {
	if c.Frames <= 0 || c.Channels <= 0 || c.Height <= 0 || c.Width <= 0 {
		return fmt.Errorf("metrics: clip has empty shape [%d, %d, %d, %d]", c.Frames, c.Channels, c.Height, c.Width)
	}
	if c.Height > math.MaxInt32/c.Width || c.Frames*c.Channels > math.MaxInt32/(c.Height*c.Width) {
		return fmt.Errorf("metrics: clip of shape [%d, %d, %d, %d] is too large", c.Frames, c.Channels, c.Height, c.Width)
	}
	if len(c.Data) != c.Len() {
		return fmt.Errorf("metrics: clip of shape [%d, %d, %d, %d] holds %d values, want %d",
			c.Frames, c.Channels, c.Height, c.Width, len(c.Data), c.Len())
	}
	for k, v := range c.Data {
		if v-v != 0 {
			return fmt.Errorf("metrics: clip value %d (frame %d) is %v", k, k/c.FrameLen(), v)
		}
	}
	return nil
}

// Model is what the perturbation metrics and the baselines need of a
// classifier: Predict returns one row of class logits per clip, in the order
// of clips, every row of the same length. A model that only has
// probabilities can return their logarithms (softmax(log p) = p). The clips'
// Data are reused after Predict returns: a model must not keep them.
// The metrics and baselines call Predict on the calling goroutine, one batch
// at a time; a Model shared by Evaluators used from several goroutines must
// be safe for concurrent use (a runtime.Session is).
type Model interface {
	Predict(clips []Clip) ([][]float32, error)
}

// ModelFunc adapts a function to Model.
type ModelFunc func(clips []Clip) ([][]float32, error)

// Predict calls f.
func (f ModelFunc) Predict(clips []Clip) ([][]float32, error) { return f(clips) }

// Scores selects which model outputs a metric compares.
type Scores int

const (
	// DefaultScores is the metric's own default (each says which).
	DefaultScores Scores = iota
	// Logits compares the model's outputs as they are.
	Logits
	// Probabilities compares softmax(logits).
	Probabilities
)

func (s Scores) String() string {
	switch s {
	case DefaultScores:
		return "default"
	case Logits:
		return "logits"
	case Probabilities:
		return "probabilities"
	}
	return fmt.Sprintf("Scores(%d)", int(s))
}

// Resolve returns s, or def when s is DefaultScores.
func (s Scores) Resolve(def Scores) (Scores, error) {
	switch s {
	case DefaultScores:
		return def, nil
	case Logits, Probabilities:
		return s, nil
	}
	return 0, fmt.Errorf("metrics: unknown scores %d", int(s))
}

// Apply returns the scores of one row of logits, in float64.
func (s Scores) Apply(logits []float32) []float64 {
	if s == Probabilities {
		return Softmax(logits)
	}
	out := make([]float64, len(logits))
	for i, z := range logits {
		out[i] = float64(z)
	}
	return out
}

// Softmax returns softmax(z) in float64, shifted by max z for stability.
func Softmax(z []float32) []float64 {
	out := make([]float64, len(z))
	if len(z) == 0 {
		return out
	}
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	sum := 0.0
	for i, v := range z {
		out[i] = math.Exp(float64(v) - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// PredictedClass, passed as a target class, means the class the model
// predicts for the unperturbed clip (the argmax of its logits).
const PredictedClass = -1

// argmax returns the index of the first maximum of z.
func argmax(z []float32) int {
	best := 0
	for i, v := range z {
		if v > z[best] {
			best = i
		}
	}
	return best
}

// ResolveTarget returns target, or the argmax of logits for PredictedClass,
// and checks it against the number of classes.
func ResolveTarget(target int, logits []float32) (int, error) {
	if target == PredictedClass {
		return argmax(logits), nil
	}
	if target < 0 || target >= len(logits) {
		return 0, fmt.Errorf("metrics: target class %d out of range [0, %d)", target, len(logits))
	}
	return target, nil
}

func errorf(format string, args ...any) error { return fmt.Errorf("metrics: "+format, args...) }
