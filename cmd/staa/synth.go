package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/staa-dev/staa/internal/video"
	"github.com/staa-dev/staa/staa/synth"
)

// runSynth writes a split of the synthetic benchmark (the flags of
// staa/synth/cmd/synthgen), and with --mp4 one MP4 per clip.
func runSynth(args []string, e *env) error {
	fs := newFlagSet("synth", "--n N --seed S --out file.arrow [--mp4 DIR] [flags]", e)
	n := fs.Int("n", 100, "number of clips")
	seed := fs.Uint64("seed", 1, "seed of the split")
	frames := fs.Int("frames", 8, "frames per clip")
	size := fs.Int("size", 64, "frame height and width, in pixels")
	height := fs.Int("height", 0, "frame height (overrides --size)")
	width := fs.Int("width", 0, "frame width (overrides --size)")
	distractors := fs.String("distractors", "", "distractors per clip, `MIN,MAX` (default from the generator)")
	decoy := fs.Int("decoy", -1, "probability of a decoy, in thousandths (default from the generator)")
	noise := fs.Int("noise", -1, "pixel noise std, in grey levels (default from the generator)")
	visible := fs.String("visible", "", "frames the target is visible, `MIN,MAX` (default from the generator)")
	out := fs.String("out", "", "output Arrow IPC `file` (required, unless --mp4 is given)")
	mp4 := fs.String("mp4", "", "also write each clip as an MP4 into `DIR`, with DIR/index.json")
	fps := fs.Float64("fps", syntheticFPS, "frame rate of the MP4s")
	quiet := fs.Bool("q", false, "print nothing on success")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" && *mp4 == "" {
		fmt.Fprintln(e.stderr, "--out file.arrow (or --mp4 DIR) is required")
		fs.Usage()
		return errUsage
	}
	if *n <= 0 {
		return fmt.Errorf("--n %d: want at least 1 clip", *n)
	}
	if !(*fps > 0) {
		return fmt.Errorf("--fps %v: want a positive frame rate", *fps)
	}
	h, w := *size, *size
	if *height > 0 {
		h = *height
	}
	if *width > 0 {
		w = *width
	}
	o := synth.NewOptions(*frames, h, w)
	pair := func(flag, s string) (int, int, error) {
		lo, hi, ok := strings.Cut(s, ",")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("--%s %q: want MIN,MAX", flag, s)
		}
		return a, b, nil
	}
	var err error
	if *distractors != "" {
		if o.MinDistractors, o.MaxDistractors, err = pair("distractors", *distractors); err != nil {
			return err
		}
	}
	if *visible != "" {
		if o.MinVisible, o.MaxVisible, err = pair("visible", *visible); err != nil {
			return err
		}
	}
	if *decoy >= 0 {
		o.DecoyPermille = *decoy
	}
	if *noise >= 0 {
		o.Noise = *noise
	}
	if err := o.Validate(); err != nil {
		return err
	}
	var tools video.Tools
	if *mp4 != "" {
		if tools, err = video.Find(e.lookPath); err != nil {
			return err
		}
	}
	start := time.Now()
	if *out != "" {
		if err := writeSplit(*out, o, *seed, *n); err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprintf(e.stdout, "wrote %d clips of %d frames of %d×%d (seed %d) to %s in %.1fs\n", *n, o.Frames, o.Width, o.Height, *seed, *out, time.Since(start).Seconds())
		}
	}
	if *mp4 != "" {
		t0 := time.Now()
		if err := writeMP4s(tools, *mp4, o, *seed, *n, *fps); err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprintf(e.stdout, "wrote %d MP4s and index.json to %s in %.1fs\n", *n, *mp4, time.Since(t0).Seconds())
		}
	}
	return nil
}

func writeSplit(path string, o synth.Options, seed uint64, n int) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return writeFile(path, func(w *bufio.Writer) error { return o.WriteSplit(w, seed, n) })
}

// ClipIndex is one entry of the --mp4 directory's index.json.
type ClipIndex struct {
	File  string `json:"file"`
	Index int    `json:"index"`
	Label int    `json:"label"`
	Class string `json:"class"`
	// VisibleFrames are the frames where the target is drawn.
	VisibleFrames []int `json:"visible_frames"`
}

// mp4Quality is x264's CRF for the clips: high, so that a clip decoded
// from its MP4 is close to the generated one.
const mp4Quality = 12

// writeMP4s generates and encodes the clips of the split one at a time, so
// memory stays bounded.
func writeMP4s(tools video.Tools, dir string, o synth.Options, seed uint64, n int, fps float64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	digits := len(strconv.Itoa(n - 1))
	var index []ClipIndex
	for i := range n {
		{
			s, err := o.Generate(seed, i)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("clip-%0*d-%s.mp4", digits, i, s.Label)
			enc, err := tools.NewEncoder(filepath.Join(dir, name), o.Width, o.Height, fps, video.EncodeOptions{Quality: mp4Quality})
			if err != nil {
				return err
			}
			fb := o.Width * o.Height * 3
			for f := range o.Frames {
				if err := enc.WriteFrame(s.Clip[f*fb : (f+1)*fb]); err != nil {
					return err
				}
			}
			if err := enc.Close(); err != nil {
				return err
			}
			entry := ClipIndex{File: name, Index: i, Label: int(s.Label), Class: s.Label.String(), VisibleFrames: []int{}}
			for f, v := range s.Visible {
				if v {
					entry.VisibleFrames = append(entry.VisibleFrames, f)
				}
			}
			index = append(index, entry)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"seed": seed, "options": o, "classes": synth.ClassNames(), "clips": index}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644)
}
