// Package video reads and writes video files with the ffmpeg command-line
// tools (the Debian package ffmpeg): frames cross as raw rgb24 over pipes,
// so no C library is linked and any format ffmpeg knows is readable.
//
//	tools, err := video.Find(nil)                    // ffmpeg and ffprobe on $PATH
//	info, err := tools.Probe("clip.mp4")             // size, frame rate, frame count
//	v, err := tools.Decode("clip.mp4", video.DecodeOptions{MaxSide: 480})
//	enc, err := tools.NewEncoder("out.mp4", w, h, 25, video.EncodeOptions{})
//	enc.WriteFrame(rgb); enc.Close()
//
// Frames are RGB, 3 bytes a pixel, rows top to bottom: the layout of
// runtime.Video.
package video

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// DebianPackage is the package that provides ffmpeg and ffprobe.
const DebianPackage = "ffmpeg"

// ErrNoFFmpeg is wrapped by Find's error when ffmpeg or ffprobe is missing.
var ErrNoFFmpeg = errors.New("ffmpeg not found")

// Tools are the paths of the ffmpeg and ffprobe executables.
type Tools struct {
	FFmpeg, FFprobe string
}

// LookPath finds an executable by name, like exec.LookPath.
type LookPath func(name string) (string, error)

// Find locates ffmpeg and ffprobe with look (exec.LookPath when nil). The
// error names what is missing and the Debian package that provides it.
func Find(look LookPath) (Tools, error) {
	if look == nil {
		look = exec.LookPath
	}
	var t Tools
	var missing []string
	var err error
	if t.FFmpeg, err = look("ffmpeg"); err != nil {
		missing = append(missing, "ffmpeg")
	}
	if t.FFprobe, err = look("ffprobe"); err != nil {
		missing = append(missing, "ffprobe")
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		return Tools{}, fmt.Errorf("%w: %s %s not on $PATH; staa reads and writes video with the ffmpeg tools: install the Debian package %s (apt-get install %s)",
			ErrNoFFmpeg, strings.Join(missing, " and "), verb, DebianPackage, DebianPackage)
	}
	return t, nil
}

// Version returns the first line of `ffmpeg -version`.
func (t Tools) Version() (string, error) {
	out, err := exec.Command(t.FFmpeg, "-hide_banner", "-version").Output()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w", t.FFmpeg, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// stderrTail keeps the last bytes written to it: the end of a tool's
// diagnostics, for error messages.
type stderrTail struct {
	buf bytes.Buffer
	max int
}

func (s *stderrTail) Write(p []byte) (int, error) {
	s.buf.Write(p)
	if s.max <= 0 {
		s.max = 4096
	}
	if n := s.buf.Len(); n > 2*s.max {
		b := append([]byte(nil), s.buf.Bytes()[n-s.max:]...)
		s.buf.Reset()
		s.buf.Write(b)
	}
	return len(p), nil
}

// String returns the last few non-empty lines.
func (s *stderrTail) String() string {
	lines := strings.Split(strings.TrimSpace(s.buf.String()), "\n")
	var keep []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > 4 {
		keep = keep[len(keep)-4:]
	}
	return strings.Join(keep, "; ")
}
