// Command synthgen writes a split of the synthetic benchmark of package synth
// as an Arrow IPC file:
//
//	synthgen -n 2000 -seed 1 -out train.arrow
//
// Flags: -n samples, -seed, -frames F, -size S (S×S frames, or -height and
// -width), -distractors MIN,MAX, -visible MIN,MAX (frames), -radius MIN,MAX and
// -speed MIN,MAX (pixels), -decoy permille, -texture percent, -noise, -out file
// (required).
// The same flags and seed always give the same file.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/staa-dev/staa/staa/synth"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "synthgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("synthgen", flag.ContinueOnError)
	n := fs.Int("n", 1000, "number of clips")
	seed := fs.Uint64("seed", 1, "seed of the split")
	frames := fs.Int("frames", 8, "frames per clip")
	size := fs.Int("size", 64, "frame height and width, in pixels")
	height := fs.Int("height", 0, "frame height (overrides -size)")
	width := fs.Int("width", 0, "frame width (overrides -size)")
	distractors := fs.String("distractors", "", "distractors per clip, MIN,MAX (default from the options)")
	decoy := fs.Int("decoy", -1, "probability of a decoy, in thousandths (default from the options)")
	noise := fs.Int("noise", -1, "pixel noise std, in grey levels (default from the options)")
	visible := fs.String("visible", "", "frames the target is visible, MIN,MAX (default from the options)")
	radius := fs.String("radius", "", "object radius in pixels, MIN,MAX (default from the options)")
	speed := fs.String("speed", "", "object speed in pixels per frame, MIN,MAX (default from the options)")
	texture := fs.Int("texture", -1, "background texture contrast, percent (default 100)")
	out := fs.String("out", "", "output Arrow IPC file (required)")
	quiet := fs.Bool("q", false, "print nothing on success")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	if *n <= 0 {
		return fmt.Errorf("-n %d: want at least 1 clip", *n)
	}
	h, w := *size, *size
	if *height > 0 {
		h = *height
	}
	if *width > 0 {
		w = *width
	}
	o := synth.NewOptions(*frames, h, w)
	for _, r := range []struct {
		flag, val string
		lo, hi    *int
	}{
		{"distractors", *distractors, &o.MinDistractors, &o.MaxDistractors},
		{"visible", *visible, &o.MinVisible, &o.MaxVisible},
		{"radius", *radius, &o.MinRadius, &o.MaxRadius},
		{"speed", *speed, &o.MinSpeed, &o.MaxSpeed},
	} {
		if r.val == "" {
			continue
		}
		lo, hi, ok := strings.Cut(r.val, ",")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("-%s %q: want MIN,MAX", r.flag, r.val)
		}
		*r.lo, *r.hi = a, b
	}
	if *texture >= 0 {
		o.Texture = *texture
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
	start := time.Now()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := o.WriteSplit(bw, *seed, *n); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(*out)
		return err
	}
	if !*quiet {
		fmt.Fprintf(os.Stderr, "synthgen: %d clips of %d×%d×%d (seed %d) → %s in %.1fs\n",
			*n, o.Frames, o.Height, o.Width, *seed, *out, time.Since(start).Seconds())
	}
	return nil
}
