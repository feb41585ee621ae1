package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/staa-dev/staa/internal/progress"
	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/runtime"
	"github.com/staa-dev/staa/staa/synth"
)

// source is the video to explain.
type source struct {
	video runtime.Video
	fps   float64
	// path is the file, "" for a generated clip.
	path string
	// probe describes the file's stream (nil for a generated clip).
	probe *video.Info
	// truth is the generated clip's ground truth (nil for a file).
	truth *groundTruth
	// decode is the time spent decoding (or generating).
	decode time.Duration
}

// groundTruth is what the generator knows about a clip.
type groundTruth struct {
	Seed    uint64
	Index   int
	Options synth.Options
	Sample  synth.Sample
}

func (s *source) name() string {
	if s.path == "" {
		return fmt.Sprintf("generated clip (staa/synth seed %d, index %d)", s.truth.Seed, s.truth.Index)
	}
	return filepath.Base(s.path)
}

// syntheticFPS is the frame rate given to generated clips.
const syntheticFPS = 8

// loadFile decodes path with ffmpeg.
func loadFile(tools video.Tools, path string, maxSide, maxFrames int, bar *progress.Bar) (*source, error) {
	t0 := time.Now()
	opts := video.DecodeOptions{MaxSide: maxSide, MaxFrames: maxFrames}
	if bar != nil {
		opts.Progress = func(int) { bar.Add(1) }
	}
	fr, err := tools.Decode(path, opts)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	info := fr.Source
	return &source{
		video:  runtime.Video{Frames: fr.Count, Height: fr.Height, Width: fr.Width, Data: fr.Data},
		fps:    fr.FPS,
		path:   path,
		probe:  &info,
		decode: time.Since(t0),
	}, nil
}

// generate makes clip index of the synthetic benchmark split seed at the
// model's frame size (at least synth's 16 pixels a side), of frames frames;
// 0 means the longest of 4, 3, 2 or 1 times the model's window that the
// generator accepts (its target must cross the frame while visible, which
// bounds the length at a given size).
func generate(info runtime.ModelInfo, frames, window int, seed uint64, index int) (*source, error) {
	t0 := time.Now()
	h, w := max(info.FrameHeight, 16), max(info.FrameWidth, 16)
	o := synth.NewOptions(frames, h, w)
	if frames == 0 {
		for k := 4; k >= 1; k-- {
			if o = synth.NewOptions(k*window, h, w); o.Validate() == nil {
				break
			}
		}
	}
	s, err := o.Generate(seed, index)
	if err != nil {
		return nil, fmt.Errorf("cannot generate a clip of %d frames of %d×%d: %w", o.Frames, w, h, err)
	}
	return &source{
		video:  runtime.Video{Frames: o.Frames, Height: h, Width: w, Data: s.Clip},
		fps:    syntheticFPS,
		truth:  &groundTruth{Seed: seed, Index: index, Options: o, Sample: s},
		decode: time.Since(t0),
	}, nil
}

// checkFrameSize refuses frames smaller than one of the model's patches:
// the model would see each pixel stretched over several patches, and the
// maps would have more cells than the video has pixels.
func checkFrameSize(v runtime.Video, info runtime.ModelInfo, what string) error {
	g := info.Geometry
	ph, pw := max(1, info.FrameHeight/g.Height), max(1, info.FrameWidth/g.Width)
	if v.Width < pw || v.Height < ph {
		return fmt.Errorf("wrong frame size: %s has frames of %d×%d pixels, smaller than one patch of the model (%d×%d pixels of its %d×%d input, a %d×%d patch grid); staa needs frames of at least %d×%d",
			what, v.Width, v.Height, pw, ph, info.FrameWidth, info.FrameHeight, g.Width, g.Height, pw, ph)
	}
	return nil
}
