package video

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
)

// Frames is a decoded video: Count frames of Width×Height RGB pixels, frame
// after frame in Data (Count·Height·Width·3 bytes).
type Frames struct {
	Width, Height, Count int
	FPS                  float64
	Data                 []byte
	// Source is the stream as probed (its size before any scaling).
	Source Info
}

// FrameBytes is the size of one frame.
func (f *Frames) FrameBytes() int { return f.Width * f.Height * 3 }

// Frame returns frame i, sharing Data.
func (f *Frames) Frame(i int) []byte {
	n := f.FrameBytes()
	return f.Data[i*n : (i+1)*n : (i+1)*n]
}

// DecodeOptions configure Decode.
type DecodeOptions struct {
	// MaxSide, when positive, scales frames down (ffmpeg's area filter,
	// aspect kept) so that neither side exceeds it: a 1080p video need not
	// be held in memory at full size to be explained by a model that takes
	// 224×224 frames.
	MaxSide int
	// MaxFrames, when positive, stops after that many frames.
	MaxFrames int
	// Progress, when set, is called with the number of frames decoded so far.
	Progress func(frames int)
}

// maxBytes bounds the decoded video in memory (8 GiB).
const maxBytes = 8 << 30

// OutputSize returns the frame size Decode produces for a stream of
// width×height pixels with at most maxSide pixels a side (0: no limit).
func OutputSize(width, height, maxSide int) (int, int) {
	if maxSide <= 0 || max(width, height) <= maxSide {
		return width, height
	}
	s := float64(maxSide) / float64(max(width, height))
	return max(1, int(math.Round(float64(width)*s))), max(1, int(math.Round(float64(height)*s)))
}

// Decode probes path and decodes its first video stream to RGB frames,
// piped from ffmpeg as raw rgb24. The frame size is ffprobe's (after
// rotation), scaled down to opts.MaxSide (ffmpeg's scale filter, only when
// the size changes: the filter costs a fifth of the decoding time even at
// the same size); a stream that ends inside a frame is an error.
func (t Tools) Decode(path string, opts DecodeOptions) (*Frames, error) {
	info, err := t.Probe(path)
	if err != nil {
		return nil, err
	}
	w, h := OutputSize(info.Width, info.Height, opts.MaxSide)
	args := []string{"-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-an", "-sn", "-dn", "-vsync", "passthrough"}
	if w != info.Width || h != info.Height {
		args = append(args, "-vf", fmt.Sprintf("scale=%d:%d:flags=area", w, h))
	}
	if opts.MaxFrames > 0 {
		args = append(args, "-frames:v", strconv.Itoa(opts.MaxFrames))
	}
	args = append(args, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	cmd := exec.Command(t.FFmpeg, args...)
	var stderr stderrTail
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", t.FFmpeg, err)
	}
	out := &Frames{Width: w, Height: h, FPS: info.FPS, Source: info}
	n := out.FrameBytes()
	hint := info.Frames
	if opts.MaxFrames > 0 && (hint == 0 || hint > opts.MaxFrames) {
		hint = opts.MaxFrames
	}
	out.Data = make([]byte, 0, min(hint, maxBytes/n)*n)
	readErr := func() error {
		for {
			if len(out.Data)+n > maxBytes {
				return fmt.Errorf("the decoded video exceeds %d GiB after %d frames of %d×%d: limit it with a smaller maximum size or frame count", maxBytes>>30, out.Count, w, h)
			}
			if cap(out.Data)-len(out.Data) < n {
				grown := make([]byte, len(out.Data), 2*cap(out.Data)+n)
				copy(grown, out.Data)
				out.Data = grown
			}
			frame := out.Data[len(out.Data) : len(out.Data)+n]
			k, err := io.ReadFull(stdout, frame)
			switch {
			case err == io.EOF:
				return nil
			case errors.Is(err, io.ErrUnexpectedEOF):
				return fmt.Errorf("wrong frame size: ffmpeg's stream ends %d bytes into frame %d, not on a whole frame of %d×%d RGB pixels (%d bytes): its frames are not the %d×%d that ffprobe reported",
					k, out.Count+1, w, h, n, w, h)
			case err != nil:
				return err
			}
			out.Data = out.Data[:len(out.Data)+n]
			out.Count++
			if opts.Progress != nil {
				opts.Progress(out.Count)
			}
		}
	}()
	if readErr != nil {
		cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case readErr != nil:
		return nil, fmt.Errorf("cannot decode video %s: %w", path, readErr)
	case waitErr != nil:
		msg := stderr.String()
		if msg == "" {
			msg = waitErr.Error()
		}
		return nil, fmt.Errorf("cannot decode video %s: ffmpeg: %s", path, msg)
	case out.Count == 0:
		return nil, fmt.Errorf("cannot decode video %s: its video stream holds no frames", path)
	}
	if out.FPS <= 0 {
		out.FPS = 25
	}
	return out, nil
}
