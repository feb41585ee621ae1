package staa

import "fmt"

// Volume is an attribution volume V[f, i, j] ≥ 0, stored row-major as
// Data[(f·Height + i)·Width + j].
type Volume struct {
	Frames, Height, Width int
	Data                  []float32
}

// NewVolume returns a zeroed volume of the given size.
func NewVolume(frames, height, width int) Volume {
	return Volume{Frames: frames, Height: height, Width: width, Data: make([]float32, frames*height*width)}
}

// Frame returns frame f's h·w map, sharing Data.
func (v Volume) Frame(f int) []float32 {
	n := v.Height * v.Width
	return v.Data[f*n : (f+1)*n : (f+1)*n]
}

// Clone returns a deep copy of v.
func (v Volume) Clone() Volume {
	v.Data = append([]float32(nil), v.Data...)
	return v
}

// Validate reports whether v's sizes match its data.
func (v Volume) Validate() error {
	if v.Frames <= 0 || v.Height <= 0 || v.Width <= 0 {
		return fmt.Errorf("staa: volume has empty shape [%d, %d, %d]", v.Frames, v.Height, v.Width)
	}
	if len(v.Data) != v.Frames*v.Height*v.Width {
		return fmt.Errorf("staa: volume of shape [%d, %d, %d] holds %d values", v.Frames, v.Height, v.Width, len(v.Data))
	}
	return nil
}

// Attribution is the explanation of one clip.
type Attribution struct {
	// Volume is the attribution volume before post-processing, [F, h, w].
	Volume Volume
	// Spatial holds the post-processed spatial maps S[f], [F, h, w].
	Spatial Volume
	// Temporal is the profile P[f], one weight per frame, summing to 1.
	Temporal []float32
	// TemporalAttention reports whether temporal attention took part. For the
	// Divided layout without temporal attention, T̂_l = I and this is false.
	TemporalAttention bool
}
