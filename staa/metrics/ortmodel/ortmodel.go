// Package ortmodel adapts an ONNX Runtime session (*runtime.Session) to
// metrics.Model, so that the metrics and the baselines run on the same
// session as STAA. It lives apart from package metrics because the runtime
// package needs cgo (ONNX Runtime) and metrics does not.
//
//	s, _ := runtime.Open(path, runtime.Options{})
//	m := ortmodel.New(s)
//	x, _ := m.Clip(video)                        // preprocessed once
//	e, _ := metrics.NewEvaluator(m, x, metrics.Options{Tubelet: s.Geometry().Tubelet})
//	res, _ := s.Explain([]runtime.Video{video}, staa.DefaultOptions())
//	f, _ := e.Faithfulness(res.Clips[0].Attribution.Volume, metrics.FaithfulnessOptions{})
package ortmodel

import (
	"fmt"

	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa/metrics"
)

// Model is a *runtime.Session seen as a metrics.Model: clips are the
// session's preprocessed input ([F, 3, H, W] per clip, the model's frame
// size, normalised), and Predict returns the logits of the session's
// logits-only graph (Session.PredictPixels), so that the attention outputs
// are neither computed nor allocated for the perturbed clips.
type Model struct {
	s                     *runtime.Session
	frames, height, width int
	channelsFirst         bool // the session's input is BCFHW
}

// New adapts s.
func New(s *runtime.Session) *Model {
	info := s.Info()
	return &Model{s: s, frames: info.Geometry.Frames, height: info.FrameHeight, width: info.FrameWidth,
		channelsFirst: info.InputLayout == "BCFHW"}
}

// Session returns the adapted session.
func (m *Model) Session() *runtime.Session { return m.s }

// Clip preprocesses v (the model's F frames, any frame size) into the clip
// the metrics perturb.
func (m *Model) Clip(v runtime.Video) (metrics.Clip, error) {
	cs, err := m.Clips([]runtime.Video{v})
	if err != nil {
		return metrics.Clip{}, err
	}
	return cs[0], nil
}

// Clips preprocesses videos, one clip each, sharing one buffer.
func (m *Model) Clips(videos []runtime.Video) ([]metrics.Clip, error) {
	px, err := m.s.Preprocess(videos)
	if err != nil {
		return nil, err
	}
	n := m.clipLen()
	out := make([]metrics.Clip, len(videos))
	for b := range out {
		out[b] = metrics.Clip{Frames: m.frames, Channels: 3, Height: m.height, Width: m.width, Data: px[b*n : (b+1)*n]}
		if m.channelsFirst {
			out[b].Data = transpose(out[b].Data, 3, m.frames, m.height*m.width) // [3, F, HW] → [F, 3, HW]
		}
	}
	return out, nil
}

func (m *Model) clipLen() int { return m.frames * 3 * m.height * m.width }

// Predict runs the session's logits-only graph on clips as one batch. When
// the clips are consecutive views of one buffer — the batches of
// metrics.PredictBatched are — and the model's layout is BFCHW, the buffer
// is handed to ONNX Runtime without a copy.
func (m *Model) Predict(clips []metrics.Clip) ([][]float32, error) {
	if len(clips) == 0 {
		return nil, fmt.Errorf("ortmodel: no clips")
	}
	n := m.clipLen()
	for i, c := range clips {
		if c.Frames != m.frames || c.Channels != 3 || c.Height != m.height || c.Width != m.width || len(c.Data) != n {
			return nil, fmt.Errorf("ortmodel: clip %d is [%d, %d, %d, %d] with %d values; the model takes [%d, 3, %d, %d]",
				i, c.Frames, c.Channels, c.Height, c.Width, len(c.Data), m.frames, m.height, m.width)
		}
	}
	px := contiguous(clips, n)
	if px == nil || m.channelsFirst {
		buf := make([]float32, len(clips)*n)
		for i, c := range clips {
			dst := buf[i*n : (i+1)*n]
			if m.channelsFirst {
				transposeInto(dst, c.Data, m.frames, 3, m.height*m.width) // [F, 3, HW] → [3, F, HW]
			} else {
				copy(dst, c.Data)
			}
		}
		px = buf
	}
	logits, err := m.s.PredictPixels(px, len(clips))
	if err != nil {
		return nil, err
	}
	classes := len(logits) / len(clips)
	out := make([][]float32, len(clips))
	for i := range out {
		out[i] = logits[i*classes : (i+1)*classes : (i+1)*classes]
	}
	return out, nil
}

// contiguous returns the clips' data as one slice when clip i starts where
// clip i−1 ends in one backing array, else nil.
func contiguous(clips []metrics.Clip, n int) []float32 {
	d := clips[0].Data
	if cap(d) < len(clips)*n {
		return nil
	}
	all := d[:len(clips)*n]
	for i, c := range clips {
		if &all[i*n] != &c.Data[0] {
			return nil
		}
	}
	return all
}

// transpose returns src, [a, b, k] blocks, as [b, a, k].
func transpose(src []float32, a, b, k int) []float32 {
	dst := make([]float32, len(src))
	transposeInto(dst, src, a, b, k)
	return dst
}

func transposeInto(dst, src []float32, a, b, k int) {
	for i := range a {
		for j := range b {
			copy(dst[(j*a+i)*k:(j*a+i+1)*k], src[(i*b+j)*k:(i*b+j+1)*k])
		}
	}
}
