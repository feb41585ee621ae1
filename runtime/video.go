package runtime

import (
	"fmt"
)

// Video is a sequence of RGB frames of one size: Data holds
// Frames·Height·Width·3 bytes, frame by frame, each row-major with the R, G,
// B bytes of a pixel together (the layout of ffmpeg's rgb24 and of numpy's
// (F, H, W, 3) uint8 arrays). A clip is a Video with the model's number of
// frames; frames of any size are resized to the model's.
type Video struct {
	Frames, Height, Width int
	Data                  []uint8
}

// NewVideo returns a black video of the given size.
func NewVideo(frames, height, width int) Video {
	return Video{Frames: frames, Height: height, Width: width, Data: make([]uint8, frames*height*width*3)}
}

// FrameBytes returns the size of one frame in bytes.
func (v Video) FrameBytes() int { return v.Height * v.Width * 3 }

// Frame returns frame f, sharing Data.
func (v Video) Frame(f int) []uint8 {
	n := v.FrameBytes()
	return v.Data[f*n : (f+1)*n : (f+1)*n]
}

// Validate reports whether v's sizes are positive and match its data.
func (v Video) Validate() error {
	if v.Frames <= 0 || v.Height <= 0 || v.Width <= 0 {
		return fmt.Errorf("video of %d frames of %d×%d pixels: every size must be positive", v.Frames, v.Height, v.Width)
	}
	if want := v.Frames * v.FrameBytes(); len(v.Data) != want {
		return fmt.Errorf("video of %d frames of %d×%d RGB pixels needs %d bytes (F·H·W·3), holds %d", v.Frames, v.Height, v.Width, want, len(v.Data))
	}
	return nil
}

// Select returns the frames idx of v, in that order, as a new Video: a view
// of v.Data when idx is a run of consecutive frames, else a copy.
func (v Video) Select(idx []int) (Video, error) {
	if err := v.Validate(); err != nil {
		return Video{}, err
	}
	if len(idx) == 0 {
		return Video{}, fmt.Errorf("no frames selected")
	}
	run := true
	for i, f := range idx {
		if f < 0 || f >= v.Frames {
			return Video{}, fmt.Errorf("frame index %d out of range [0, %d)", f, v.Frames)
		}
		if i > 0 && f != idx[i-1]+1 {
			run = false
		}
	}
	n := v.FrameBytes()
	out := Video{Frames: len(idx), Height: v.Height, Width: v.Width}
	if run {
		out.Data = v.Data[idx[0]*n : (idx[0]+len(idx))*n : (idx[0]+len(idx))*n]
		return out, nil
	}
	out.Data = make([]uint8, len(idx)*n)
	for i, f := range idx {
		copy(out.Data[i*n:(i+1)*n], v.Frame(f))
	}
	return out, nil
}

// UniformIndices returns the indices of frames frames spread uniformly over a
// video of total frames: the middle frame of each of frames equal segments,
// ⌊(i + ½)·total/frames⌋. A video shorter than frames repeats frames.
func UniformIndices(total, frames int) []int {
	if total <= 0 || frames <= 0 {
		return nil
	}
	idx := make([]int, frames)
	for i := range idx {
		// Integer arithmetic: exact for any sizes.
		idx[i] = ((2*i + 1) * total) / (2 * frames)
	}
	return idx
}

// SlidingWindows returns the frame indices of windows of frames consecutive
// frames over a video of total frames, starting every stride frames. When
// the last window would stop short of the end, one more window ends at the
// last frame, so every frame is covered. A video shorter than frames gives
// one window that repeats its last frame. stride ≤ 0 means frames (no
// overlap).
func SlidingWindows(total, frames, stride int) [][]int {
	if total <= 0 || frames <= 0 {
		return nil
	}
	if stride <= 0 {
		stride = frames
	}
	window := func(start int) []int {
		w := make([]int, frames)
		for i := range w {
			w[i] = min(start+i, total-1)
		}
		return w
	}
	if total <= frames {
		return [][]int{window(0)}
	}
	var out [][]int
	last := total - frames
	s := 0
	for ; s <= last; s += stride {
		out = append(out, window(s))
	}
	if s-stride != last {
		out = append(out, window(last))
	}
	return out
}

// Uniform returns frames frames of v spread uniformly over it (see
// UniformIndices).
func (v Video) Uniform(frames int) (Video, error) {
	if frames <= 0 {
		return Video{}, fmt.Errorf("frames must be positive, got %d", frames)
	}
	return v.Select(UniformIndices(v.Frames, frames))
}

// Windows returns the clips of SlidingWindows(v.Frames, frames, stride):
// views of v.Data (no copy) except for a video shorter than frames.
func (v Video) Windows(frames, stride int) ([]Video, error) {
	if frames <= 0 {
		return nil, fmt.Errorf("frames must be positive, got %d", frames)
	}
	ws := SlidingWindows(v.Frames, frames, stride)
	out := make([]Video, len(ws))
	for i, w := range ws {
		c, err := v.Select(w)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}
